import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAwsSession, type AwsSession } from '../src/aws/clients.js';
import { readState, statePaths } from '../src/state/store.js';
import { inventory } from '../src/sandbox/inventory.js';
import { readWorld, runCli, sandboxInventory, tempDir, userDataText } from './helpers.js';
import { heldAndPlanned, planFor, type PlannedResource } from './plan-helpers.js';

/**
 * The guide's "Create custom AMI", "Create a launch template" and the end of the install, as an
 * operator checks them with the AWS CLI after `install --sandbox --yes`: the image and its
 * snapshots tagged and encrypted, the template's data (IMDSv2, encryption, no public IP, tags, the
 * clone's user-data and no secret in it), the group's nodes healthy, the base instance gone, the
 * summary printed; then an AMI deleted by hand rebuilt on resume, and the teardown.
 * One install serves the whole file, in order (the machine is shared).
 */

const REGION = 'us-west-2';
let dir: string;
let plan: PlannedResource[];
let install: Awaited<ReturnType<typeof runCli>>;

const cli = (args: string[]) => runCli([...args, '--sandbox', '--yes', '--state-dir', dir]);

async function withSession<T>(look: (aws: AwsSession) => Promise<T>): Promise<T> {
  const aws = await createAwsSession({ region: REGION, sandbox: { stateDir: dir } });
  try {
    return await look(aws);
  } finally {
    await aws.close();
  }
}

async function outputs(step: string): Promise<Record<string, unknown>> {
  const state = (await readState(statePaths(dir, 'gitlab').file))!;
  return state.steps[step]!.outputs as Record<string, unknown>;
}

const tag = (tags: Array<{ Key?: string; Value?: string }> | undefined, key: string) => tags?.find((t) => t.Key === key)?.Value;

/** Every secret the install generated, read back from SSM as an instance would. */
async function secretValues(aws: AwsSession): Promise<string[]> {
  const ssm = await aws.ssm();
  const values: string[] = [];
  let NextToken: string | undefined;
  do {
    const page = await ssm.getParametersByPath({
      Path: '/gitlab-aws/gitlab/',
      Recursive: true,
      WithDecryption: true,
      ...(NextToken ? { NextToken } : {}),
    });
    values.push(...(page.Parameters ?? []).map((p) => p.Value!));
    NextToken = page.NextToken;
  } while (NextToken);
  return values;
}

beforeAll(async () => {
  dir = await tempDir('gitlab-aws-image-');
  plan = await planFor(dir);
  install = await cli(['install']);
}, 300_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('a full sandbox install', () => {
  it('performs every step and ends with the summary', () => {
    expect(install.code, install.stderr).toBe(0);
    expect(install.stdout).toContain('GitLab: https://gitlab.example.com');
    expect(install.stdout).toContain(`Sign in as root; the password: gitlab-aws root-password --state-dir ${dir} --sandbox`);
    expect(install.stdout).toMatch(/^ {2}ssh -A ubuntu@\d+\.\d+\.\d+\.\d+ {4}# gitlab-bastion-host-a$/m);
    expect(install.stdout).toMatch(/^ {2}ssh -A -J ubuntu@\d+\.\d+\.\d+\.\d+ ubuntu@10\.0\.[13]\.\d+ {4}# i-/m);
    expect(install.stdout).toContain('Admin > Settings > Network > Performance optimization');
  });

  it('holds exactly what the plan said, the AMI by the name it got at the bake', async () => {
    const { held, planned } = await heldAndPlanned(dir, plan);
    expect(held).toEqual(planned);
    expect(held.filter((r) => r.startsWith('gitlab-ami '))).toEqual([
      expect.stringMatching(/^gitlab-ami AWS::EC2::Image gitlab-gitlab-source-ee-\d+\.\d+\.\d+-\d{8}T\d{4}Z$/),
      expect.stringMatching(/^gitlab-ami AWS::EC2::Snapshot gitlab-gitlab-source-ee-\d+\.\d+\.\d+-\d{8}T\d{4}Z$/),
    ]);
  });

  it('a resume of the finished install verifies every step and makes nothing new', async () => {
    const before = (await sandboxInventory(dir)).map((r) => `${r.type} ${r.id}`).sort();
    const resume = await cli(['resume', '--json']);
    expect(resume.code, resume.stderr).toBe(0);
    const finished = resume.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { type: string; step?: string; outcome?: string })
      .filter((e) => e.type === 'step-finished');
    for (const step of ['gitlab-ami', 'launch-template', 'auto-scaling-group', 'scaling-policies', 'retire-base-instance']) {
      expect(finished.find((e) => e.step === step)?.outcome, step).toBe('verified');
    }
    expect((await sandboxInventory(dir)).map((r) => `${r.type} ${r.id}`).sort()).toEqual(before);
  });

  it('bakes an encrypted AMI of the base instance, image and snapshots tagged, named with the release', async () => {
    const ami = await outputs('gitlab-ami');
    const base = await outputs('base-instance');
    const release = ((await outputs('machine-images')).gitlab as { version: string }).version;
    await withSession(async (aws) => {
      const ec2 = await aws.ec2();
      const image = (await ec2.describeImages({ ImageIds: [ami.imageId as string] })).Images![0]!;
      expect(image.State).toBe('available');
      expect(image.Name).toMatch(new RegExp(`^gitlab-gitlab-source-ee-${release.replace(/\./g, '\\.')}-\\d{8}T\\d{4}Z$`));
      expect(tag(image.Tags, 'gitlab-aws:deployment')).toBe('gitlab');
      expect(tag(image.Tags, 'gitlab-aws:step')).toBe('gitlab-ami');
      expect(tag(image.Tags, 'gitlab-aws:base-instance')).toBe(base.instanceId);
      const snapshotIds = image.BlockDeviceMappings!.map((m) => m.Ebs?.SnapshotId).filter(Boolean) as string[];
      expect(snapshotIds).toEqual(ami.snapshotIds);
      expect(snapshotIds.length).toBeGreaterThan(0);
      const snapshots = (await ec2.describeSnapshots({ SnapshotIds: snapshotIds })).Snapshots!;
      for (const s of snapshots) {
        expect(s.Encrypted).toBe(true);
        expect(tag(s.Tags, 'gitlab-aws:deployment')).toBe('gitlab');
        expect(tag(s.Tags, 'Name')).toBe(image.Name);
      }
    });
  });

  it('writes the launch template as the guide and the contract say: IMDSv2, encrypted, no public IP, tags, the clone script, no secret', async () => {
    const template = await outputs('launch-template');
    const ami = await outputs('gitlab-ami');
    await withSession(async (aws) => {
      const ec2 = await aws.ec2();
      const [version] = (
        await ec2.describeLaunchTemplateVersions({ LaunchTemplateId: template.launchTemplateId as string, Versions: ['$Default'] })
      ).LaunchTemplateVersions!;
      const data = version!.LaunchTemplateData!;
      const groups = (await outputs('security-groups')).groupIds as Record<string, string>;
      expect(data).toMatchObject({
        ImageId: ami.imageId,
        InstanceType: 'c5.2xlarge',
        KeyName: 'gitlab-key',
        IamInstanceProfile: { Arn: (await outputs('iam-role')).instanceProfileArn },
        MetadataOptions: { HttpTokens: 'required' },
        BlockDeviceMappings: [{ Ebs: { Encrypted: true } }],
        NetworkInterfaces: [{ DeviceIndex: 0, AssociatePublicIpAddress: false, Groups: [groups.loadbalancer] }],
      });
      const specs = Object.fromEntries((data.TagSpecifications ?? []).map((s) => [s.ResourceType, s.Tags]));
      for (const kind of ['instance', 'volume']) {
        expect(tag(specs[kind], 'Name'), kind).toBe('gitlab-gitlab');
        expect(tag(specs[kind], 'gitlab-aws:deployment'), kind).toBe('gitlab');
      }
      const script = userDataText(data.UserData!);
      expect(script).toContain('{"bootcmd":[["rm","-f","/var/lib/cloud/scripts/per-instance/gitlab"]]}');
      expect(script).toContain('#!/bin/bash\n# gitlab-aws node: rails-clone\n');
      expect(script).toContain("gitlab_rails['auto_migrate'] = false");
      expect(script).toContain("fetch_secret '/gitlab-aws/gitlab/gitaly-token' '/etc/gitlab/gitlab-aws-secrets/gitaly-token'");
      // No secret value anywhere in what the template holds, nor in the image's tags.
      const secrets = await secretValues(aws);
      expect(secrets.length).toBeGreaterThanOrEqual(11);
      const image = (await ec2.describeImages({ ImageIds: [ami.imageId as string] })).Images![0]!;
      const everything = [script, JSON.stringify(data), JSON.stringify(image.Tags)].join('\n');
      for (const secret of secrets) expect(everything.includes(secret), 'a secret value is in the template or the image').toBe(false);
    });
  });

  it("ends with the group's nodes InService and healthy behind the load balancer, launched from the baked image", async () => {
    const group = await outputs('auto-scaling-group');
    const httpTargets = ((await outputs('load-balancer')).targetGroupArns as { http: string }).http;
    await withSession(async (aws) => {
      const found = (await (await aws.autoscaling()).describeAutoScalingGroups({ AutoScalingGroupNames: ['gitlab-auto-scaling-group'] }))
        .AutoScalingGroups![0]!;
      const inService = found.Instances!.filter((i) => i.LifecycleState === 'InService').map((i) => i.InstanceId!);
      expect(inService).toHaveLength(2);
      expect(inService.sort()).toEqual((group.instances as Array<{ instanceId: string }>).map((i) => i.instanceId).sort());
      const health = (await (await aws.elbv2()).describeTargetHealth({ TargetGroupArn: httpTargets })).TargetHealthDescriptions!;
      for (const id of inService) expect(health.find((h) => h.Target?.Id === id)?.TargetHealth?.State, id).toBe('healthy');
      const nodes = (await (await aws.ec2()).describeInstances({ InstanceIds: inService })).Reservations!.flatMap((r) => r.Instances!);
      for (const node of nodes) {
        expect(node.ImageId).toBe((await outputs('gitlab-ami')).imageId);
        expect(node.PublicIpAddress).toBeUndefined();
        expect(node.MetadataOptions?.HttpTokens).toBe('required');
        expect(tag(node.Tags, 'Name')).toBe('gitlab-gitlab');
        expect(tag(node.Tags, 'gitlab-aws:deployment')).toBe('gitlab');
      }
    });
  });

  it('has retired the base instance: out of the target group and terminated', async () => {
    const base = (await outputs('base-instance')).instanceId as string;
    expect(await outputs('retire-base-instance')).toMatchObject({ instanceId: base, terminated: true });
    const httpTargets = ((await outputs('load-balancer')).targetGroupArns as { http: string }).http;
    await withSession(async (aws) => {
      const [instance] = (await (await aws.ec2()).describeInstances({ InstanceIds: [base] })).Reservations!.flatMap((r) => r.Instances!);
      expect(instance?.State?.Name).toBe('terminated');
      const health = (await (await aws.elbv2()).describeTargetHealth({ TargetGroupArn: httpTargets })).TargetHealthDescriptions!;
      // Deregistered: draining, or gone once drained (a target only left to die would say `unused`).
      expect([undefined, 'draining']).toContain(health.find((h) => h.Target?.Id === base)?.TargetHealth?.State);
    });
  });
});

describe('an AMI deleted by hand after the install', () => {
  it('is baked again on resume, into a new launch template version that the group launches from', async () => {
    const before = { ami: await outputs('gitlab-ami'), template: await outputs('launch-template') };
    await withSession(async (aws) => {
      const ec2 = await aws.ec2();
      await ec2.deregisterImage({ ImageId: before.ami.imageId as string });
      for (const id of before.ami.snapshotIds as string[]) await ec2.deleteSnapshot({ SnapshotId: id });
    });
    const resume = await cli(['resume']);
    expect(resume.code, resume.stderr).toBe(0);

    const after = { ami: await outputs('gitlab-ami'), template: await outputs('launch-template') };
    expect(after.ami.imageId).not.toBe(before.ami.imageId);
    expect(after.template.launchTemplateId).toBe(before.template.launchTemplateId);
    expect(Number(after.template.version)).toBeGreaterThan(Number(before.template.version));
    await withSession(async (aws) => {
      const ec2 = await aws.ec2();
      const image = (await ec2.describeImages({ ImageIds: [after.ami.imageId as string] })).Images![0]!;
      expect(image.State).toBe('available');
      const [version] = (
        await ec2.describeLaunchTemplateVersions({ LaunchTemplateId: after.template.launchTemplateId as string, Versions: ['$Default'] })
      ).LaunchTemplateVersions!;
      expect(String(version!.VersionNumber)).toBe(after.template.version);
      expect(version!.LaunchTemplateData!.ImageId).toBe(after.ami.imageId);
      const group = (await (await aws.autoscaling()).describeAutoScalingGroups({ AutoScalingGroupNames: ['gitlab-auto-scaling-group'] }))
        .AutoScalingGroups![0]!;
      expect(group.LaunchTemplate).toMatchObject({ LaunchTemplateId: after.template.launchTemplateId, Version: after.template.version });
    });
  });
});

describe('a Gitaly node replaced after the install', () => {
  it('gives a new base instance and a new bake; the superseded image and its snapshots are removed; the group takes the new version', async () => {
    const before = { ami: await outputs('gitlab-ami'), template: await outputs('launch-template'), gitaly: await outputs('gitaly') };
    await withSession(async (aws) => {
      await (await aws.ec2()).terminateInstances({ InstanceIds: [before.gitaly.instanceId as string] });
    });
    const resume = await cli(['resume']);
    expect(resume.code, resume.stderr).toBe(0);
    const after = { ami: await outputs('gitlab-ami'), template: await outputs('launch-template'), gitaly: await outputs('gitaly') };
    expect(after.gitaly.privateIp).not.toBe(before.gitaly.privateIp);
    expect(after.ami.imageId).not.toBe(before.ami.imageId);
    expect(Number(after.template.version)).toBeGreaterThan(Number(before.template.version));
    await withSession(async (aws) => {
      const ec2 = await aws.ec2();
      const ours = (await ec2.describeImages({ Owners: ['self'], Filters: [{ Name: 'tag:gitlab-aws:deployment', Values: ['gitlab'] }] }))
        .Images!;
      expect(ours.filter((i) => i.State !== 'deregistered').map((i) => i.ImageId)).toEqual([after.ami.imageId]);
      const snapshots = (
        await ec2.describeSnapshots({ OwnerIds: ['self'], Filters: [{ Name: 'tag:gitlab-aws:deployment', Values: ['gitlab'] }] })
      ).Snapshots!;
      expect(snapshots.map((s) => s.SnapshotId)).toEqual(after.ami.snapshotIds);
      const [version] = (
        await ec2.describeLaunchTemplateVersions({ LaunchTemplateId: after.template.launchTemplateId as string, Versions: ['$Default'] })
      ).LaunchTemplateVersions!;
      const script = userDataText(version!.LaunchTemplateData!.UserData!);
      expect(script).toContain(`wait_for_port '${after.gitaly.privateIp}' 8075`);
      const group = (await (await aws.autoscaling()).describeAutoScalingGroups({ AutoScalingGroupNames: ['gitlab-auto-scaling-group'] }))
        .AutoScalingGroups![0]!;
      expect(group.LaunchTemplate?.Version).toBe(after.template.version);
    });
    const { held, planned } = await heldAndPlanned(dir, plan);
    expect(held).toEqual(planned);
  });
});

describe('teardown', () => {
  it('leaves nothing of the deployment but the RDS final snapshot', async () => {
    const teardown = await cli(['teardown']);
    expect(teardown.code, teardown.stderr).toBe(0);
    expect(await sandboxInventory(dir)).toEqual([]);
    // The whole account, whoever's, less the public zone example.com it starts with.
    const world = (await readWorld(dir))!;
    const left = inventory(world, world.simNow).filter(
      (r) => !(r.type === 'AWS::Route53::HostedZone' && r.name?.replace(/\.$/, '') === 'example.com' && r.deployment === undefined),
    );
    expect(left.map((r) => `${r.type} ${r.name}`)).toEqual([
      expect.stringMatching(/^AWS::RDS::DBSnapshot gitlab-db-ha-final-\d{8}-\d{4}$/),
    ]);
  });
});
