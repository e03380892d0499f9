import type { EC2, RunInstancesCommandInput } from '@aws-sdk/client-ec2';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAwsSession, type AwsSession } from '../src/aws/clients.js';
import { errorCode } from '../src/aws/errors.js';
import { AWS_MINUTES, MINUTE } from '../src/aws/durations.js';
import { inventory } from '../src/sandbox/inventory.js';
import { sandboxFixtures, failure, ubuntuImage } from './sandbox-fixtures.js';
import { readWorld } from './helpers.js';

/**
 * The sandbox's EC2 compute through the real SDK clients: instances and their volumes, key
 * pairs, Elastic IPs on instances, images and snapshots, launch templates, ELB instance targets.
 */
const REGION = 'us-west-2';
const { stateDir, keep } = sandboxFixtures('gitlab-aws-compute-');
const PUBLIC_KEY = `ssh-ed25519 ${Buffer.alloc(51, 7).toString('base64')} operator@example`;

beforeEach(() => {
  process.env.GITLAB_AWS_SANDBOX_FAULTS = JSON.stringify({ consistencyLag: 0 });
});
afterEach(() => {
  delete process.env.GITLAB_AWS_SANDBOX_FAULTS;
});

async function session(): Promise<AwsSession> {
  const created = await createAwsSession({ region: REGION, sandbox: { stateDir: await stateDir() } });
  keep(created);
  return created;
}

async function network(ec2: EC2) {
  const vpcId = (await ec2.createVpc({ CidrBlock: '10.0.0.0/16' })).Vpc!.VpcId!;
  const subnetId = (await ec2.createSubnet({ VpcId: vpcId, CidrBlock: '10.0.1.0/24', AvailabilityZone: `${REGION}a` })).Subnet!.SubnetId!;
  const groupId = (await ec2.createSecurityGroup({ GroupName: 'g', Description: 'g', VpcId: vpcId })).GroupId!;
  return { vpcId, subnetId, groupId };
}

const launch = (subnetId: string, extra: Partial<RunInstancesCommandInput> = {}): RunInstancesCommandInput => ({
  ImageId: ubuntuImage(REGION),
  InstanceType: 't3.micro',
  MinCount: 1,
  MaxCount: 1,
  SubnetId: subnetId,
  ...extra,
});

const only = async (ec2: EC2, id: string) => (await ec2.describeInstances({ InstanceIds: [id] })).Reservations![0]!.Instances![0]!;

describe('sandbox EC2 compute', () => {
  it('imports a key pair once, describes it by name and filter, refuses a duplicate, and deletes it', async () => {
    const ec2 = await (await session()).ec2();
    const imported = await ec2.importKeyPair({
      KeyName: 'demo-key',
      PublicKeyMaterial: Buffer.from(PUBLIC_KEY),
      TagSpecifications: [{ ResourceType: 'key-pair', Tags: [{ Key: 'Name', Value: 'demo-key' }] }],
    });
    expect(imported.KeyPairId).toMatch(/^key-/);
    expect(errorCode(await failure(ec2.importKeyPair({ KeyName: 'demo-key', PublicKeyMaterial: Buffer.from(PUBLIC_KEY) })))).toBe(
      'InvalidKeyPair.Duplicate',
    );
    const byName = (await ec2.describeKeyPairs({ KeyNames: ['demo-key'] })).KeyPairs!;
    expect(byName.map((k) => [k.KeyName, k.KeyType, k.Tags])).toEqual([['demo-key', 'ed25519', [{ Key: 'Name', Value: 'demo-key' }]]]);
    const byTag = await ec2.describeKeyPairs({ Filters: [{ Name: 'tag:Name', Values: ['demo-key'] }] });
    expect(byTag.KeyPairs!.map((k) => k.KeyPairId)).toEqual([imported.KeyPairId]);
    expect(errorCode(await failure(ec2.describeKeyPairs({ KeyNames: ['other'] })))).toBe('InvalidKeyPair.NotFound');
    await ec2.deleteKeyPair({ KeyName: 'demo-key' });
    expect((await ec2.describeKeyPairs({})).KeyPairs).toEqual([]);
  });

  it('launches with what AWS checks first: the image, the key, io1 IOPS, base64 user data; nothing is made when one fails', async () => {
    const ec2 = await (await session()).ec2();
    const { subnetId } = await network(ec2);
    expect(errorCode(await failure(ec2.runInstances(launch(subnetId, { ImageId: 'ami-0000000000000000a' }))))).toBe(
      'InvalidAMIID.NotFound',
    );
    expect(errorCode(await failure(ec2.runInstances(launch(subnetId, { KeyName: 'nobody' }))))).toBe('InvalidKeyPair.NotFound');
    const io1 = (Iops?: number) =>
      launch(subnetId, { BlockDeviceMappings: [{ DeviceName: '/dev/sda1', Ebs: { VolumeSize: 20, VolumeType: 'io1', Iops } }] });
    expect(errorCode(await failure(ec2.runInstances(io1())))).toBe('InvalidParameterCombination');
    const ratio = await failure(ec2.runInstances(io1(2000)));
    expect(errorCode(ratio)).toBe('InvalidParameterValue');
    expect(ratio.message).toContain('Iops to volume size ratio of 100.000000 is too high; maximum is 50.000000');
    expect(errorCode(await failure(ec2.runInstances(launch(subnetId, { UserData: 'not base64!' }))))).toBe('InvalidParameterValue');
    expect((await ec2.describeInstances({})).Reservations).toEqual([]);
    expect((await ec2.runInstances(io1(1000))).Instances).toHaveLength(1);
  });

  it('describes an instance with its key, metadata options, an encrypted tagged root volume, and moves it pending -> running', async () => {
    const aws = await session();
    const ec2 = await aws.ec2();
    const { subnetId, groupId } = await network(ec2);
    await ec2.importKeyPair({ KeyName: 'demo-key', PublicKeyMaterial: Buffer.from(PUBLIC_KEY) });
    const id = (
      await ec2.runInstances(
        launch(subnetId, {
          KeyName: 'demo-key',
          SecurityGroupIds: [groupId],
          MetadataOptions: { HttpTokens: 'required' },
          BlockDeviceMappings: [{ DeviceName: '/dev/sda1', Ebs: { VolumeSize: 20, VolumeType: 'gp3', Encrypted: true } }],
          UserData: Buffer.from('#!/bin/bash\necho hi\n').toString('base64'),
          TagSpecifications: [
            { ResourceType: 'instance', Tags: [{ Key: 'Name', Value: 'demo-bastion' }] },
            { ResourceType: 'volume', Tags: [{ Key: 'Name', Value: 'demo-bastion-root' }] },
          ],
        }),
      )
    ).Instances![0]!.InstanceId!;
    const pending = await only(ec2, id);
    expect(pending.State!.Name).toBe('pending');
    expect(pending.KeyName).toBe('demo-key');
    expect(pending.MetadataOptions!.HttpTokens).toBe('required');
    expect(pending.PrivateIpAddress).toMatch(/^10\.0\.1\./);
    expect(pending.PublicIpAddress).toBeUndefined();
    const volumeId = pending.BlockDeviceMappings![0]!.Ebs!.VolumeId!;
    const volume = (await ec2.describeVolumes({ VolumeIds: [volumeId] })).Volumes![0]!;
    expect([volume.Size, volume.VolumeType, volume.Encrypted, volume.Tags]).toEqual([
      20,
      'gp3',
      true,
      [{ Key: 'Name', Value: 'demo-bastion-root' }],
    ]);
    await aws.clock.sleep(AWS_MINUTES.ec2Instance.create * MINUTE);
    const running = await ec2.describeInstances({
      Filters: [
        { Name: 'instance-state-name', Values: ['running'] },
        { Name: 'tag:Name', Values: ['demo-bastion'] },
      ],
    });
    expect(running.Reservations!.map((r) => r.Instances![0]!.InstanceId)).toEqual([id]);
  });

  it('associates an Elastic IP with a running instance only, refuses releasing it while associated, and frees it on terminate', async () => {
    const aws = await session();
    const ec2 = await aws.ec2();
    const { subnetId } = await network(ec2);
    const id = (await ec2.runInstances(launch(subnetId))).Instances![0]!.InstanceId!;
    const { AllocationId, PublicIp } = await ec2.allocateAddress({ Domain: 'vpc' });
    expect(errorCode(await failure(ec2.associateAddress({ AllocationId, InstanceId: id })))).toBe('IncorrectInstanceState');
    await aws.clock.sleep(AWS_MINUTES.ec2Instance.create * MINUTE);
    const { AssociationId } = await ec2.associateAddress({ AllocationId, InstanceId: id });
    expect((await only(ec2, id)).PublicIpAddress).toBe(PublicIp);
    const address = (await ec2.describeAddresses({ AllocationIds: [AllocationId!] })).Addresses![0]!;
    expect([address.AssociationId, address.InstanceId]).toEqual([AssociationId, id]);
    expect(errorCode(await failure(ec2.releaseAddress({ AllocationId })))).toBe('InvalidIPAddress.InUse');
    const other = (await ec2.runInstances(launch(subnetId))).Instances![0]!.InstanceId!;
    await aws.clock.sleep(AWS_MINUTES.ec2Instance.create * MINUTE);
    expect(errorCode(await failure(ec2.associateAddress({ AllocationId, InstanceId: other })))).toBe('Resource.AlreadyAssociated');
    await ec2.terminateInstances({ InstanceIds: [id] });
    expect((await ec2.describeAddresses({ AllocationIds: [AllocationId!] })).Addresses![0]!.InstanceId).toBeUndefined();
    await ec2.releaseAddress({ AllocationId });
  });

  it('keeps a terminated instance visible about an hour, then forgets it', async () => {
    const aws = await session();
    const ec2 = await aws.ec2();
    const { subnetId } = await network(ec2);
    const id = (await ec2.runInstances(launch(subnetId))).Instances![0]!.InstanceId!;
    await ec2.terminateInstances({ InstanceIds: [id] });
    expect((await only(ec2, id)).State!.Name).toBe('shutting-down');
    await aws.clock.sleep(30 * MINUTE);
    expect((await only(ec2, id)).State!.Name).toBe('terminated');
    await aws.clock.sleep(40 * MINUTE);
    expect(errorCode(await failure(ec2.describeInstances({ InstanceIds: [id] })))).toBe('InvalidInstanceID.NotFound');
  });

  it("finds the official GitLab AMIs by owner and name wildcard, and Canonical's Ubuntu through its public SSM parameter", async () => {
    const aws = await session();
    const ec2 = await aws.ec2();
    const found = await ec2.describeImages({
      Owners: ['782774275127'],
      Filters: [
        { Name: 'name', Values: ['GitLab EE 19.5.*'] },
        { Name: 'architecture', Values: ['x86_64'] },
        { Name: 'state', Values: ['available'] },
      ],
    });
    expect(found.Images!.map((i) => i.Name).sort()).toEqual(['GitLab EE 19.5.0', 'GitLab EE 19.5.1']);
    const arm = await ec2.describeImages({ Owners: ['782774275127'], Filters: [{ Name: 'name', Values: ['GitLab CE 18.11.* (ARM64)'] }] });
    expect(arm.Images!.every((i) => i.Architecture === 'arm64')).toBe(true);
    expect(arm.Images).toHaveLength(4);
    const parameter = (
      await (await aws.ssm()).getParameter({ Name: '/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id' })
    ).Parameter!;
    const ubuntu = (await ec2.describeImages({ ImageIds: [parameter.Value!] })).Images![0]!;
    expect([ubuntu.OwnerId, ubuntu.Name]).toEqual(['099720109477', expect.stringContaining('ubuntu-noble-24.04-amd64-server-')]);
    expect(errorCode(await failure(ec2.describeImages({ ImageIds: ['ami-0000000000000000a'] })))).toBe('InvalidAMIID.NotFound');
  });

  it('bakes an image from an instance: pending then available, tagged encrypted snapshots kept while the image is registered', async () => {
    const aws = await session();
    const ec2 = await aws.ec2();
    const { subnetId } = await network(ec2);
    const id = (
      await ec2.runInstances(
        launch(subnetId, { BlockDeviceMappings: [{ DeviceName: '/dev/sda1', Ebs: { VolumeSize: 30, Encrypted: true } }] }),
      )
    ).Instances![0]!.InstanceId!;
    expect(errorCode(await failure(ec2.createImage({ InstanceId: id, Name: 'too-early' })))).toBe('IncorrectInstanceState');
    await aws.clock.sleep(AWS_MINUTES.ec2Instance.create * MINUTE);
    const { ImageId } = await ec2.createImage({
      InstanceId: id,
      Name: 'demo-gitlab-source-ee-19.5.1-20261201T1000Z',
      NoReboot: true,
      TagSpecifications: [
        { ResourceType: 'image', Tags: [{ Key: 'Name', Value: 'demo-image' }] },
        { ResourceType: 'snapshot', Tags: [{ Key: 'Name', Value: 'demo-image-root' }] },
      ],
    });
    const image = async () =>
      (await ec2.describeImages({ Owners: ['self'], Filters: [{ Name: 'tag:Name', Values: ['demo-image'] }] })).Images![0]!;
    expect((await image()).State).toBe('pending');
    expect(errorCode(await failure(ec2.runInstances(launch(subnetId, { ImageId }))))).toBe('InvalidAMIID.Unavailable');
    await aws.clock.sleep(AWS_MINUTES.ami.create * MINUTE);
    expect((await image()).State).toBe('available');
    const snapshotId = (await image()).BlockDeviceMappings![0]!.Ebs!.SnapshotId!;
    const snapshot = (await ec2.describeSnapshots({ SnapshotIds: [snapshotId] })).Snapshots![0]!;
    expect([snapshot.Encrypted, snapshot.State, snapshot.Tags]).toEqual([true, 'completed', [{ Key: 'Name', Value: 'demo-image-root' }]]);
    expect(errorCode(await failure(ec2.deleteSnapshot({ SnapshotId: snapshotId })))).toBe('InvalidSnapshot.InUse');
    await ec2.deregisterImage({ ImageId });
    await ec2.deleteSnapshot({ SnapshotId: snapshotId });
    expect((await ec2.describeSnapshots({ OwnerIds: ['self'] })).Snapshots).toEqual([]);
  });

  it('keeps launch templates unique by name, versions them, moves the default, and deletes them', async () => {
    const aws = await session();
    const ec2 = await aws.ec2();
    const data = {
      ImageId: ubuntuImage(REGION),
      InstanceType: 'c5.2xlarge' as const,
      MetadataOptions: { HttpTokens: 'required' as const },
    };
    const created = await ec2.createLaunchTemplate({
      LaunchTemplateName: 'demo-launch-template',
      LaunchTemplateData: data,
      ClientToken: 'token-1',
      TagSpecifications: [{ ResourceType: 'launch-template', Tags: [{ Key: 'Name', Value: 'demo-launch-template' }] }],
    });
    const again = await ec2.createLaunchTemplate({
      LaunchTemplateName: 'demo-launch-template',
      LaunchTemplateData: data,
      ClientToken: 'token-1',
      TagSpecifications: [{ ResourceType: 'launch-template', Tags: [{ Key: 'Name', Value: 'demo-launch-template' }] }],
    });
    expect(again.LaunchTemplate!.LaunchTemplateId).toBe(created.LaunchTemplate!.LaunchTemplateId);
    expect(
      errorCode(await failure(ec2.createLaunchTemplate({ LaunchTemplateName: 'demo-launch-template', LaunchTemplateData: data }))),
    ).toBe('InvalidLaunchTemplateName.AlreadyExistsException');
    const id = created.LaunchTemplate!.LaunchTemplateId!;
    await ec2.createLaunchTemplateVersion({ LaunchTemplateId: id, SourceVersion: '1', LaunchTemplateData: { InstanceType: 'c5.4xlarge' } });
    await ec2.modifyLaunchTemplate({ LaunchTemplateId: id, DefaultVersion: '2' });
    const template = (await ec2.describeLaunchTemplates({ LaunchTemplateNames: ['demo-launch-template'] })).LaunchTemplates![0]!;
    expect([template.DefaultVersionNumber, template.LatestVersionNumber]).toEqual([2, 2]);
    const latest = (await ec2.describeLaunchTemplateVersions({ LaunchTemplateId: id, Versions: ['$Default'] })).LaunchTemplateVersions![0]!;
    expect(latest.LaunchTemplateData).toMatchObject({
      ImageId: data.ImageId,
      InstanceType: 'c5.4xlarge',
      MetadataOptions: { HttpTokens: 'required' },
    });
    await ec2.deleteLaunchTemplate({ LaunchTemplateId: id });
    expect(errorCode(await failure(ec2.describeLaunchTemplates({ LaunchTemplateIds: [id] })))).toBe('InvalidLaunchTemplateId.NotFound');
  });

  it('reports a target initial after registering, draining after deregistering, then gone; a terminated one unused', async () => {
    const aws = await session();
    const ec2 = await aws.ec2();
    const elb = await aws.elbv2();
    const { vpcId, subnetId } = await network(ec2);
    const lb = (await elb.createLoadBalancer({ Name: 'demo-nlb', Type: 'network', Subnets: [subnetId] })).LoadBalancers![0]!;
    const tg = (await elb.createTargetGroup({ Name: 'demo-ssh', Protocol: 'TCP', Port: 22, VpcId: vpcId, TargetType: 'instance' }))
      .TargetGroups![0]!;
    await elb.createListener({
      LoadBalancerArn: lb.LoadBalancerArn!,
      Protocol: 'TCP',
      Port: 22,
      DefaultActions: [{ Type: 'forward', TargetGroupArn: tg.TargetGroupArn! }],
    });
    const a = (await ec2.runInstances(launch(subnetId))).Instances![0]!.InstanceId!;
    const b = (await ec2.runInstances(launch(subnetId))).Instances![0]!.InstanceId!;
    const early = await failure(elb.registerTargets({ TargetGroupArn: tg.TargetGroupArn!, Targets: [{ Id: a }] }));
    expect(errorCode(early)).toBe('InvalidTarget');
    await aws.clock.sleep(AWS_MINUTES.ec2Instance.create * MINUTE);
    await elb.registerTargets({ TargetGroupArn: tg.TargetGroupArn!, Targets: [{ Id: a }, { Id: b }] });
    const states = async () =>
      Object.fromEntries(
        ((await elb.describeTargetHealth({ TargetGroupArn: tg.TargetGroupArn! })).TargetHealthDescriptions ?? []).map((d) => [
          d.Target!.Id,
          d.TargetHealth!.State,
        ]),
      );
    expect(await states()).toEqual({ [a]: 'initial', [b]: 'initial' });
    await elb.deregisterTargets({ TargetGroupArn: tg.TargetGroupArn!, Targets: [{ Id: a }] });
    await ec2.terminateInstances({ InstanceIds: [b] });
    expect(await states()).toEqual({ [a]: 'draining', [b]: 'unused' });
    await aws.clock.sleep(10 * MINUTE);
    expect(await states()).toEqual({});
  });

  it('shows the console output base64 as AWS does, once the instance has printed something', async () => {
    const aws = await session();
    const ec2 = await aws.ec2();
    const { subnetId } = await network(ec2);
    const id = (await ec2.runInstances(launch(subnetId))).Instances![0]!.InstanceId!;
    expect((await ec2.getConsoleOutput({ InstanceId: id })).Output).toBeUndefined();
    await aws.clock.sleep(AWS_MINUTES.ec2Instance.create * MINUTE);
    const output = (await ec2.getConsoleOutput({ InstanceId: id })).Output!;
    expect(Buffer.from(output, 'base64').toString('utf8')).toContain('Cloud-init');
  });

  it('counts instances, key pairs, images, snapshots and launch templates in the inventory, not the volumes that go with their instance', async () => {
    const dir = await stateDir();
    const aws = await createAwsSession({ region: REGION, sandbox: { stateDir: dir } });
    const ec2 = await aws.ec2();
    const { subnetId } = await network(ec2);
    await ec2.importKeyPair({ KeyName: 'demo-key', PublicKeyMaterial: Buffer.from(PUBLIC_KEY) });
    await ec2.runInstances(launch(subnetId));
    await ec2.createLaunchTemplate({ LaunchTemplateName: 'demo-lt', LaunchTemplateData: { InstanceType: 't3.micro' } });
    await aws.close();
    const world = (await readWorld(dir))!;
    const types = inventory(world, world.simNow).map((r) => r.type);
    expect(types).toEqual(expect.arrayContaining(['AWS::EC2::Instance', 'AWS::EC2::KeyPair', 'AWS::EC2::LaunchTemplate']));
    expect(types).not.toContain('AWS::EC2::Volume');
  });
});
