import type { EC2, Instance, InstanceStateName } from '@aws-sdk/client-ec2';
import { AWS_MINUTES, MINUTE } from '../aws/durations.js';
import { awsError, tagList, type OperationContext, type SdkOperations } from './core.js';
import { all, byId, create, describe, madeBy, put, state, type Ec2Resource } from './ec2.js';
import { instanceProfileUsableAt } from './iam.js';
import { placeEni, releaseEnis } from './network-interfaces.js';

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
    instance.attrs.volumes = (spec.BlockDeviceMappings ?? [])
      .filter((m) => m.Ebs)
      .map((m) => {
        const volume = put(ctx, 'volume', 'vol', { ...volumeTags }, 0, {
          instanceId: instance.id,
          deviceName: m.DeviceName,
          size: m.Ebs!.VolumeSize,
          volumeType: m.Ebs!.VolumeType ?? 'gp2',
          iops: m.Ebs!.Iops,
          encrypted: Boolean(m.Ebs!.Encrypted),
          deleteOnTermination: m.Ebs!.DeleteOnTermination ?? true,
          availabilityZone: subnet.attrs.availabilityZone,
        });
        return { deviceName: m.DeviceName, volumeId: volume.id };
      });
    return instance.id;
  });
  return madeBy(ctx, 'instance', id);
}

/** User data arrives base64 and is kept as the text the instance will run. */
function decodeUserData(encoded: string | undefined): string | undefined {
  if (encoded === undefined) return undefined;
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(encoded) || encoded.length % 4 !== 0) {
    throw awsError('InvalidParameterValue', 'Invalid BASE64 encoding of user data.');
  }
  const text = Buffer.from(encoded, 'base64');
  if (text.length > 16384) throw awsError('InvalidParameterValue', 'User data is limited to 16384 bytes');
  return text.toString('utf8');
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
    IamInstanceProfile: r.attrs.instanceProfileArn ? { Arn: r.attrs.instanceProfileArn } : undefined,
    SecurityGroups: ((r.attrs.securityGroupIds as string[] | undefined) ?? []).map((GroupId) => ({
      GroupId,
      GroupName: ctx.world.ec2[GroupId]?.attrs.groupName as string | undefined,
    })),
    Tags: tagList(r.tags),
  };
}

export const instances: SdkOperations<EC2> = {
  RunInstances(ctx, input) {
    return { Instances: [instanceView(launchInstance(ctx, input as LaunchSpec), ctx)] };
  },

  DescribeInstances: (ctx, input) => ({
    Reservations: describe(ctx, 'instance', input.InstanceIds, input.Filters).map((r) => ({ Instances: [instanceView(r, ctx)] })),
  }),

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
  for (const volume of all(ctx, 'volume')) {
    if (volume.attrs.instanceId === r.id && volume.attrs.deleteOnTermination && volume.goneAt === undefined) volume.goneAt = r.goneAt;
  }
}
