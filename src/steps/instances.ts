import { createHash } from 'node:crypto';
import type { BlockDeviceMapping, EC2, Instance, KeyPairInfo } from '@aws-sdk/client-ec2';
import { AWS_MINUTES, MINUTE } from '../aws/durations.js';
import { errorCode, unlessNotFound } from '../aws/errors.js';
import { errorMessage } from '../errors.js';
import { paceFor } from '../aws/poll.js';
import { tagValue } from '../aws/tags.js';
import type { ResourceRef, StepContext } from '../engine/step.js';
import { ec2Seen, findOurs, whenTerminated, whenVisible, type Ec2Kind } from './ec2-common.js';
import type { MachineImage } from './machine-images.js';
import { ownership } from './ownership.js';
import { encodeUserData } from '../gitlab/cloud-init.js';

/** Terminated instances stay listed for about an hour with their tags; they are nobody's any more. */
export const INSTANCE: Ec2Kind<Instance> = {
  type: 'AWS::EC2::Instance',
  idFilter: 'instance-id',
  list: async (ec2, Filters) =>
    ((await ec2.describeInstances({ Filters })).Reservations ?? [])
      .flatMap((r) => r.Instances ?? [])
      .filter((i) => i.State?.Name !== 'terminated'),
  id: (i) => i.InstanceId!,
};

export const KEY_PAIR: Ec2Kind<KeyPairInfo> = {
  type: 'AWS::EC2::KeyPair',
  idFilter: 'key-pair-id',
  list: async (ec2, Filters) => (await ec2.describeKeyPairs({ Filters })).KeyPairs,
  id: (k) => k.KeyPairId!,
};

/** The digest of the user-data an instance was launched with, on the instance (never the text: it is long). */
export const TAG_USER_DATA = 'gitlab-aws:user-data';
const digest = (userData: string) => createHash('sha256').update(userData).digest('hex').slice(0, 16);

/** The states of an instance that is over: a token that made it must not be replayed. */
const ENDING = ['shutting-down', 'terminated'];

/**
 * EC2 cannot use an instance profile for a few seconds after IAM made it ("Invalid IAM Instance
 * Profile name", or "has no associated IAM Roles"); Terraform retries about two minutes.
 */
const PROFILE_PROPAGATION_MS = 2 * MINUTE;
const profileNotYetUsable = (err: unknown) =>
  errorCode(err) === 'InvalidParameterValue' && /IAM Instance Profile|iamInstanceProfile/i.test(errorMessage(err));

/** One instance of the guide, as every one is launched (docs/compute-contract.md, "Every instance"). */
export interface InstanceSpec {
  /** Its Name tag, the guide's name. */
  name: string;
  /** The name of its idempotency token within the step. */
  token: string;
  image: MachineImage;
  instanceType: string;
  subnetId: string;
  securityGroupIds: string[];
  keyName: string;
  /** The user-data script, as the renderers wrote it: passed to EC2 unchanged. */
  userData: string;
  /** Instances that read secrets at boot carry the instance profile. */
  instanceProfileArn?: string;
  /** A public subnet maps a public IP on launch; this instance must not take one (bastions get an Elastic IP). */
  inPublicSubnet?: boolean;
  /**
   * A disposable node (the base instance, until it is imaged): when the one found was launched
   * with other user-data (a need re-created since, a fact corrected in the state), it is replaced,
   * since its gitlab.rb names what is no longer so. Never for Gitaly, whose volume holds the data.
   */
  replaceWhenChanged?: boolean;
  /** The root volume, when not the image's own size and type (Gitaly's io1). */
  rootVolume?: { type: 'io1' | 'gp3'; sizeGib: number; iops?: number };
}

/** An encrypted root volume on the image's root device, in any case (an unencrypted image's copy too). */
function rootDevice(spec: InstanceSpec): BlockDeviceMapping[] {
  const volume = spec.rootVolume;
  return [
    {
      DeviceName: spec.image.rootDeviceName,
      Ebs: {
        Encrypted: true,
        DeleteOnTermination: true,
        VolumeType: volume?.type ?? 'gp3',
        ...(volume ? { VolumeSize: volume.sizeGib } : {}),
        ...(volume?.iops !== undefined ? { Iops: volume.iops } : {}),
      },
    },
  ];
}

/**
 * Where the instance goes. In a public subnet only an interface of its own can refuse the
 * subnet's public IP; elsewhere the plain form, as a launch template has it.
 */
function placement(spec: InstanceSpec) {
  return spec.inPublicSubnet
    ? { NetworkInterfaces: [{ DeviceIndex: 0, SubnetId: spec.subnetId, Groups: spec.securityGroupIds, AssociatePublicIpAddress: false }] }
    : { SubnetId: spec.subnetId, SecurityGroupIds: spec.securityGroupIds };
}

async function runInstance(ctx: StepContext, ec2: EC2, spec: InstanceSpec): Promise<Instance> {
  const tags = ctx.tags(spec.name);
  const instanceTags = [...tags, { Key: TAG_USER_DATA, Value: digest(spec.userData) }];
  const launched = await ctx.retry(
    `instance profile for ${spec.name} to be usable by EC2`,
    profileNotYetUsable,
    PROFILE_PROPAGATION_MS,
    () =>
      whenVisible(ctx, `the subnet, groups and key pair of ${spec.name}`, () =>
        ec2.runInstances({
          ImageId: spec.image.imageId,
          InstanceType: spec.instanceType as never,
          MinCount: 1,
          MaxCount: 1,
          KeyName: spec.keyName,
          // The token makes a retried or resumed launch return the same instance instead of a second one.
          ClientToken: ctx.token(spec.token),
          ...placement(spec),
          MetadataOptions: { HttpTokens: 'required', HttpEndpoint: 'enabled', HttpPutResponseHopLimit: 1 },
          BlockDeviceMappings: rootDevice(spec),
          ...(spec.instanceProfileArn ? { IamInstanceProfile: { Arn: spec.instanceProfileArn } } : {}),
          UserData: encodeUserData(spec.userData),
          TagSpecifications: [
            { ResourceType: 'instance', Tags: instanceTags },
            { ResourceType: 'volume', Tags: tags },
          ],
        }),
      ),
  );
  return launched.Instances![0]!;
}

/** The instance as EC2 describes it now (terminated ones too), undefined when EC2 no longer knows it. */
export async function describeInstance(ec2: EC2, instanceId: string): Promise<Instance | undefined> {
  const found = await unlessNotFound(() => ec2.describeInstances({ InstanceIds: [instanceId] }));
  return found?.Reservations?.[0]?.Instances?.[0];
}

/**
 * Finds this step's instance `spec.name` by its tags, or launches it; records it and waits until
 * it is running. An instance that is shutting down or terminated (by hand, or replayed by its
 * token) is over: the token is renewed so the launch makes a new one, never the old one again.
 */
export async function ensureInstance(ctx: StepContext, spec: InstanceSpec): Promise<Instance> {
  const ec2 = await ctx.aws.ec2();
  const found = await findOurs(ctx, INSTANCE, spec.name);
  let instance = found.find((i) => !ENDING.includes(i.State?.Name ?? ''));
  if (instance && spec.replaceWhenChanged && tagValue(instance.Tags, TAG_USER_DATA) !== digest(spec.userData)) {
    ctx.progress(
      `instance ${instance.InstanceId} (${spec.name}) was launched with other user-data than the answers give now; replacing it`,
    );
    await terminate(ctx, ec2, { type: INSTANCE.type, id: instance.InstanceId!, name: spec.name });
    instance = undefined;
  }
  if (!instance && found.length) {
    // Shutting down: over, and forgotten (a teardown still finds it by its tags until it is gone).
    for (const ending of found) await ctx.forget({ type: INSTANCE.type, id: ending.InstanceId!, name: spec.name });
    await ctx.renewToken(spec.token);
  }
  instance ??= await runInstance(ctx, ec2, spec);
  if (ENDING.includes(instance.State?.Name ?? '')) {
    ctx.progress(`instance ${instance.InstanceId} (${spec.name}) is ${instance.State?.Name}; launching a new one`);
    await ctx.forget({ type: INSTANCE.type, id: instance.InstanceId!, name: spec.name });
    await ctx.renewToken(spec.token);
    instance = await runInstance(ctx, ec2, spec);
  }
  const instanceId = instance.InstanceId!;
  await ctx.record({ type: INSTANCE.type, id: instanceId, name: spec.name });
  return running(ctx, ec2, instanceId, spec.name);
}

async function running(ctx: StepContext, ec2: EC2, instanceId: string, name: string): Promise<Instance> {
  return ctx.poll(`instance ${instanceId} (${name}) to be running`, paceFor(AWS_MINUTES.ec2Instance.create), async () => {
    const seen = await whenVisible(ctx, `instance ${instanceId}`, async () => {
      const current = await describeInstance(ec2, instanceId);
      if (!current) throw Object.assign(new Error(`instance ${instanceId} not found`), { name: 'InvalidInstanceID.NotFound' });
      return current;
    });
    const state = seen.State?.Name ?? 'unknown';
    if (ENDING.includes(state) || state === 'stopped' || state === 'stopping') {
      const reason = seen.StateReason?.Message ?? seen.StateTransitionReason ?? 'no reason given';
      throw new Error(
        `instance ${instanceId} (${name}) is ${state} (${reason}); terminate it if it is still there, then resume to launch a new one`,
      );
    }
    return state === 'running' ? { done: true, value: seen } : { done: false, seen: state };
  });
}

/** The recorded instance is there, ours and running (a `verify`). */
export async function instanceRunning(ctx: StepContext, instanceId: string): Promise<boolean> {
  const found = (await findOurs(ctx, INSTANCE)).find((i) => i.InstanceId === instanceId);
  return found?.State?.Name === 'running';
}

/** Terminates the instance, waits until it is gone, and forgets it. */
async function terminate(ctx: StepContext, ec2: EC2, ref: ResourceRef): Promise<void> {
  await unlessNotFound(() => ec2.terminateInstances({ InstanceIds: [ref.id] }));
  await whenTerminated(ctx, [ref.id]);
  await ctx.forget(ref);
}

/** Terminates this step's instances that are still ours (their tags re-read first), and waits until each is gone. */
export async function terminateInstances(ctx: StepContext, resources: ResourceRef[], owner: ReturnType<typeof ownership>): Promise<void> {
  const ec2 = await ctx.aws.ec2();
  await ctx.each(
    resources.filter((r) => r.type === INSTANCE.type),
    async (ref) => {
      if (await owner.ours(ref, () => ec2Seen(ctx, INSTANCE, ref.id))) await terminate(ctx, ec2, ref);
    },
  );
}

/** The last `lines` lines of the instance's console output (cloud-init and our boot script write there). */
export async function consoleTail(ec2: EC2, instanceId: string, lines = 15): Promise<string[]> {
  const output = (await unlessNotFound(() => ec2.getConsoleOutput({ InstanceId: instanceId, Latest: true })))?.Output;
  if (!output) return [];
  return Buffer.from(output, 'base64').toString('utf8').replace(/\s+$/, '').split(/\r?\n/).slice(-lines);
}

/** The guide's way onto a private node: agent forwarding through a bastion (ssh -A). */
export function sshThroughBastion(bastionIp: string, privateIp: string): string {
  return `ssh -A -J ubuntu@${bastionIp} ubuntu@${privateIp}`;
}
