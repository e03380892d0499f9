import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAwsSession, type AwsSession } from '../src/aws/clients.js';
import { readState, statePaths } from '../src/state/store.js';
import { runCli, tempDir } from './helpers.js';
import { copyOf, installUntil } from './install-until.js';

/**
 * The guide's "Create an auto scaling group" and its scale up and down policies in CloudWatch, as
 * an operator reads them back; and a group whose nodes never become healthy, which must stop the
 * install saying why for each node. One install serves the file (the machine is shared).
 */

const REGION = 'us-west-2';
let dir: string;
let install: Awaited<ReturnType<typeof runCli>>;
const scratch: string[] = [];

const cli = (at: string, args: string[], env: Record<string, string> = {}) =>
  runCli([...args, '--sandbox', '--yes', '--state-dir', at], env);

async function withSession<T>(at: string, look: (aws: AwsSession) => Promise<T>): Promise<T> {
  const aws = await createAwsSession({ region: REGION, sandbox: { stateDir: at } });
  try {
    return await look(aws);
  } finally {
    await aws.close();
  }
}

async function outputs(at: string, step: string): Promise<Record<string, unknown>> {
  const state = (await readState(statePaths(at, 'gitlab').file))!;
  return state.steps[step]!.outputs as Record<string, unknown>;
}

const tag = (tags: Array<{ Key?: string; Value?: string }> | undefined, key: string) => tags?.find((t) => t.Key === key)?.Value;

beforeAll(async () => {
  dir = await tempDir('gitlab-aws-scaling-');
  install = await cli(dir, ['install']);
}, 300_000);

afterAll(async () => {
  await Promise.all([dir, ...scratch].map((d) => rm(d, { recursive: true, force: true })));
});

describe('the Auto Scaling group', () => {
  it("spans both private subnets and both target groups with ELB health checks, the guide's sizes and the grace period", async () => {
    expect(install.code, install.stderr).toBe(0);
    const privateSubnets = (await outputs(dir, 'subnets')).privateSubnetIds as string[];
    const targets = (await outputs(dir, 'load-balancer')).targetGroupArns as { http: string; ssh: string };
    const template = await outputs(dir, 'launch-template');
    await withSession(dir, async (aws) => {
      const group = (await (await aws.autoscaling()).describeAutoScalingGroups({ AutoScalingGroupNames: ['gitlab-auto-scaling-group'] }))
        .AutoScalingGroups![0]!;
      expect(group).toMatchObject({
        MinSize: 2,
        DesiredCapacity: 2,
        MaxSize: 4,
        HealthCheckType: 'ELB',
        HealthCheckGracePeriod: 600,
        LaunchTemplate: { LaunchTemplateId: template.launchTemplateId, Version: template.version },
      });
      expect(group.VPCZoneIdentifier!.split(',').sort()).toEqual([...privateSubnets].sort());
      expect([...group.TargetGroupARNs!].sort()).toEqual([targets.http, targets.ssh].sort());
      // Ours, and what makes its nodes ours: the deployment's tags go on to every node; the group's Name does not.
      const tags = Object.fromEntries(group.Tags!.map((t) => [t.Key, t.PropagateAtLaunch]));
      expect(tags).toEqual({ Name: false, 'gitlab-aws:deployment': true, 'gitlab-aws:step': true });
      // The nodes are spread over both zones.
      expect(new Set(group.Instances!.map((i) => i.AvailabilityZone)).size).toBe(2);
    });
  });

  it('keeps its nodes past the grace period: healthy in both target groups, none replaced', async () => {
    const later = await copyOf(dir, `${dir}-later`);
    scratch.push(later);
    const targets = (await outputs(later, 'load-balancer')).targetGroupArns as { http: string; ssh: string };
    await withSession(later, async (aws) => {
      const [autoscaling, elbv2] = [await aws.autoscaling(), await aws.elbv2()];
      const nodes = async () =>
        (await autoscaling.describeAutoScalingGroups({ AutoScalingGroupNames: ['gitlab-auto-scaling-group'] }))
          .AutoScalingGroups![0]!.Instances!.map((i) => `${i.InstanceId} ${i.LifecycleState} ${i.HealthStatus}`)
          .sort();
      const before = await nodes();
      // Twenty minutes on: the ELB health checks have long started judging the nodes.
      await aws.clock.sleep(20 * 60_000);
      expect(await nodes()).toEqual(before);
      for (const arn of [targets.http, targets.ssh]) {
        const health = (await elbv2.describeTargetHealth({ TargetGroupArn: arn })).TargetHealthDescriptions!;
        // Both SSH and HTTP: the SSH target group checks port 22, which the group admits from the load balancer.
        expect(health.filter((h) => h.TargetHealth!.State !== 'draining').map((h) => h.TargetHealth!.State)).toEqual([
          'healthy',
          'healthy',
        ]);
      }
    });
  });
});

describe('the scaling policies and their alarms', () => {
  it('adds one node at >= 60 % average CPU and removes one at <= 45 %, each policy driven by a tagged CloudWatch alarm on the group', async () => {
    const made = await outputs(dir, 'scaling-policies');
    await withSession(dir, async (aws) => {
      const policies = (await (await aws.autoscaling()).describePolicies({ AutoScalingGroupName: 'gitlab-auto-scaling-group' }))
        .ScalingPolicies!;
      const byName = Object.fromEntries(policies.map((p) => [p.PolicyName, p]));
      expect(byName['gitlab-scale-up-policy']).toMatchObject({
        PolicyType: 'SimpleScaling',
        AdjustmentType: 'ChangeInCapacity',
        ScalingAdjustment: 1,
      });
      expect(byName['gitlab-scale-down-policy']).toMatchObject({
        PolicyType: 'SimpleScaling',
        AdjustmentType: 'ChangeInCapacity',
        ScalingAdjustment: -1,
      });
      expect(made.policies).toEqual({
        up: byName['gitlab-scale-up-policy']!.PolicyARN,
        down: byName['gitlab-scale-down-policy']!.PolicyARN,
      });

      const cloudwatch = await aws.cloudwatch();
      const alarms = (await cloudwatch.describeAlarms({ AlarmNames: ['gitlab-cpu-high', 'gitlab-cpu-low'] })).MetricAlarms!;
      const alarm = Object.fromEntries(alarms.map((a) => [a.AlarmName, a]));
      const common = {
        Namespace: 'AWS/EC2',
        MetricName: 'CPUUtilization',
        Statistic: 'Average',
        Dimensions: [{ Name: 'AutoScalingGroupName', Value: 'gitlab-auto-scaling-group' }],
      };
      expect(alarm['gitlab-cpu-high']).toMatchObject({
        ...common,
        Threshold: 60,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        AlarmActions: [byName['gitlab-scale-up-policy']!.PolicyARN],
      });
      expect(alarm['gitlab-cpu-low']).toMatchObject({
        ...common,
        Threshold: 45,
        ComparisonOperator: 'LessThanOrEqualToThreshold',
        AlarmActions: [byName['gitlab-scale-down-policy']!.PolicyARN],
      });
      for (const a of alarms) {
        const tags = (await cloudwatch.listTagsForResource({ ResourceARN: a.AlarmArn! })).Tags;
        expect(tag(tags, 'gitlab-aws:deployment'), a.AlarmName).toBe('gitlab');
      }
    });
  });

  it('are torn down first, alarms then policies, and the group with its nodes after them', async () => {
    const teardown = await cli(dir, ['teardown', '--json']);
    expect(teardown.code, teardown.stderr).toBe(0);
    const events = teardown.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { type: string; step?: string; action?: string; resource?: { type: string } });
    const forgotten = events.filter((e) => e.type === 'resource' && e.action === 'forgotten').map((e) => e.resource!.type);
    const first = (type: string) => forgotten.indexOf(type);
    expect(first('AWS::CloudWatch::Alarm')).toBeGreaterThanOrEqual(0);
    expect(first('AWS::CloudWatch::Alarm')).toBeLessThan(first('AWS::AutoScaling::ScalingPolicy'));
    expect(first('AWS::AutoScaling::ScalingPolicy')).toBeLessThan(first('AWS::AutoScaling::AutoScalingGroup'));
    expect(first('AWS::AutoScaling::AutoScalingGroup')).toBeLessThan(first('AWS::EC2::LaunchTemplate'));
    expect(first('AWS::EC2::LaunchTemplate')).toBeLessThan(first('AWS::EC2::Image'));
    await withSession(dir, async (aws) => {
      const groups = (await (await aws.autoscaling()).describeAutoScalingGroups({})).AutoScalingGroups ?? [];
      expect(groups).toEqual([]);
      expect((await (await aws.cloudwatch()).describeAlarms({})).MetricAlarms ?? []).toEqual([]);
      const live = ((await (await aws.ec2()).describeInstances({})).Reservations ?? [])
        .flatMap((r) => r.Instances ?? [])
        .filter((i) => i.State?.Name !== 'terminated');
      expect(live).toEqual([]);
    });
  });
});

describe('a group whose nodes never become healthy', () => {
  // Everything up to the bake, once; each test breaks a copy of it.
  let base: string;
  beforeAll(async () => {
    base = await tempDir('gitlab-aws-scaling-broken-');
    scratch.push(base);
    const stopped = await installUntil(base, ['gitlab-ami']);
    expect(stopped.failures).toEqual([]);
  }, 300_000);

  it("stops the install as soon as a node's boot fails, naming each node with its health reason, its console tail and the ssh -A line", async () => {
    // The database's rule for the GitLab nodes revoked by a mistaken hand (no step checks rules
    // on a resume, so nothing puts it back).
    const broken = await copyOf(base, `${base}-db`);
    scratch.push(broken);
    const groups = (await outputs(broken, 'security-groups')).groupIds as Record<string, string>;
    await withSession(broken, async (aws) => {
      await (
        await aws.ec2()
      ).revokeSecurityGroupIngress({
        GroupId: groups.rds,
        IpPermissions: [{ IpProtocol: 'tcp', FromPort: 5432, ToPort: 5432, UserIdGroupPairs: [{ GroupId: groups.loadbalancer }] }],
      });
    });
    const resume = await cli(broken, ['resume']);
    expect(resume.code).not.toBe(0);
    const said = resume.stdout + resume.stderr;
    // The boot stopped on an error: the install says so at once rather than waiting out the hour.
    expect(said).toMatch(
      /gave up waiting for 2 instances of gitlab-auto-scaling-group to be InService and healthy in the HTTP target group: the boot script of i-[0-9a-f]+ stopped on an error \('gitlab-aws: boot failed'\)/,
    );
    expect(said).not.toMatch(/timed out after/);
    expect(said).toMatch(/i-[0-9a-f]+ \w+, target unhealthy/);
    expect(said).toContain('its console ends:');
    expect(said).toMatch(/PG::ConnectionBad|5432/);
    expect(said).toMatch(/investigate: ssh -A -J ubuntu@\d+\.\d+\.\d+\.\d+ ubuntu@10\.0\.[13]\.\d+/);
  });
  it('waits out its patience for nodes that boot but never answer the load balancer, then names each with its verdict and console', async () => {
    // HTTP to the GitLab nodes closed: they boot fine, and the health checks time out.
    const broken = await copyOf(base, `${base}-http`);
    scratch.push(broken);
    const groups = (await outputs(broken, 'security-groups')).groupIds as Record<string, string>;
    await withSession(broken, async (aws) => {
      await (
        await aws.ec2()
      ).revokeSecurityGroupIngress({
        GroupId: groups.loadbalancer,
        IpPermissions: [{ IpProtocol: 'tcp', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }],
      });
    });
    const resume = await cli(broken, ['resume']);
    expect(resume.code).not.toBe(0);
    const said = resume.stdout + resume.stderr;
    expect(said).toMatch(/timed out after 1h00m waiting for 2 instances of gitlab-auto-scaling-group to be InService and healthy/);
    expect(said).toMatch(/i-[0-9a-f]+ \w+, target unhealthy \(Target\.\w+/);
    expect(said).toContain('its console ends:');
    expect(said).toContain('gitlab-aws: rails-clone node booting');
    expect(said).not.toContain("stopped on an error ('gitlab-aws: boot failed')");
    expect(said).toMatch(/investigate: ssh -A -J ubuntu@\d+\.\d+\.\d+\.\d+ ubuntu@10\.0\.[13]\.\d+/);
  });
});

describe('names of ours that someone else holds', () => {
  const theirs = [
    { Key: 'Name', Value: 'theirs' },
    { Key: 'gitlab-aws:deployment', Value: 'other' },
  ];

  async function seeded(calls: unknown[]) {
    const at = await tempDir('gitlab-aws-scaling-theirs-');
    scratch.push(at);
    const file = join(at, 'seed.json');
    await writeFile(file, JSON.stringify({ calls }));
    return { at, env: { GITLAB_AWS_SANDBOX_SEED: file } };
  }

  it('a launch template named gitlab-launch-template that is not ours stops the install and survives the teardown', async () => {
    const { at, env } = await seeded([
      {
        service: 'ec2',
        call: 'CreateLaunchTemplate',
        input: {
          LaunchTemplateName: 'gitlab-launch-template',
          LaunchTemplateData: { InstanceType: 't3.micro' },
          TagSpecifications: [{ ResourceType: 'launch-template', Tags: theirs }],
        },
      },
    ]);
    const installed = await cli(at, ['install'], env);
    expect(installed.code).toBe(2); // refused by preflight, before anything is made
    expect(installed.stdout + installed.stderr).toContain(
      "launch template gitlab-launch-template exists and does not belong to deployment 'gitlab'",
    );
    const gone = await cli(at, ['teardown', '--discover'], env);
    expect(gone.code, gone.stderr).toBe(0);
    await withSession(at, async (aws) => {
      const left = (await (await aws.ec2()).describeLaunchTemplates({ LaunchTemplateNames: ['gitlab-launch-template'] })).LaunchTemplates!;
      expect(left.map((t) => tag(t.Tags, 'gitlab-aws:deployment'))).toEqual(['other']);
    });
  });

  it('a CPU alarm of our name that is not ours is never overwritten: the install stops, the teardown leaves it', async () => {
    const { at, env } = await seeded([
      {
        service: 'cloudwatch',
        call: 'PutMetricAlarm',
        input: {
          AlarmName: 'gitlab-cpu-high',
          Namespace: 'AWS/EC2',
          MetricName: 'CPUUtilization',
          Statistic: 'Average',
          Period: 60,
          EvaluationPeriods: 1,
          Threshold: 90,
          ComparisonOperator: 'GreaterThanThreshold',
          Tags: theirs,
        },
      },
    ]);
    const installed = await cli(at, ['install'], env);
    expect(installed.code).toBe(2); // refused by preflight, before anything is made
    expect(installed.stdout + installed.stderr).toContain(
      "CloudWatch alarm gitlab-cpu-high exists and does not belong to deployment 'gitlab'",
    );
    const gone = await cli(at, ['teardown', '--discover'], env);
    expect(gone.code, gone.stderr).toBe(0);
    await withSession(at, async (aws) => {
      const [alarm] = (await (await aws.cloudwatch()).describeAlarms({ AlarmNames: ['gitlab-cpu-high'] })).MetricAlarms!;
      expect(alarm).toMatchObject({ Threshold: 90, ComparisonOperator: 'GreaterThanThreshold' });
    });
  });
});
