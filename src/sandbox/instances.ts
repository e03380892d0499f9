import { gunzipSync } from 'node:zlib';
import type { EC2, Instance, InstanceStateName } from '@aws-sdk/client-ec2';
import { AWS_MINUTES, MINUTE } from '../aws/durations.js';
import { awsError, tagList, type OperationContext, type SdkOperations } from './core.js';
import { all, byId, create, describe, madeBy, put, state, type Ec2Resource } from './ec2.js';
import { instanceProfileUsableAt } from './iam.js';
import { launchImage, type LaunchImage } from './images.js';
import { requireKeyPair } from './key-pairs.js';
import { consoleLines } from './boot.js';
import { placeEni, releaseEnis } from './network-interfaces.js';
import { refuseLaunch } from './instance-types.js';

/**
 * What one instance is launched from: RunInstances' own parameters, or a launch template's data
 * plus the subnet and tags the Auto Scaling group adds (the SDK's field names, so either passes
 * its input as it is).
 */
export interface LaunchSpec {
  ImageId?: string;
  InstanceType?: string;
  SubnetId?: string;
  SecurityGroupIds?: string[];
  IamInstanceProfile?: { Arn?: string; Name?: string };
  KeyName?: string;
  /** Base64, as the API takes it. */
  UserData?: string;
  MetadataOptions?: { HttpTokens?: string; HttpEndpoint?: string; HttpPutResponseHopLimit?: number };
  BlockDeviceMappings?: Array<{
    DeviceName?: string;
    Ebs?: { VolumeSize?: number; VolumeType?: string; Iops?: number; Encrypted?: boolean; DeleteOnTermination?: boolean };
  }>;
  TagSpecifications?: Array<{ ResourceType?: string; Tags?: Array<{ Key?: string; Value?: string }> }>;
  ClientToken?: string;
}

/** Tags of one resource type from TagSpecifications that may name several (instance and volume). */
export function tagsOfType(specs: LaunchSpec['TagSpecifications'], resourceType: string, allowed: string[]): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const spec of specs ?? []) {
    if (spec.ResourceType && !allowed.includes(spec.ResourceType)) {
      throw awsError('InvalidParameterValue', `'${spec.ResourceType}' is not a valid taggable resource type for this operation.`);
    }
    if (spec.ResourceType !== resourceType) continue;
    for (const tag of spec.Tags ?? []) if (tag.Key) tags[tag.Key] = tag.Value ?? '';
  }
  return tags;
}

/**
 * Launches one instance as RunInstances does, with every check AWS makes first (so nothing is
 * made when one fails). The Auto Scaling plug-in launches the group's instances through it.
 */
export function launchInstance(ctx: OperationContext, spec: LaunchSpec): Ec2Resource {
  const subnet = byId(ctx, 'subnet', spec.SubnetId);
  for (const groupId of spec.SecurityGroupIds ?? []) {
    const group = byId(ctx, 'security-group', groupId);
    if (group.attrs.vpcId !== subnet.attrs.vpcId) {
      throw awsError('InvalidGroup.NotFound', `The security group '${groupId}' does not exist in VPC '${subnet.attrs.vpcId}'`);
    }
  }
  const profile = spec.IamInstanceProfile;
  const profileName = profile ? (profile.Name ?? profile.Arn?.split('/').pop() ?? '') : undefined;
  if (profileName !== undefined) {
    const usableAt = instanceProfileUsableAt(ctx.world, profileName);
    if (usableAt === undefined || ctx.now < usableAt) {
      throw awsError(
        'InvalidParameterValue',
        `Value (${profileName}) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name`,
      );
    }
  }
  const image = launchImage(ctx, spec.ImageId);
  if (spec.KeyName !== undefined) requireKeyPair(ctx, spec.KeyName);
  const devices = blockDevices(image, spec.BlockDeviceMappings);
  const userData = decodeUserData(spec.UserData);
  const tags = tagsOfType(spec.TagSpecifications, 'instance', ['instance', 'volume']);
  const volumeTags = tagsOfType(spec.TagSpecifications, 'volume', ['instance', 'volume']);
  const { id } = ctx.idempotent('RunInstances', spec.ClientToken, spec, () => {
    const securityGroupIds = [...new Set(spec.SecurityGroupIds ?? [])];
    const instance = create(ctx, 'instance', 'i', tags, AWS_MINUTES.ec2Instance.create, {
      imageId: spec.ImageId,
      instanceType: spec.InstanceType,
      subnetId: subnet.id,
      vpcId: subnet.attrs.vpcId,
      availabilityZone: subnet.attrs.availabilityZone,
      instanceProfileArn: profileName !== undefined ? (ctx.world.iam.instanceProfiles[profileName]?.arn ?? profile?.Arn) : undefined,
      instanceProfileName: profileName,
      securityGroupIds,
      keyName: spec.KeyName,
      userData,
      gitlab: image.gitlab,
      baked: image.baked,
      metadataOptions: {
        httpTokens: spec.MetadataOptions?.HttpTokens ?? 'optional',
        httpEndpoint: spec.MetadataOptions?.HttpEndpoint ?? 'enabled',
        hopLimit: spec.MetadataOptions?.HttpPutResponseHopLimit ?? 1,
      },
    });
    // Its primary interface holds the subnet and the groups until the instance is terminated.
    const eni = placeEni(ctx, { subnet, ownerId: instance.id, interfaceType: 'interface', securityGroupIds, description: '' });
    instance.attrs.privateIp = eni.attrs.privateIp;
    instance.attrs.eniId = eni.id;
    instance.attrs.volumes = devices.map((device) => {
      const volume = put(ctx, 'volume', 'vol', { ...volumeTags }, 0, {
        ...device,
        instanceId: instance.id,
        availabilityZone: subnet.attrs.availabilityZone,
      });
      return { deviceName: device.deviceName, volumeId: volume.id };
    });
    return instance.id;
  });
  return madeBy(ctx, 'instance', id);
}

interface Device {
  deviceName: string;
  size: number;
  volumeType: string;
  iops?: number;
  encrypted: boolean;
  deleteOnTermination: boolean;
  snapshotId?: string;
}

/** The image's root volume with the launch's changes to it, and any further volumes, checked as EBS checks them. */
function blockDevices(image: LaunchImage, mappings: LaunchSpec['BlockDeviceMappings']): Device[] {
  const root: Device = {
    deviceName: image.rootDeviceName,
    size: image.rootSize,
    volumeType: 'gp3',
    encrypted: image.rootEncrypted,
    deleteOnTermination: true,
    snapshotId: image.rootSnapshotId,
  };
  const devices: Device[] = [root];
  for (const m of mappings ?? []) {
    if (!m.Ebs) continue;
    const isRoot = m.DeviceName === image.rootDeviceName;
    const base = isRoot ? root : undefined;
    const ebs = m.Ebs;
    const volumeType = ebs.VolumeType ?? base?.volumeType ?? 'gp2';
    const size = ebs.VolumeSize ?? base?.size;
    if (size === undefined) throw awsError('InvalidBlockDeviceMapping', `The request must contain the parameter size or snapshotId`);
    if (base && size < base.size) {
      throw awsError(
        'InvalidBlockDeviceMapping',
        `Volume of size ${size}GB is smaller than snapshot '${base.snapshotId}', expect size >= ${base.size}GB`,
      );
    }
    checkIops(volumeType, size, ebs.Iops);
    const device: Device = {
      deviceName: m.DeviceName ?? '',
      size,
      volumeType,
      iops: ebs.Iops ?? (volumeType === 'gp3' ? 3000 : undefined),
      // A volume from an encrypted snapshot is encrypted whatever the launch says.
      encrypted: Boolean(ebs.Encrypted) || Boolean(base?.encrypted),
      deleteOnTermination: ebs.DeleteOnTermination ?? true,
      ...(base ? { snapshotId: base.snapshotId } : {}),
    };
    if (isRoot) devices[0] = device;
    else devices.push(device);
  }
  return devices;
}

/** EBS's provisioned-IOPS rules: io1 needs IOPS (100-64000, at most 50 per GiB); gp2 and standard take none. */
function checkIops(volumeType: string, size: number, iops: number | undefined): void {
  if (volumeType === 'io1' || volumeType === 'io2') {
    if (iops === undefined)
      throw awsError('InvalidParameterCombination', `The parameter iops must be specified for ${volumeType} volumes.`);
    const maxRatio = volumeType === 'io1' ? 50 : 1000;
    if (iops < 100 || iops > 64000)
      throw awsError('InvalidParameterValue', `Value (${iops}) for parameter iops is invalid. Expected 100 to 64000.`);
    if (iops / size > maxRatio) {
      throw awsError(
        'InvalidParameterValue',
        `Iops to volume size ratio of ${(iops / size).toFixed(6)} is too high; maximum is ${maxRatio.toFixed(6)}`,
      );
    }
  } else if (iops !== undefined && (volumeType === 'gp2' || volumeType === 'standard')) {
    throw awsError('InvalidParameterCombination', `The parameter iops is not supported for ${volumeType} volumes.`);
  }
}

/**
 * User data arrives base64 and is kept as the text cloud-init reads: EC2 limits the raw bytes to
 * 16 KB; cloud-init decompresses gzip, recognised by its magic bytes.
 */
function decodeUserData(encoded: string | undefined): string | undefined {
  if (encoded === undefined) return undefined;
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(encoded) || encoded.length % 4 !== 0) {
    throw awsError('InvalidParameterValue', 'Invalid BASE64 encoding of user data.');
  }
  const raw = Buffer.from(encoded, 'base64');
  if (raw.length > 16384) throw awsError('InvalidParameterValue', 'User data is limited to 16384 bytes');
  return (raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw) : raw).toString('utf8');
}

/** The Elastic IP associated with an instance, if any. */
export function addressOf(ctx: OperationContext, instanceId: string): Ec2Resource | undefined {
  return all(ctx, 'elastic-ip').find((a) => a.attrs.instanceId === instanceId);
}

export function instanceView(r: Ec2Resource, ctx: OperationContext): Instance {
  const name = state(r, ctx.now) as InstanceStateName;
  const codes: Record<string, number> = { pending: 0, running: 16, 'shutting-down': 32, terminated: 48 };
  const live = name !== 'terminated';
  return {
    InstanceId: r.id,
    ImageId: r.attrs.imageId,
    InstanceType: r.attrs.instanceType,
    State: { Name: name, Code: codes[name] },
    KeyName: r.attrs.keyName,
    LaunchTime: new Date(r.createdAt),
    Placement: { AvailabilityZone: r.attrs.availabilityZone, Tenancy: 'default' },
    SubnetId: live ? r.attrs.subnetId : undefined,
    VpcId: live ? r.attrs.vpcId : undefined,
    PrivateIpAddress: live ? r.attrs.privateIp : undefined,
    NetworkInterfaces:
      live && r.attrs.eniId
        ? [{ NetworkInterfaceId: r.attrs.eniId, SubnetId: r.attrs.subnetId, VpcId: r.attrs.vpcId, PrivateIpAddress: r.attrs.privateIp }]
        : [],
    PublicIpAddress: live ? addressOf(ctx, r.id)?.attrs.publicIp : undefined,
    RootDeviceName: (r.attrs.volumes as Array<{ deviceName: string }> | undefined)?.[0]?.deviceName,
    RootDeviceType: 'ebs',
    BlockDeviceMappings: live
      ? ((r.attrs.volumes as Array<{ deviceName: string; volumeId: string }> | undefined) ?? []).map((v) => ({
          DeviceName: v.deviceName,
          Ebs: {
            VolumeId: v.volumeId,
            Status: 'attached',
            AttachTime: new Date(r.createdAt),
            DeleteOnTermination: Boolean(ctx.world.ec2[v.volumeId]?.attrs.deleteOnTermination),
          },
        }))
      : [],
    MetadataOptions: {
      State: 'applied',
      HttpTokens: r.attrs.metadataOptions?.httpTokens,
      HttpEndpoint: r.attrs.metadataOptions?.httpEndpoint,
      HttpPutResponseHopLimit: r.attrs.metadataOptions?.hopLimit,
    },
    IamInstanceProfile: r.attrs.instanceProfileArn ? { Arn: r.attrs.instanceProfileArn } : undefined,
    SecurityGroups: ((r.attrs.securityGroupIds as string[] | undefined) ?? []).map((GroupId) => ({
      GroupId,
      GroupName: ctx.world.ec2[GroupId]?.attrs.groupName as string | undefined,
    })),
    Tags: tagList(r.tags),
  };
}

/**
 * RunInstances' other form: the primary interface given whole (how a launch into a public subnet
 * refuses its public IP). AWS takes the subnet and groups from it, never from both places.
 */
function primaryInterface(input: Parameters<EC2['runInstances']>[0]): LaunchSpec {
  const eni = input.NetworkInterfaces?.find((n) => (n.DeviceIndex ?? 0) === 0);
  if (!eni) return input as LaunchSpec;
  if (input.SubnetId || input.SecurityGroupIds?.length) {
    throw awsError(
      'InvalidParameterCombination',
      'Network interfaces and an instance-level subnet ID or security groups may not be specified on the same request',
    );
  }
  return { ...(input as LaunchSpec), SubnetId: eni.SubnetId, SecurityGroupIds: eni.Groups ?? [] };
}

export const instances: SdkOperations<EC2> = {
  RunInstances(ctx, input) {
    const spec = primaryInterface(input);
    // Checked here, not in launchInstance: Auto Scaling's failed launch activities are not modelled.
    if (!spec.ClientToken || !ctx.world.tokens[spec.ClientToken]) {
      refuseLaunch(ctx, spec.InstanceType, byId(ctx, 'subnet', spec.SubnetId).attrs.availabilityZone);
    }
    return { Instances: [instanceView(launchInstance(ctx, spec), ctx)] };
  },

  DescribeInstances: (ctx, input) => ({
    Reservations: describe(ctx, 'instance', input.InstanceIds, input.Filters).map((r) => ({ Instances: [instanceView(r, ctx)] })),
  }),

  /** AWS gives the console's text base64, and only once the instance has printed something. */
  GetConsoleOutput(ctx, input) {
    const r = byId(ctx, 'instance', input.InstanceId);
    const lines = consoleLines(ctx, r);
    return {
      InstanceId: r.id,
      Timestamp: new Date(ctx.now),
      ...(lines.length ? { Output: Buffer.from(lines.join('\n') + '\n', 'utf8').toString('base64') } : {}),
    };
  },

  DescribeVolumes(ctx, input) {
    return {
      Volumes: describe(ctx, 'volume', input.VolumeIds, input.Filters).map((v) => ({
        VolumeId: v.id,
        Size: v.attrs.size,
        VolumeType: v.attrs.volumeType,
        Iops: v.attrs.iops,
        Encrypted: v.attrs.encrypted,
        SnapshotId: v.attrs.snapshotId,
        AvailabilityZone: v.attrs.availabilityZone,
        CreateTime: new Date(v.createdAt),
        State: v.goneAt !== undefined ? (ctx.now >= v.goneAt ? 'deleted' : 'deleting') : 'in-use',
        Attachments:
          v.goneAt === undefined
            ? [
                {
                  InstanceId: v.attrs.instanceId,
                  Device: v.attrs.deviceName,
                  State: 'attached',
                  DeleteOnTermination: v.attrs.deleteOnTermination,
                },
              ]
            : [],
        Tags: tagList(v.tags),
      })),
    };
  },

  TerminateInstances(ctx, input) {
    const found = (input.InstanceIds ?? []).map((id) => byId(ctx, 'instance', id));
    return {
      TerminatingInstances: found.map((r) => {
        const previous = state(r, ctx.now) as InstanceStateName;
        if (r.goneAt === undefined) terminate(ctx, r);
        return { InstanceId: r.id, PreviousState: { Name: previous }, CurrentState: { Name: state(r, ctx.now) as InstanceStateName } };
      }),
    };
  },
};

/** Terminating: the instance, its interface and its delete-on-termination volumes go after AWS's delete time. */
export function terminate(ctx: OperationContext, r: Ec2Resource): void {
  r.goneAt = ctx.now + AWS_MINUTES.ec2Instance.delete * MINUTE;
  releaseEnis(ctx, r.id, r.goneAt);
  // Its Elastic IP comes back to the account, unassociated.
  const address = addressOf(ctx, r.id);
  if (address) delete address.attrs.instanceId;
  for (const volume of all(ctx, 'volume')) {
    if (volume.attrs.instanceId === r.id && volume.attrs.deleteOnTermination && volume.goneAt === undefined) volume.goneAt = r.goneAt;
  }
}
