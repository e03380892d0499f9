import ipaddr from 'ipaddr.js';
import { AWS_MINUTES, MINUTE } from '../aws/durations.js';
import { awsError, tagList, tagsFromSpecifications, type OperationContext, type SdkOperations, type Latency } from './core.js';
import type { EC2, Subnet, Vpc } from '@aws-sdk/client-ec2';
import { refuseWhileInUse } from './network-interfaces.js';

export type Ec2Kind =
  | 'vpc'
  | 'subnet'
  | 'instance'
  | 'internet-gateway'
  | 'elastic-ip'
  | 'nat-gateway'
  | 'route-table'
  | 'security-group'
  | 'network-interface'
  | 'volume'
  | 'key-pair'
  | 'image'
  | 'snapshot'
  | 'launch-template';

export interface Ec2Resource {
  id: string;
  kind: Ec2Kind;
  region: string;
  tags: Record<string, string>;
  createdAt: number;
  /** Sandbox time at which a pending resource becomes available / running. */
  readyAt: number;
  /** Sandbox time at which a deleted or terminated resource is gone (no longer counted). */
  goneAt?: number;
  /** Kind-specific fields (CIDR, routes, rules, ...): plain JSON, shaped by each kind's module. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  attrs: Record<string, any>;
}

/** A subnet's association with a route table (vpc-network.ts keeps them; a subnet's delete ends its own). */
export interface Association {
  id: string;
  subnetId: string;
}

/** EC2's part of the account: every resource by ID (they share one ID space, as in AWS). */
export type Ec2World = Record<string, Ec2Resource>;

/** Per region, as AWS sets it by default (Service Quotas answers it). */
export const VPC_LIMIT = 5;

const NOT_FOUND: Record<Ec2Resource['kind'], [string, string]> = {
  vpc: ['InvalidVpcID.NotFound', 'vpc'],
  subnet: ['InvalidSubnetID.NotFound', 'subnet'],
  instance: ['InvalidInstanceID.NotFound', 'instance'],
  'internet-gateway': ['InvalidInternetGatewayID.NotFound', 'internet gateway'],
  'elastic-ip': ['InvalidAllocationID.NotFound', 'allocation'],
  'nat-gateway': ['NatGatewayNotFound', 'NAT gateway'],
  'route-table': ['InvalidRouteTableID.NotFound', 'route table'],
  'security-group': ['InvalidGroup.NotFound', 'security group'],
  'network-interface': ['InvalidNetworkInterfaceID.NotFound', 'network interface'],
  volume: ['InvalidVolume.NotFound', 'volume'],
  'key-pair': ['InvalidKeyPair.NotFound', 'key pair'],
  image: ['InvalidAMIID.NotFound', 'image'],
  snapshot: ['InvalidSnapshot.NotFound', 'snapshot'],
  'launch-template': ['InvalidLaunchTemplateId.NotFound', 'launch template'],
};

/** A resource's lifecycle state at sandbox time `now`, in the words EC2 uses for its kind. */
export function state(r: Ec2Resource, now: number): string {
  if (r.kind === 'instance') {
    if (r.goneAt !== undefined) return now >= r.goneAt ? 'terminated' : 'shutting-down';
    return now >= r.readyAt ? 'running' : 'pending';
  }
  if (r.kind === 'nat-gateway') {
    // vpc-network.ts marks a gateway that could not work (no internet gateway) as `failed`; it
    // stays so until deleted, by the operator or by AWS itself after about an hour.
    if (r.goneAt !== undefined && now >= r.goneAt) return 'deleted';
    if (r.attrs.failed && !r.attrs.deleteRequested) return 'failed';
    if (r.goneAt !== undefined) return 'deleting';
  }
  return now >= r.readyAt ? 'available' : 'pending';
}

/** AWS still describes a deleted or terminated resource for about an hour, then forgets it. */
function forgotten(r: Ec2Resource, now: number): boolean {
  return r.goneAt !== undefined && now > r.goneAt + 60 * MINUTE;
}

/** Resources of a kind in the call's region, with long-terminated instances forgotten as AWS does. */
export function all(ctx: OperationContext, kind: Ec2Resource['kind']): Ec2Resource[] {
  return Object.values(ctx.world.ec2).filter((r) => {
    if (r.kind !== kind || r.region !== ctx.region) return false;
    if (forgotten(r, ctx.now)) {
      delete ctx.world.ec2[r.id];
      return false;
    }
    return true;
  });
}

/** A resource addressed by ID: NotFound if it does not exist, or if AWS has not caught up yet. */
export function byId(ctx: OperationContext, kind: Ec2Resource['kind'], id: string | undefined): Ec2Resource {
  const r = id ? ctx.world.ec2[id] : undefined;
  if (!r || r.kind !== kind || r.region !== ctx.region || forgotten(r, ctx.now) || ctx.lagging(r.id)) throw notFound(kind, id);
  return r;
}

function notFound(kind: Ec2Resource['kind'], id: string | undefined): Error {
  const [code, noun] = NOT_FOUND[kind];
  return awsError(code, `The ${noun} ID '${id}' does not exist`);
}

/**
 * What a replayed ClientToken made. AWS answers a replay with the resource while it can still be
 * described (a terminated instance, a deleted NAT gateway); once the resource is gone for good it
 * answers as for any unknown ID. Eventual consistency does not apply: the first answer named it.
 */
export function madeBy(ctx: OperationContext, kind: Ec2Resource['kind'], id: string): Ec2Resource {
  const r = ctx.world.ec2[id];
  if (!r || r.kind !== kind || forgotten(r, ctx.now)) throw notFound(kind, id);
  return r;
}

export const FILTERS: Record<string, (r: Ec2Resource, now: number) => unknown> = {
  'vpc-id': (r) => (r.kind === 'vpc' ? r.id : r.attrs.vpcId),
  'subnet-id': (r) => (r.kind === 'subnet' ? r.id : r.attrs.subnetId),
  'instance-id': (r) => (r.kind === 'instance' ? r.id : r.attrs.instanceId),
  'association-id': (r) => r.attrs.associationId,
  'key-name': (r) => r.attrs.keyName,
  'image-id': (r) => r.attrs.imageId,
  'private-ip-address': (r) => r.attrs.privateIp,
  'cidr-block': (r) => r.attrs.cidrBlock,
  'availability-zone': (r) => r.attrs.availabilityZone,
  state: (r, now) => state(r, now),
  'instance-state-name': (r, now) => state(r, now),
  'tag-key': (r) => Object.keys(r.tags),
  'instance.group-id': (r) => r.attrs.securityGroupIds,
  'internet-gateway-id': (r) => r.id,
  'attachment.vpc-id': (r) => r.attrs.vpcId,
  'allocation-id': (r) => r.id,
  domain: () => 'vpc',
  'public-ip': (r) => r.attrs.publicIp,
  'nat-gateway-id': (r) => r.id,
  'route-table-id': (r) => r.id,
  'association.subnet-id': (r) => (r.attrs.associations as Association[] | undefined)?.map((a) => a.subnetId),
  'association.route-table-association-id': (r) => (r.attrs.associations as Association[] | undefined)?.map((a) => a.id),
  'group-id': (r) => r.id,
  'group-name': (r) => r.attrs.groupName,
};

export function matches(r: Ec2Resource, filters: Array<{ Name?: string; Values?: string[] }> | undefined, now: number) {
  return (filters ?? []).every(({ Name = '', Values = [] }) => {
    let value: unknown;
    if (Name.startsWith('tag:')) value = r.tags[Name.slice(4)];
    else if (FILTERS[Name]) value = FILTERS[Name](r, now);
    else throw awsError('InvalidParameterValue', `The filter '${Name}' is invalid`);
    const values = Array.isArray(value) ? value : [value];
    return values.some((v) => typeof v === 'string' && Values.includes(v));
  });
}

export function describe(
  ctx: OperationContext,
  kind: Ec2Resource['kind'],
  ids: string[] | undefined,
  filters: Array<{ Name?: string; Values?: string[] }> | undefined,
) {
  const found = ids?.length ? ids.map((id) => byId(ctx, kind, id)) : all(ctx, kind);
  return found.filter((r) => matches(r, filters, ctx.now));
}

/** A new resource, not yet visible to every by-ID lookup (eventual consistency). */
export function create(
  ctx: OperationContext,
  kind: Ec2Resource['kind'],
  prefix: string,
  tags: Record<string, string>,
  readyInMinutes: number,
  attrs: Ec2Resource['attrs'],
): Ec2Resource {
  const resource = put(ctx, kind, prefix, tags, readyInMinutes, attrs);
  ctx.startLag(resource.id);
  return resource;
}

/** A new resource in the world, visible at once (what AWS makes on the side, such as an ENI). */
export function put(
  ctx: OperationContext,
  kind: Ec2Resource['kind'],
  prefix: string,
  tags: Record<string, string>,
  readyInMinutes: number,
  attrs: Ec2Resource['attrs'],
): Ec2Resource {
  const resource: Ec2Resource = {
    id: ctx.newId(prefix),
    kind,
    region: ctx.region,
    tags,
    createdAt: ctx.now,
    readyAt: ctx.now + readyInMinutes * MINUTE,
    attrs,
  };
  ctx.world.ec2[resource.id] = resource;
  return resource;
}

export function zonesOf(region: string) {
  const short = region.replace(/^(\w\w)-(\w)\w*-(\d)$/, '$1$2$3');
  return ['a', 'b', 'c'].map((letter, i) => ({ ZoneName: `${region}${letter}`, ZoneId: `${short}-az${i + 1}` }));
}

export function parseCidr(cidr: string | undefined, code: string): [ipaddr.IPv4, number] {
  try {
    const [address, bits] = ipaddr.IPv4.parseCIDR(cidr ?? '');
    return [address, bits];
  } catch {
    throw awsError(code, `The CIDR '${cidr}' is invalid.`);
  }
}

function vpcView(r: Ec2Resource, ctx: OperationContext): Vpc {
  return {
    VpcId: r.id,
    CidrBlock: r.attrs.cidrBlock,
    State: state(r, ctx.now) as Vpc['State'],
    IsDefault: false,
    InstanceTenancy: 'default',
    OwnerId: ctx.world.accountId,
    Tags: tagList(r.tags),
  };
}

function subnetView(r: Ec2Resource, ctx: OperationContext): Subnet {
  const zone = zonesOf(ctx.region).find((z) => z.ZoneName === r.attrs.availabilityZone);
  return {
    SubnetId: r.id,
    VpcId: r.attrs.vpcId,
    CidrBlock: r.attrs.cidrBlock,
    AvailabilityZone: r.attrs.availabilityZone,
    AvailabilityZoneId: zone?.ZoneId,
    State: state(r, ctx.now) as Subnet['State'],
    MapPublicIpOnLaunch: Boolean(r.attrs.mapPublicIpOnLaunch),
    OwnerId: ctx.world.accountId,
    Tags: tagList(r.tags),
  };
}

/** The commercial regions of the sandbox's AWS (what DescribeRegions lists). */
const SANDBOX_REGIONS = [
  'us-east-1',
  'us-east-2',
  'us-west-1',
  'us-west-2',
  'af-south-1',
  'ap-east-1',
  'ap-east-2',
  'ap-south-1',
  'ap-south-2',
  'ap-southeast-1',
  'ap-southeast-2',
  'ap-southeast-3',
  'ap-southeast-4',
  'ap-southeast-5',
  'ap-southeast-6',
  'ap-southeast-7',
  'ap-northeast-1',
  'ap-northeast-2',
  'ap-northeast-3',
  'ca-central-1',
  'ca-west-1',
  'eu-central-1',
  'eu-central-2',
  'eu-west-1',
  'eu-west-2',
  'eu-west-3',
  'eu-south-1',
  'eu-south-2',
  'eu-north-1',
  'il-central-1',
  'me-south-1',
  'me-central-1',
  'mx-central-1',
  'sa-east-1',
];
const isKnownRegion = (name: string) => SANDBOX_REGIONS.includes(name);

/** Regions launched since 2019 are off until the account opts in; the sandbox account did, except for one. */
const OPT_IN_REGIONS = new Set([
  'af-south-1',
  'ap-east-1',
  'ap-east-2',
  'ap-south-2',
  'ap-southeast-3',
  'ap-southeast-4',
  'ap-southeast-5',
  'ap-southeast-6',
  'ap-southeast-7',
  'ca-west-1',
  'eu-central-2',
  'eu-south-1',
  'eu-south-2',
  'il-central-1',
  'me-south-1',
  'me-central-1',
  'mx-central-1',
]);
const NOT_OPTED_IN = new Set(['me-south-1']);

function optInStatus(region: string): string {
  if (!OPT_IN_REGIONS.has(region)) return 'opt-in-not-required';
  return NOT_OPTED_IN.has(region) ? 'not-opted-in' : 'opted-in';
}

export const ec2: SdkOperations<EC2> = {
  DescribeRegions(_ctx, input) {
    const unknown = (input.RegionNames ?? []).filter((name) => !isKnownRegion(name));
    if (unknown.length) throw awsError('InvalidParameterValue', `Invalid region(s): ${unknown.join(', ')}`);
    const named = input.RegionNames?.length ? input.RegionNames : SANDBOX_REGIONS;
    const regions = named
      .filter((name) => input.AllRegions || optInStatus(name) !== 'not-opted-in')
      .map((RegionName) => ({ RegionName, Endpoint: `ec2.${RegionName}.amazonaws.com`, OptInStatus: optInStatus(RegionName) }))
      .filter((r) =>
        (input.Filters ?? []).every(({ Name, Values = [] }) => {
          if (Name === 'region-name') return Values.includes(r.RegionName);
          if (Name === 'opt-in-status') return Values.includes(r.OptInStatus);
          if (Name === 'endpoint') return Values.includes(r.Endpoint);
          throw awsError('InvalidParameterValue', `The filter '${Name}' is invalid`);
        }),
      );
    return { Regions: regions };
  },

  DescribeAvailabilityZones: (ctx) => ({
    AvailabilityZones: zonesOf(ctx.region).map((z) => ({
      ...z,
      RegionName: ctx.region,
      State: 'available',
      ZoneType: 'availability-zone',
    })),
  }),

  CreateVpc(ctx, input) {
    const [, bits] = parseCidr(input.CidrBlock, 'InvalidParameterValue');
    if (bits < 16 || bits > 28) throw awsError('InvalidVpc.Range', `The CIDR '${input.CidrBlock}' is invalid.`);
    if (all(ctx, 'vpc').length >= VPC_LIMIT) {
      throw awsError('VpcLimitExceeded', 'The maximum number of VPCs has been reached.');
    }
    const tags = tagsFromSpecifications(input.TagSpecifications, 'vpc');
    const vpc = create(ctx, 'vpc', 'vpc', tags, AWS_MINUTES.network.create, {
      cidrBlock: input.CidrBlock,
      enableDnsSupport: true,
      enableDnsHostnames: false,
    });
    return { Vpc: vpcView(vpc, ctx) };
  },

  DescribeVpcs: (ctx, input) => ({
    Vpcs: describe(ctx, 'vpc', input.VpcIds, input.Filters).map((r) => vpcView(r, ctx)),
  }),

  ModifyVpcAttribute(ctx, input) {
    const vpc = byId(ctx, 'vpc', input.VpcId);
    const given = [input.EnableDnsSupport, input.EnableDnsHostnames].filter(Boolean).length;
    if (given !== 1) {
      throw awsError(
        'InvalidParameterCombination',
        'Fields for multiple attribute types specified: only one attribute can be modified at a time',
      );
    }
    if (input.EnableDnsSupport) vpc.attrs.enableDnsSupport = Boolean(input.EnableDnsSupport.Value);
    if (input.EnableDnsHostnames) vpc.attrs.enableDnsHostnames = Boolean(input.EnableDnsHostnames.Value);
    return {};
  },

  DescribeVpcAttribute(ctx, input) {
    const vpc = byId(ctx, 'vpc', input.VpcId);
    if (input.Attribute === 'enableDnsSupport') return { VpcId: vpc.id, EnableDnsSupport: { Value: Boolean(vpc.attrs.enableDnsSupport) } };
    if (input.Attribute === 'enableDnsHostnames')
      return { VpcId: vpc.id, EnableDnsHostnames: { Value: Boolean(vpc.attrs.enableDnsHostnames) } };
    throw awsError('InvalidParameterValue', `Value (${input.Attribute}) for parameter attribute is invalid.`);
  },

  DeleteVpc(ctx, input) {
    const vpc = byId(ctx, 'vpc', input.VpcId);
    refuseWhileInUse(ctx, vpc);
    delete ctx.world.ec2[vpc.id];
    return {};
  },

  CreateSubnet(ctx, input) {
    const vpc = byId(ctx, 'vpc', input.VpcId);
    if (!zonesOf(ctx.region).some((z) => z.ZoneName === input.AvailabilityZone)) {
      throw awsError(
        'InvalidParameterValue',
        `Value (${input.AvailabilityZone}) for parameter availabilityZone is invalid. Subnets can currently only be created in the following availability zones: ${zonesOf(
          ctx.region,
        )
          .map((z) => z.ZoneName)
          .join(', ')}.`,
      );
    }
    const [address, bits] = parseCidr(input.CidrBlock, 'InvalidParameterValue');
    const [vpcAddress, vpcBits] = parseCidr(vpc.attrs.cidrBlock as string, 'InvalidParameterValue');
    if (bits < vpcBits || bits > 28 || !address.match(vpcAddress, vpcBits)) {
      throw awsError('InvalidSubnet.Range', `The CIDR '${input.CidrBlock}' is invalid.`);
    }
    for (const other of all(ctx, 'subnet').filter((s) => s.attrs.vpcId === vpc.id)) {
      const [otherAddress, otherBits] = parseCidr(other.attrs.cidrBlock as string, 'InvalidParameterValue');
      if (address.match(otherAddress, otherBits) || otherAddress.match(address, bits)) {
        throw awsError('InvalidSubnet.Conflict', `The CIDR '${input.CidrBlock}' conflicts with another subnet`);
      }
    }
    const tags = tagsFromSpecifications(input.TagSpecifications, 'subnet');
    const subnet = create(ctx, 'subnet', 'subnet', tags, AWS_MINUTES.network.create, {
      vpcId: vpc.id,
      cidrBlock: input.CidrBlock,
      availabilityZone: input.AvailabilityZone,
      mapPublicIpOnLaunch: false,
    });
    return { Subnet: subnetView(subnet, ctx) };
  },

  DescribeSubnets: (ctx, input) => ({
    Subnets: describe(ctx, 'subnet', input.SubnetIds, input.Filters).map((r) => subnetView(r, ctx)),
  }),

  ModifySubnetAttribute(ctx, input) {
    const subnet = byId(ctx, 'subnet', input.SubnetId);
    if (input.MapPublicIpOnLaunch) subnet.attrs.mapPublicIpOnLaunch = Boolean(input.MapPublicIpOnLaunch.Value);
    return {};
  },

  DeleteSubnet(ctx, input) {
    const subnet = byId(ctx, 'subnet', input.SubnetId);
    refuseWhileInUse(ctx, subnet);
    delete ctx.world.ec2[subnet.id];
    // A subnet's route table association goes with it.
    for (const table of all(ctx, 'route-table')) {
      table.attrs.associations = (table.attrs.associations as Association[]).filter((a) => a.subnetId !== subnet.id);
    }
    return {};
  },
};

/** How long each call takes on the sandbox clock before it answers, in minutes. */
export const ec2Latency: Latency<'ec2'> = {
  DeleteVpc: AWS_MINUTES.network.delete,
  DeleteSubnet: AWS_MINUTES.network.delete,
};
