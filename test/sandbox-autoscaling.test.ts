import type { AutoScaling } from '@aws-sdk/client-auto-scaling';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAwsSession, type AwsSession } from '../src/aws/clients.js';
import { classify, errorCode } from '../src/aws/errors.js';
import { AWS_MINUTES, MINUTE } from '../src/aws/durations.js';
import { sandboxFixtures, failure } from './sandbox-fixtures.js';

/**
 * The sandbox's Auto Scaling and CloudWatch, through the real SDK clients: a group keeps its
 * desired capacity with instances launched from a launch template, replaces what fails its health
 * check once the grace period is over, is deleted with its instances only when forced, and the
 * scaling policies and alarms an install makes are created, described and deleted as on AWS.
 */
const REGION = 'us-west-2';
const { stateDir, keep } = sandboxFixtures('gitlab-aws-autoscaling-');

beforeEach(() => {
  process.env.GITLAB_AWS_SANDBOX_FAULTS = JSON.stringify({ consistencyLag: 0 });
});
afterEach(() => {
  delete process.env.GITLAB_AWS_SANDBOX_FAULTS;
});

async function session(): Promise<AwsSession> {
  return keep(await createAwsSession({ region: REGION, sandbox: { stateDir: await stateDir() } }));
}

const minutes = (n: number) => n * MINUTE;

/** A node the boot simulator brings up 6 minutes after it runs (a Gitaly node that reads no secret and installs nothing). */
const SLOW_BOOT = '#!/bin/bash\n# gitlab-aws node: gitaly\nset -euo pipefail\n';
const UBUNTU = '/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id';

/**
 * A VPC with two private subnets in two zones, a security group, an internal network load
 * balancer whose listener forwards to a target group health-checking `/-/readiness`, and a
 * launch template of Ubuntu with `userData`.
 */
async function network(aws: AwsSession, userData = '#!/bin/bash\necho hello\n') {
  const ec2 = await aws.ec2();
  const vpcId = (await ec2.createVpc({ CidrBlock: '10.0.0.0/16' })).Vpc!.VpcId!;
  const subnet = async (cidr: string, zone: string) =>
    (await ec2.createSubnet({ VpcId: vpcId, CidrBlock: cidr, AvailabilityZone: `${REGION}${zone}` })).Subnet!.SubnetId!;
  const subnets = [await subnet('10.0.1.0/24', 'a'), await subnet('10.0.2.0/24', 'b')];
  const groupId = (await ec2.createSecurityGroup({ GroupName: 'gitlab', Description: 'gitlab', VpcId: vpcId })).GroupId!;
  const elb = await aws.elbv2();
  const loadBalancerArn = (await elb.createLoadBalancer({ Name: 'gitlab-nlb', Type: 'network', Scheme: 'internal', Subnets: subnets }))
    .LoadBalancers![0]!.LoadBalancerArn!;
  const targetGroupArn = (
    await elb.createTargetGroup({
      Name: 'gitlab-http',
      Protocol: 'TCP',
      Port: 80,
      VpcId: vpcId,
      HealthCheckProtocol: 'HTTP',
      HealthCheckPath: '/-/readiness',
    })
  ).TargetGroups![0]!.TargetGroupArn!;
  await elb.createListener({
    LoadBalancerArn: loadBalancerArn,
    Port: 80,
    Protocol: 'TCP',
    DefaultActions: [{ Type: 'forward', TargetGroupArn: targetGroupArn }],
  });
  const imageId = (await (await aws.ssm()).getParameter({ Name: UBUNTU })).Parameter!.Value!;
  const template = (
    await ec2.createLaunchTemplate({
      LaunchTemplateName: 'gitlab-launch-template',
      LaunchTemplateData: {
        ImageId: imageId,
        InstanceType: 'c5.2xlarge',
        SecurityGroupIds: [groupId],
        MetadataOptions: { HttpTokens: 'required' },
        UserData: Buffer.from(userData).toString('base64'),
        TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: 'gitlab-node' }] }],
      },
    })
  ).LaunchTemplate!;
  return { ec2, elb, vpcId, subnets, groupId, targetGroupArn, templateId: template.LaunchTemplateId! };
}

type Net = Awaited<ReturnType<typeof network>>;

function createGroup(autoscaling: AutoScaling, net: Net, overrides: Record<string, unknown> = {}) {
  return autoscaling.createAutoScalingGroup({
    AutoScalingGroupName: 'gitlab-auto-scaling-group',
    LaunchTemplate: { LaunchTemplateId: net.templateId, Version: '$Latest' },
    VPCZoneIdentifier: net.subnets.join(','),
    MinSize: 2,
    MaxSize: 4,
    DesiredCapacity: 2,
    HealthCheckType: 'EC2',
    Tags: [
      { Key: 'gitlab-aws:deployment', Value: 'gitlab', PropagateAtLaunch: true },
      { Key: 'team', Value: 'infra', PropagateAtLaunch: false },
    ],
    ...overrides,
  });
}

async function group(autoscaling: AutoScaling, name = 'gitlab-auto-scaling-group') {
  return (await autoscaling.describeAutoScalingGroups({ AutoScalingGroupNames: [name] })).AutoScalingGroups?.[0];
}

describe('sandbox Auto Scaling groups', () => {
  it('comes up to the desired capacity InService, spread over both subnets, with the propagated tags on each instance', async () => {
    const aws = await session();
    const net = await network(aws);
    const autoscaling = await aws.autoscaling();
    await createGroup(autoscaling, net);

    const pending = (await group(autoscaling))!;
    expect(pending.Instances!.map((i) => i.LifecycleState)).toEqual(['Pending', 'Pending']);
    expect(pending.VPCZoneIdentifier).toBe(net.subnets.join(','));
    await aws.clock.sleep(minutes(AWS_MINUTES.ec2Instance.create));

    const up = (await group(autoscaling))!;
    expect(up.Instances!.map((i) => [i.LifecycleState, i.HealthStatus])).toEqual([
      ['InService', 'Healthy'],
      ['InService', 'Healthy'],
    ]);
    expect(new Set(up.Instances!.map((i) => i.AvailabilityZone))).toEqual(new Set([`${REGION}a`, `${REGION}b`]));
    const ids = up.Instances!.map((i) => i.InstanceId!);
    const described = (await net.ec2.describeInstances({ InstanceIds: ids })).Reservations!.flatMap((r) => r.Instances!);
    expect(new Set(described.map((i) => i.SubnetId))).toEqual(new Set(net.subnets));
    for (const instance of described) {
      const tags = Object.fromEntries(instance.Tags!.map((t) => [t.Key, t.Value]));
      expect(tags).toMatchObject({
        'gitlab-aws:deployment': 'gitlab',
        'aws:autoscaling:groupName': 'gitlab-auto-scaling-group',
        Name: 'gitlab-node',
      });
      expect(tags.team).toBeUndefined();
      expect(instance.InstanceType).toBe('c5.2xlarge');
      expect(instance.SecurityGroups!.map((g) => g.GroupId)).toEqual([net.groupId]);
    }
    const byTag = await autoscaling.describeAutoScalingGroups({ Filters: [{ Name: 'tag:gitlab-aws:deployment', Values: ['gitlab'] }] });
    expect(byTag.AutoScalingGroups!.map((g) => g.AutoScalingGroupName)).toEqual(['gitlab-auto-scaling-group']);
    const other = await autoscaling.describeAutoScalingGroups({ Filters: [{ Name: 'tag:gitlab-aws:deployment', Values: ['other'] }] });
    expect(other.AutoScalingGroups).toEqual([]);
  });

  it('refuses a second group of the same name, and a launch template that does not exist', async () => {
    const aws = await session();
    const net = await network(aws);
    const autoscaling = await aws.autoscaling();
    await createGroup(autoscaling, net);
    const again = await failure(createGroup(autoscaling, net));
    expect(classify(again)).toBe('already-exists');
    const missing = await failure(
      createGroup(autoscaling, net, { AutoScalingGroupName: 'other', LaunchTemplate: { LaunchTemplateId: 'lt-0123456789abcdef0' } }),
    );
    expect(errorCode(missing)).toBe('ValidationError');
    expect((await autoscaling.describeAutoScalingGroups({})).AutoScalingGroups!.map((g) => g.AutoScalingGroupName)).toEqual([
      'gitlab-auto-scaling-group',
    ]);
  });

  it('tags a group after the fact, and lists its tags by group, key and propagation', async () => {
    const aws = await session();
    const net = await network(aws);
    const autoscaling = await aws.autoscaling();
    await createGroup(autoscaling, net);
    await autoscaling.createOrUpdateTags({
      Tags: [
        {
          ResourceId: 'gitlab-auto-scaling-group',
          ResourceType: 'auto-scaling-group',
          Key: 'team',
          Value: 'platform',
          PropagateAtLaunch: true,
        },
        { ResourceId: 'gitlab-auto-scaling-group', ResourceType: 'auto-scaling-group', Key: 'Name', Value: 'gitlab-auto-scaling-group' },
      ],
    });
    const tags = (await autoscaling.describeTags({ Filters: [{ Name: 'auto-scaling-group', Values: ['gitlab-auto-scaling-group'] }] }))
      .Tags!;
    expect(tags.map((t) => [t.Key, t.Value, t.PropagateAtLaunch])).toEqual([
      ['gitlab-aws:deployment', 'gitlab', true],
      ['team', 'platform', true],
      ['Name', 'gitlab-auto-scaling-group', false],
    ]);
    const propagated = (await autoscaling.describeTags({ Filters: [{ Name: 'propagate-at-launch', Values: ['true'] }] })).Tags!;
    expect(propagated.map((t) => t.Key)).toEqual(['gitlab-aws:deployment', 'team']);
    const reserved = await failure(
      autoscaling.createOrUpdateTags({
        Tags: [{ ResourceId: 'gitlab-auto-scaling-group', ResourceType: 'auto-scaling-group', Key: 'aws:mine', Value: 'x' }],
      }),
    );
    expect(errorCode(reserved)).toBe('ValidationError');
  });

  it('replaces an instance terminated behind its back, and records both in its activities', async () => {
    const aws = await session();
    const net = await network(aws);
    const autoscaling = await aws.autoscaling();
    await createGroup(autoscaling, net, { HealthCheckGracePeriod: 60 });
    await aws.clock.sleep(minutes(2));
    const before = (await group(autoscaling))!.Instances!.map((i) => i.InstanceId!);
    await net.ec2.terminateInstances({ InstanceIds: [before[0]!] });
    await aws.clock.sleep(minutes(AWS_MINUTES.ec2Instance.delete + 1));

    const after = (await group(autoscaling))!.Instances!;
    expect(after).toHaveLength(2);
    expect(after.map((i) => i.InstanceId)).toContain(before[1]);
    expect(after.map((i) => i.InstanceId)).not.toContain(before[0]);
    const activities = (await autoscaling.describeScalingActivities({ AutoScalingGroupName: 'gitlab-auto-scaling-group' })).Activities!;
    expect(activities.map((a) => a.Description)).toContain(`Terminating EC2 instance: ${before[0]}`);
    expect(activities.filter((a) => a.Description!.startsWith('Launching a new EC2 instance: '))).toHaveLength(3);
  });

  it('follows a new desired capacity, up and down, within min and max', async () => {
    const aws = await session();
    const net = await network(aws);
    const autoscaling = await aws.autoscaling();
    await createGroup(autoscaling, net);
    await autoscaling.updateAutoScalingGroup({ AutoScalingGroupName: 'gitlab-auto-scaling-group', DesiredCapacity: 4 });
    expect((await group(autoscaling))!.Instances).toHaveLength(4);
    const tooMany = await failure(
      autoscaling.setDesiredCapacity({ AutoScalingGroupName: 'gitlab-auto-scaling-group', DesiredCapacity: 5 }),
    );
    expect(errorCode(tooMany)).toBe('ValidationError');
    await autoscaling.updateAutoScalingGroup({ AutoScalingGroupName: 'gitlab-auto-scaling-group', MinSize: 0, DesiredCapacity: 1 });
    const shrinking = (await group(autoscaling))!.Instances!;
    expect(shrinking.filter((i) => i.LifecycleState === 'Terminating')).toHaveLength(3);
    const busy = await failure(autoscaling.deleteAutoScalingGroup({ AutoScalingGroupName: 'gitlab-auto-scaling-group' }));
    expect(classify(busy)).toBe('dependency');
    await aws.clock.sleep(minutes(AWS_MINUTES.ec2Instance.delete));
    expect((await group(autoscaling))!.Instances).toHaveLength(1);

    // Emptied, and its instances gone, a group is deleted without ForceDelete.
    await autoscaling.updateAutoScalingGroup({ AutoScalingGroupName: 'gitlab-auto-scaling-group', DesiredCapacity: 0 });
    const draining = await failure(autoscaling.deleteAutoScalingGroup({ AutoScalingGroupName: 'gitlab-auto-scaling-group' }));
    expect(errorCode(draining)).toBe('ScalingActivityInProgressFault');
    await aws.clock.sleep(minutes(AWS_MINUTES.ec2Instance.delete));
    await autoscaling.deleteAutoScalingGroup({ AutoScalingGroupName: 'gitlab-auto-scaling-group' });
    expect((await group(autoscaling))!.Status).toBe('Delete in progress');
  });

  it('with ELB health checks, registers its instances in the target group and keeps them once they answer /-/readiness', async () => {
    const aws = await session();
    const net = await network(aws, SLOW_BOOT);
    const autoscaling = await aws.autoscaling();
    await createGroup(autoscaling, net, { HealthCheckType: 'ELB', HealthCheckGracePeriod: 600, TargetGroupARNs: [net.targetGroupArn] });
    const first = (await group(autoscaling))!.Instances!.map((i) => i.InstanceId!).sort();
    await aws.clock.sleep(minutes(AWS_MINUTES.ec2Instance.create));
    const booting = (await net.elb.describeTargetHealth({ TargetGroupArn: net.targetGroupArn })).TargetHealthDescriptions!;
    expect(booting.map((t) => t.Target!.Id).sort()).toEqual(first);
    expect(booting.map((t) => t.TargetHealth!.State)).not.toContain('healthy');

    await aws.clock.sleep(minutes(AWS_MINUTES.gitalyConfigure.create + 1));
    const up = (await group(autoscaling))!;
    expect(up.Instances!.map((i) => i.InstanceId).sort()).toEqual(first);
    expect(up.Instances!.map((i) => [i.LifecycleState, i.HealthStatus])).toEqual([
      ['InService', 'Healthy'],
      ['InService', 'Healthy'],
    ]);
    const health = (await net.elb.describeTargetHealth({ TargetGroupArn: net.targetGroupArn })).TargetHealthDescriptions!;
    expect(health.map((t) => t.TargetHealth!.State)).toEqual(['healthy', 'healthy']);
  });

  it('with a grace period shorter than the boot, replaces its instances in a loop and never gets healthy', async () => {
    const aws = await session();
    const net = await network(aws, SLOW_BOOT);
    const autoscaling = await aws.autoscaling();
    await createGroup(autoscaling, net, { HealthCheckType: 'ELB', HealthCheckGracePeriod: 120, TargetGroupARNs: [net.targetGroupArn] });
    const first = (await group(autoscaling))!.Instances!.map((i) => i.InstanceId!);

    await aws.clock.sleep(minutes(20));
    const later = (await group(autoscaling))!.Instances!;
    const live = later.filter((i) => i.LifecycleState !== 'Terminating').map((i) => i.InstanceId!);
    expect(live).toHaveLength(2);
    expect(live.filter((id) => first.includes(id))).toEqual([]);
    const health = (await net.elb.describeTargetHealth({ TargetGroupArn: net.targetGroupArn })).TargetHealthDescriptions!;
    expect(health.map((t) => t.TargetHealth!.State)).not.toContain('healthy');
    const activities = (await autoscaling.describeScalingActivities({ AutoScalingGroupName: 'gitlab-auto-scaling-group' })).Activities!;
    const replaced = activities.filter((a) => a.Cause!.includes('ELB system health check failure'));
    // Each round lasts the 30 s launch, the 2 min grace and a failed check: several rounds in 20 minutes.
    expect(replaced.length).toBeGreaterThanOrEqual(6);
  });

  it('does the same in two accounts driven the same way, however often it is read in between', async () => {
    const run = async (reads: number) => {
      const aws = await session();
      const net = await network(aws, SLOW_BOOT);
      const autoscaling = await aws.autoscaling();
      await createGroup(autoscaling, net, { HealthCheckType: 'ELB', HealthCheckGracePeriod: 120, TargetGroupARNs: [net.targetGroupArn] });
      for (let i = 0; i < reads; i++) {
        await aws.clock.sleep(minutes(12 / reads));
        await net.ec2.describeInstances({});
      }
      const activities = (await autoscaling.describeScalingActivities({ AutoScalingGroupName: 'gitlab-auto-scaling-group' })).Activities!;
      const created = (await group(autoscaling))!.CreatedTime!.getTime();
      // What happened in the first eleven minutes, by time since the group was made (each account starts its clock anew).
      return activities
        .map((a) => [a.Description, a.StartTime!.getTime() - created] as const)
        .filter(([, since]) => since < minutes(11))
        .reverse();
    };
    const seldom = await run(1);
    const often = await run(24);
    expect(seldom.length).toBeGreaterThan(6);
    expect(often).toEqual(seldom);
  });

  it('is deleted with its instances only when forced, and is "Delete in progress" meanwhile', async () => {
    const aws = await session();
    const net = await network(aws);
    const autoscaling = await aws.autoscaling();
    await createGroup(autoscaling, net);
    const ids = (await group(autoscaling))!.Instances!.map((i) => i.InstanceId!);

    const inUse = await failure(autoscaling.deleteAutoScalingGroup({ AutoScalingGroupName: 'gitlab-auto-scaling-group' }));
    expect(classify(inUse)).toBe('dependency');
    expect((await group(autoscaling))!.Status).toBeUndefined();

    await autoscaling.deleteAutoScalingGroup({ AutoScalingGroupName: 'gitlab-auto-scaling-group', ForceDelete: true });
    const deleting = (await group(autoscaling))!;
    expect(deleting.Status).toBe('Delete in progress');
    expect(deleting.Instances!.map((i) => i.LifecycleState)).toEqual(['Terminating', 'Terminating']);

    await aws.clock.sleep(minutes(AWS_MINUTES.autoScalingGroup.delete));
    expect(await group(autoscaling)).toBeUndefined();
    const states = (await net.ec2.describeInstances({ InstanceIds: ids })).Reservations!.flatMap((r) =>
      r.Instances!.map((i) => i.State!.Name),
    );
    expect(states).toEqual(['terminated', 'terminated']);
    // The name is free again once the deletion is over.
    await createGroup(autoscaling, net);
  });
});

describe('sandbox scaling policies and CloudWatch alarms', () => {
  async function withGroup() {
    const aws = await session();
    const net = await network(aws);
    const autoscaling = await aws.autoscaling();
    await createGroup(autoscaling, net);
    return { aws, net, autoscaling, cloudwatch: await aws.cloudwatch() };
  }

  const alarm = (
    name: string,
    policyArn: string,
    comparison: 'GreaterThanOrEqualToThreshold' | 'LessThanOrEqualToThreshold',
    threshold: number,
  ) => ({
    AlarmName: name,
    MetricName: 'CPUUtilization',
    Namespace: 'AWS/EC2',
    Statistic: 'Average' as const,
    Dimensions: [{ Name: 'AutoScalingGroupName', Value: 'gitlab-auto-scaling-group' }],
    Period: 300,
    EvaluationPeriods: 2,
    Threshold: threshold,
    ComparisonOperator: comparison,
    AlarmActions: [policyArn],
    Tags: [{ Key: 'gitlab-aws:deployment', Value: 'gitlab' }],
  });

  it('creates simple and step policies, updates one in place by name, lists the alarms calling each, deletes them', async () => {
    const { autoscaling, cloudwatch } = await withGroup();
    const up = await autoscaling.putScalingPolicy({
      AutoScalingGroupName: 'gitlab-auto-scaling-group',
      PolicyName: 'gitlab-scale-up-policy',
      PolicyType: 'SimpleScaling',
      AdjustmentType: 'ChangeInCapacity',
      ScalingAdjustment: 1,
      Cooldown: 300,
    });
    const down = await autoscaling.putScalingPolicy({
      AutoScalingGroupName: 'gitlab-auto-scaling-group',
      PolicyName: 'gitlab-scale-down-policy',
      PolicyType: 'StepScaling',
      AdjustmentType: 'ChangeInCapacity',
      StepAdjustments: [{ MetricIntervalUpperBound: 0, ScalingAdjustment: -1 }],
    });
    expect(up.PolicyARN).toMatch(
      /^arn:aws:autoscaling:us-west-2:\d{12}:scalingPolicy:[0-9a-f-]{36}:autoScalingGroupName\/gitlab-auto-scaling-group:policyName\/gitlab-scale-up-policy$/,
    );
    await cloudwatch.putMetricAlarm(alarm('gitlab-cpu-high', up.PolicyARN!, 'GreaterThanOrEqualToThreshold', 60));

    const again = await autoscaling.putScalingPolicy({
      AutoScalingGroupName: 'gitlab-auto-scaling-group',
      PolicyName: 'gitlab-scale-up-policy',
      AdjustmentType: 'ChangeInCapacity',
      ScalingAdjustment: 2,
    });
    expect(again.PolicyARN).toBe(up.PolicyARN);

    const policies = (await autoscaling.describePolicies({ AutoScalingGroupName: 'gitlab-auto-scaling-group' })).ScalingPolicies!;
    expect(policies.map((p) => [p.PolicyName, p.PolicyType, p.ScalingAdjustment ?? p.StepAdjustments![0]!.ScalingAdjustment])).toEqual([
      ['gitlab-scale-down-policy', 'StepScaling', -1],
      ['gitlab-scale-up-policy', 'SimpleScaling', 2],
    ]);
    expect(policies[1]!.Alarms!.map((a) => a.AlarmName)).toEqual(['gitlab-cpu-high']);

    const noAdjustment = await failure(
      autoscaling.putScalingPolicy({
        AutoScalingGroupName: 'gitlab-auto-scaling-group',
        PolicyName: 'broken',
        AdjustmentType: 'ChangeInCapacity',
      }),
    );
    expect(errorCode(noAdjustment)).toBe('ValidationError');

    await autoscaling.deletePolicy({ AutoScalingGroupName: 'gitlab-auto-scaling-group', PolicyName: 'gitlab-scale-down-policy' });
    await autoscaling.deletePolicy({ AutoScalingGroupName: 'gitlab-auto-scaling-group', PolicyName: up.PolicyARN! });
    expect((await autoscaling.describePolicies({ AutoScalingGroupName: 'gitlab-auto-scaling-group' })).ScalingPolicies).toEqual([]);
    expect(down.PolicyARN).not.toBe(up.PolicyARN);
  });

  it('refuses an alarm that names a missing scaling policy, and creates nothing', async () => {
    const { autoscaling, cloudwatch } = await withGroup();
    const up = await autoscaling.putScalingPolicy({
      AutoScalingGroupName: 'gitlab-auto-scaling-group',
      PolicyName: 'gitlab-scale-up-policy',
      AdjustmentType: 'ChangeInCapacity',
      ScalingAdjustment: 1,
    });
    const missingArn = up.PolicyARN!.replace(/scalingPolicy:[0-9a-f-]{36}/, 'scalingPolicy:00000000-0000-0000-0000-000000000000');
    const refused = await failure(cloudwatch.putMetricAlarm(alarm('gitlab-cpu-high', missingArn, 'GreaterThanOrEqualToThreshold', 60)));
    expect(errorCode(refused)).toBe('ValidationError');
    expect((await cloudwatch.describeAlarms({})).MetricAlarms).toEqual([]);
  });

  it('keeps alarms INSUFFICIENT_DATA until their first evaluation, then OK; describes by name and prefix; tags; deletes', async () => {
    const { aws, autoscaling, cloudwatch } = await withGroup();
    const policy = (name: string, ScalingAdjustment: number) =>
      autoscaling.putScalingPolicy({
        AutoScalingGroupName: 'gitlab-auto-scaling-group',
        PolicyName: name,
        AdjustmentType: 'ChangeInCapacity',
        ScalingAdjustment,
      });
    const up = (await policy('gitlab-scale-up-policy', 1)).PolicyARN!;
    const down = (await policy('gitlab-scale-down-policy', -1)).PolicyARN!;
    await cloudwatch.putMetricAlarm(alarm('gitlab-cpu-high', up, 'GreaterThanOrEqualToThreshold', 60));
    await cloudwatch.putMetricAlarm(alarm('gitlab-cpu-low', down, 'LessThanOrEqualToThreshold', 45));

    const fresh = (await cloudwatch.describeAlarms({ AlarmNamePrefix: 'gitlab-cpu-' })).MetricAlarms!;
    expect(fresh.map((a) => [a.AlarmName, a.StateValue, a.Threshold, a.AlarmActions])).toEqual([
      ['gitlab-cpu-high', 'INSUFFICIENT_DATA', 60, [up]],
      ['gitlab-cpu-low', 'INSUFFICIENT_DATA', 45, [down]],
    ]);
    await aws.clock.sleep(minutes(10));
    const settled = (await cloudwatch.describeAlarms({ AlarmNames: ['gitlab-cpu-low'] })).MetricAlarms!;
    expect(settled.map((a) => [a.AlarmName, a.StateValue, a.Dimensions])).toEqual([
      ['gitlab-cpu-low', 'OK', [{ Name: 'AutoScalingGroupName', Value: 'gitlab-auto-scaling-group' }]],
    ]);

    const arn = settled[0]!.AlarmArn!;
    await cloudwatch.tagResource({ ResourceARN: arn, Tags: [{ Key: 'gitlab-aws:step', Value: 'scaling-policies' }] });
    expect((await cloudwatch.listTagsForResource({ ResourceARN: arn })).Tags).toEqual([
      { Key: 'gitlab-aws:deployment', Value: 'gitlab' },
      { Key: 'gitlab-aws:step', Value: 'scaling-policies' },
    ]);
    const tagging = await aws.tagging();
    const listed = await tagging.getResources({ ResourceTypeFilters: ['cloudwatch:alarm'] });
    expect(listed.ResourceTagMappingList!.map((r) => r.ResourceARN).sort()).toEqual([fresh[0]!.AlarmArn, arn]);

    const notThere = await failure(cloudwatch.deleteAlarms({ AlarmNames: ['gitlab-cpu-high', 'no-such-alarm'] }));
    expect(classify(notThere)).toBe('not-found');
    expect((await cloudwatch.describeAlarms({})).MetricAlarms).toHaveLength(2);
    await cloudwatch.deleteAlarms({ AlarmNames: ['gitlab-cpu-high', 'gitlab-cpu-low'] });
    expect((await cloudwatch.describeAlarms({})).MetricAlarms).toEqual([]);
  });

  it('takes its policies with it when the group is deleted', async () => {
    const { aws, autoscaling } = await withGroup();
    await autoscaling.putScalingPolicy({
      AutoScalingGroupName: 'gitlab-auto-scaling-group',
      PolicyName: 'gitlab-scale-up-policy',
      AdjustmentType: 'ChangeInCapacity',
      ScalingAdjustment: 1,
    });
    await autoscaling.deleteAutoScalingGroup({ AutoScalingGroupName: 'gitlab-auto-scaling-group', ForceDelete: true });
    await aws.clock.sleep(minutes(AWS_MINUTES.autoScalingGroup.delete));
    expect((await autoscaling.describePolicies({})).ScalingPolicies).toEqual([]);
  });
});
