import { createHash } from 'node:crypto';
import type { CacheCluster, ElastiCache, NodeGroup, ReplicationGroup } from '@aws-sdk/client-elasticache';
import { AWS_MINUTES, MINUTE } from '../aws/durations.js';
import { TAG_NAME } from '../aws/tags.js';
import {
  awsError,
  sandboxResource,
  tagList,
  tagsFromList,
  type OperationContext,
  type SandboxService,
  type SdkOperations,
} from './core.js';
import { byId, type Ec2Resource } from './ec2.js';
import { placeEni, releaseEnis } from './network-interfaces.js';

/** ElastiCache's part of the account, keyed by `${region}:${name}` (AWS keeps names lowercase). */
export interface ElastiCacheWorld {
  subnetGroups: Record<string, CacheSubnetGroupRecord>;
  replicationGroups: Record<string, ReplicationGroupRecord>;
}

export interface CacheSubnetGroupRecord {
  name: string;
  region: string;
  description: string;
  vpcId: string;
  subnets: Array<{ id: string; availabilityZone: string }>;
  tags: Record<string, string>;
}

export interface ReplicationGroupRecord {
  id: string;
  region: string;
  description: string;
  engine: string;
  engineVersion: string;
  nodeType: string;
  port: number;
  subnetGroup: string;
  securityGroupIds: string[];
  /** The primary first, then the replicas: each a cache cluster of one node in its AZ. */
  members: Array<{ id: string; availabilityZone: string; role: 'primary' | 'replica' }>;
  automaticFailover: boolean;
  multiAz: boolean;
  atRestEncryption: boolean;
  transitEncryption: boolean;
  authTokenEnabled: boolean;
  /** SHA-256 of the AUTH token (the sandbox's boot simulator checks a node's password against it). */
  authTokenDigest?: string;
  createdAt: number;
  readyAt: number;
  /** Set by DeleteReplicationGroup: `deleting` until then, gone after. */
  goneAt?: number;
  tags: Record<string, string>;
}

/** Engines and the versions a cluster-mode-disabled replication group may be created with. */
const ENGINE_VERSIONS: Record<string, string[]> = {
  redis: ['6.0', '6.2', '7.0', '7.1'],
  valkey: ['7.2', '8.0', '8.1'],
};
const DEFAULT_VERSION: Record<string, string> = { redis: '7.1', valkey: '8.1' };
const NODE_FAMILIES = ['t3', 't4g', 'm5', 'm6g', 'm7g', 'r5', 'r6g', 'r7g'];
const NODE_SIZES = ['micro', 'small', 'medium', 'large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge'];
/** A cluster-mode-disabled group: a primary and at most five replicas. */
const MAX_NODES = 6;
/** 1-40 characters, a letter first, letters, digits and single hyphens, no hyphen at the end. */
const IDENTIFIER = /^[a-z](?!.*--)[a-z0-9-]{0,39}(?<!-)$/;

function invalidValue(message: string): Error {
  return awsError('InvalidParameterValue', message);
}

function invalidCombination(message: string): Error {
  return awsError('InvalidParameterCombination', message);
}

function key(ctx: OperationContext, name: string): string {
  return `${ctx.region}:${name.toLowerCase()}`;
}

function arn(ctx: OperationContext, type: 'replicationgroup' | 'subnetgroup' | 'cluster', name: string): string {
  return `arn:aws:elasticache:${ctx.region}:${ctx.world.accountId}:${type}:${name}`;
}

function gone(group: ReplicationGroupRecord, now: number): boolean {
  return group.goneAt !== undefined && now >= group.goneAt;
}

function status(group: ReplicationGroupRecord, now: number): string {
  if (group.goneAt !== undefined) return 'deleting';
  return now >= group.readyAt ? 'available' : 'creating';
}

function subnetGroupOf(ctx: OperationContext, name: string | undefined): CacheSubnetGroupRecord {
  const found = name ? ctx.world.elasticache.subnetGroups[key(ctx, name)] : undefined;
  if (!found) throw awsError('CacheSubnetGroupNotFoundFault', `Cache subnet group ${name} not found.`, 404);
  return found;
}

/** A replication group AWS still describes (deleting counts); gone ones are forgotten. */
function replicationGroupOf(ctx: OperationContext, id: string | undefined): ReplicationGroupRecord {
  const k = id ? key(ctx, id) : '';
  const found = ctx.world.elasticache.replicationGroups[k];
  if (found && gone(found, ctx.now)) delete ctx.world.elasticache.replicationGroups[k];
  else if (found) return found;
  throw awsError('ReplicationGroupNotFoundFault', `ReplicationGroup ${id} not found.`, 404);
}

function liveGroups(ctx: OperationContext): ReplicationGroupRecord[] {
  return Object.values(ctx.world.elasticache.replicationGroups).filter((g) => g.region === ctx.region && !gone(g, ctx.now));
}

function endpoint(ctx: OperationContext, name: string, port: number) {
  return { Address: `${name}.${ctx.world.accountId.slice(-6)}.${ctx.region}.cache.amazonaws.com`, Port: port };
}

function replicationGroupView(ctx: OperationContext, g: ReplicationGroupRecord): ReplicationGroup {
  const current = status(g, ctx.now);
  const nodeGroup: NodeGroup = {
    NodeGroupId: '0001',
    Status: current,
    PrimaryEndpoint: endpoint(ctx, `master.${g.id}`, g.port),
    ReaderEndpoint: endpoint(ctx, `replica.${g.id}`, g.port),
    NodeGroupMembers: g.members.map((m) => ({
      CacheClusterId: m.id,
      CacheNodeId: '0001',
      PreferredAvailabilityZone: m.availabilityZone,
      CurrentRole: m.role,
      ReadEndpoint: endpoint(ctx, m.id, g.port),
    })),
  };
  const enabled = (on: boolean) => (on ? 'enabled' : 'disabled');
  return {
    ReplicationGroupId: g.id,
    Description: g.description,
    Status: current,
    MemberClusters: g.members.map((m) => m.id),
    NodeGroups: [nodeGroup],
    AutomaticFailover: enabled(g.automaticFailover),
    MultiAZ: enabled(g.multiAz),
    ClusterEnabled: false,
    ClusterMode: 'disabled',
    CacheNodeType: g.nodeType,
    Engine: g.engine,
    AuthTokenEnabled: g.authTokenEnabled,
    TransitEncryptionEnabled: g.transitEncryption,
    AtRestEncryptionEnabled: g.atRestEncryption,
    ARN: arn(ctx, 'replicationgroup', g.id),
    ReplicationGroupCreateTime: new Date(g.createdAt),
    SnapshotRetentionLimit: 0,
    AutoMinorVersionUpgrade: true,
    NetworkType: 'ipv4',
  };
}

function cacheClusterView(
  ctx: OperationContext,
  g: ReplicationGroupRecord,
  member: ReplicationGroupRecord['members'][number],
): CacheCluster {
  return {
    CacheClusterId: member.id,
    ReplicationGroupId: g.id,
    CacheNodeType: g.nodeType,
    Engine: g.engine,
    EngineVersion: g.engineVersion,
    CacheClusterStatus: status(g, ctx.now),
    NumCacheNodes: 1,
    PreferredAvailabilityZone: member.availabilityZone,
    CacheSubnetGroupName: g.subnetGroup,
    SecurityGroups: g.securityGroupIds.map((SecurityGroupId) => ({ SecurityGroupId, Status: 'active' })),
    AuthTokenEnabled: g.authTokenEnabled,
    TransitEncryptionEnabled: g.transitEncryption,
    AtRestEncryptionEnabled: g.atRestEncryption,
    ARN: arn(ctx, 'cluster', member.id),
    CacheClusterCreateTime: new Date(g.createdAt),
  };
}

/** AWS's rules for an AUTH token: 16-128 printable ASCII characters, none of @ " /. */
function checkAuthToken(token: string): void {
  if (token.length < 16 || token.length > 128 || !/^[\x21-\x7e]+$/.test(token) || /[@"/]/.test(token)) {
    throw invalidValue('Invalid AuthToken provided. The AUTH token must be 16 to 128 printable characters, without @, " or /.');
  }
}

function checkEngine(engine: string | undefined, version: string | undefined): { engine: string; engineVersion: string } {
  const name = (engine ?? 'redis').toLowerCase();
  const versions = ENGINE_VERSIONS[name];
  if (!versions) throw invalidValue(`Invalid engine: ${engine}. Valid engines are redis and valkey.`);
  const engineVersion = version ?? DEFAULT_VERSION[name]!;
  if (!versions.includes(engineVersion)) {
    throw invalidValue(`Cannot find version ${engineVersion} for ${name}`);
  }
  return { engine: name, engineVersion };
}

function checkNodeType(nodeType: string | undefined): string {
  const [prefix, family, size] = (nodeType ?? '').split('.');
  if (prefix !== 'cache' || !NODE_FAMILIES.includes(family ?? '') || !NODE_SIZES.includes(size ?? '')) {
    throw invalidValue(`Invalid CacheNodeType: ${nodeType}`);
  }
  return nodeType!;
}

function checkSecurityGroups(ctx: OperationContext, ids: string[] | undefined, vpcId: string): string[] {
  return (ids ?? []).map((id) => {
    const group: Ec2Resource = byId(ctx, 'security-group', id);
    if (group.attrs.vpcId !== vpcId) {
      throw invalidCombination(`The security group ${id} is not in the VPC ${vpcId} of the cache subnet group.`);
    }
    return group.id;
  });
}

const operations: SdkOperations<ElastiCache> = {
  CreateCacheSubnetGroup(ctx, input) {
    const name = (input.CacheSubnetGroupName ?? '').toLowerCase();
    if (!/^[a-z0-9-]{1,255}$/.test(name)) throw invalidValue(`Invalid cache subnet group name: ${name}`);
    if (!input.CacheSubnetGroupDescription) throw invalidValue('The parameter CacheSubnetGroupDescription must be provided.');
    if (ctx.world.elasticache.subnetGroups[key(ctx, name)]) {
      throw awsError('CacheSubnetGroupAlreadyExists', `Cache subnet group ${name} already exists.`);
    }
    if (!input.SubnetIds?.length) throw invalidValue('The parameter SubnetIds must be provided.');
    const subnets = input.SubnetIds.map((id) => {
      try {
        return byId(ctx, 'subnet', id);
      } catch {
        throw awsError('InvalidSubnet', `The subnet ID ${id} does not exist`);
      }
    });
    const vpcId = subnets[0]!.attrs.vpcId as string;
    if (subnets.some((s) => s.attrs.vpcId !== vpcId)) throw awsError('InvalidSubnet', 'All subnets must belong to the same VPC.');
    const group: CacheSubnetGroupRecord = {
      name,
      region: ctx.region,
      description: input.CacheSubnetGroupDescription,
      vpcId,
      subnets: subnets.map((s) => ({ id: s.id, availabilityZone: s.attrs.availabilityZone as string })),
      tags: tagsFromList(input.Tags),
    };
    ctx.world.elasticache.subnetGroups[key(ctx, name)] = group;
    return { CacheSubnetGroup: subnetGroupView(ctx, group) };
  },

  DescribeCacheSubnetGroups(ctx, input) {
    const groups = input.CacheSubnetGroupName
      ? [subnetGroupOf(ctx, input.CacheSubnetGroupName)]
      : Object.values(ctx.world.elasticache.subnetGroups).filter((g) => g.region === ctx.region);
    return { CacheSubnetGroups: groups.map((g) => subnetGroupView(ctx, g)) };
  },

  DeleteCacheSubnetGroup(ctx, input) {
    const group = subnetGroupOf(ctx, input.CacheSubnetGroupName);
    // A deleting replication group still holds its subnet group until it is gone.
    if (liveGroups(ctx).some((g) => g.subnetGroup === group.name)) {
      throw awsError('CacheSubnetGroupInUse', `Cache subnet group ${group.name} is currently in use by a cache cluster.`);
    }
    delete ctx.world.elasticache.subnetGroups[key(ctx, group.name)];
    return {};
  },

  CreateReplicationGroup(ctx, input) {
    const id = (input.ReplicationGroupId ?? '').toLowerCase();
    if (!IDENTIFIER.test(id)) {
      throw invalidValue(
        'The parameter ReplicationGroupId must be 1 to 40 letters, digits or hyphens, start with a letter, and not end with a hyphen or contain two consecutive hyphens.',
      );
    }
    if (!input.ReplicationGroupDescription) throw invalidValue('The parameter ReplicationGroupDescription must be provided.');
    const existing = ctx.world.elasticache.replicationGroups[key(ctx, id)];
    if (existing && !gone(existing, ctx.now)) throw awsError('ReplicationGroupAlreadyExists', `Replication group ${id} already exists.`);
    if (input.NumNodeGroups !== undefined && input.NumNodeGroups !== 1) {
      throw invalidCombination('NumNodeGroups greater than 1 needs cluster mode enabled.');
    }
    const subnetGroup = subnetGroupOf(ctx, input.CacheSubnetGroupName ?? 'default');
    const { engine, engineVersion } = checkEngine(input.Engine, input.EngineVersion);
    const nodeType = checkNodeType(input.CacheNodeType);
    const nodes = input.NumCacheClusters ?? (input.ReplicasPerNodeGroup !== undefined ? input.ReplicasPerNodeGroup + 1 : 1);
    if (!Number.isInteger(nodes) || nodes < 1 || nodes > MAX_NODES) {
      throw invalidValue(`NumCacheClusters must be between 1 and ${MAX_NODES} for a replication group with cluster mode disabled.`);
    }
    const azs = input.PreferredCacheClusterAZs ?? [];
    if (azs.length && azs.length !== nodes) {
      throw invalidCombination(`PreferredCacheClusterAZs names ${azs.length} zones for ${nodes} cache clusters; they must match.`);
    }
    const offered = subnetGroup.subnets.map((s) => s.availabilityZone);
    for (const az of azs) {
      if (!offered.includes(az)) throw invalidValue(`The subnet group ${subnetGroup.name} has no subnet in Availability Zone ${az}.`);
    }
    const automaticFailover = input.AutomaticFailoverEnabled ?? false;
    const multiAz = input.MultiAZEnabled ?? false;
    if (automaticFailover && nodes < 2) {
      throw invalidCombination('Automatic failover needs at least one replica: give NumCacheClusters of 2 or more.');
    }
    if (multiAz && !automaticFailover) throw invalidCombination('Multi-AZ needs automatic failover enabled.');
    const transitEncryption = input.TransitEncryptionEnabled ?? false;
    if (input.AuthToken !== undefined) {
      if (!transitEncryption) throw invalidCombination('The AUTH token is only supported when encryption in transit is enabled.');
      checkAuthToken(input.AuthToken);
    }
    const securityGroupIds = checkSecurityGroups(ctx, input.SecurityGroupIds, subnetGroup.vpcId);
    const members = Array.from({ length: nodes }, (_, i) => ({
      id: `${id.slice(0, 36)}-${String(i + 1).padStart(3, '0')}`,
      availabilityZone: azs[i] ?? offered[i % offered.length]!,
      role: i === 0 ? ('primary' as const) : ('replica' as const),
    }));
    const group: ReplicationGroupRecord = {
      id,
      region: ctx.region,
      description: input.ReplicationGroupDescription,
      engine,
      engineVersion,
      nodeType,
      port: input.Port ?? 6379,
      subnetGroup: subnetGroup.name,
      securityGroupIds,
      members,
      automaticFailover,
      multiAz,
      atRestEncryption: input.AtRestEncryptionEnabled ?? false,
      transitEncryption,
      authTokenEnabled: input.AuthToken !== undefined,
      // Only its digest: what the boot simulator compares an instance's fetched password with.
      ...(input.AuthToken !== undefined ? { authTokenDigest: createHash('sha256').update(input.AuthToken).digest('hex') } : {}),
      createdAt: ctx.now,
      readyAt: ctx.now + AWS_MINUTES.elasticacheRedis.create * MINUTE,
      tags: tagsFromList(input.Tags),
    };
    ctx.world.elasticache.replicationGroups[key(ctx, id)] = group;
    // Each node stands in its AZ's subnet through an ENI: the subnets and groups are held until it goes.
    for (const member of members) {
      const subnetId = subnetGroup.subnets.find((s) => s.availabilityZone === member.availabilityZone)!.id;
      placeEni(ctx, {
        subnet: byId(ctx, 'subnet', subnetId),
        ownerId: arn(ctx, 'replicationgroup', id),
        interfaceType: 'interface',
        securityGroupIds,
        description: `ElastiCache ${member.id}`,
      });
    }
    return { ReplicationGroup: replicationGroupView(ctx, group) };
  },

  DescribeCacheEngineVersions(_ctx, input) {
    const engines = input.Engine ? [input.Engine.toLowerCase()] : Object.keys(ENGINE_VERSIONS);
    return {
      CacheEngineVersions: engines.flatMap((engine) =>
        (ENGINE_VERSIONS[engine] ?? [])
          .filter((v) => !input.EngineVersion || v === input.EngineVersion)
          .map((EngineVersion) => ({
            Engine: engine,
            EngineVersion,
            CacheParameterGroupFamily: `${engine}${EngineVersion.split('.')[0]}`,
            CacheEngineDescription: engine === 'valkey' ? 'Valkey' : 'Redis',
          })),
      ),
    };
  },

  DescribeReplicationGroups(ctx, input) {
    const groups = input.ReplicationGroupId
      ? [replicationGroupOf(ctx, input.ReplicationGroupId)]
      : liveGroups(ctx).sort((a, b) => a.id.localeCompare(b.id));
    return { ReplicationGroups: groups.map((g) => replicationGroupView(ctx, g)) };
  },

  DescribeCacheClusters(ctx, input) {
    const clusters = liveGroups(ctx).flatMap((g) => g.members.map((m) => cacheClusterView(ctx, g, m)));
    if (!input.CacheClusterId) return { CacheClusters: clusters };
    const found = clusters.filter((c) => c.CacheClusterId === input.CacheClusterId);
    if (!found.length) throw awsError('CacheClusterNotFound', `CacheCluster ${input.CacheClusterId} not found.`, 404);
    return { CacheClusters: found };
  },

  DeleteReplicationGroup(ctx, input) {
    const group = replicationGroupOf(ctx, input.ReplicationGroupId);
    if (group.goneAt !== undefined) {
      throw awsError('InvalidReplicationGroupState', `Replication group ${group.id} is not in available state (deleting).`);
    }
    if (status(group, ctx.now) !== 'available') {
      throw awsError('InvalidReplicationGroupState', `Replication group ${group.id} is not in available state (creating).`);
    }
    group.goneAt = ctx.now + AWS_MINUTES.elasticacheRedis.delete * MINUTE;
    releaseEnis(ctx, arn(ctx, 'replicationgroup', group.id), group.goneAt);
    return { ReplicationGroup: replicationGroupView(ctx, group) };
  },

  ListTagsForResource(ctx, input) {
    return { TagList: tagList(taggable(ctx, input.ResourceName).tags) };
  },

  AddTagsToResource(ctx, input) {
    const resource = taggable(ctx, input.ResourceName);
    Object.assign(resource.tags, tagsFromList(input.Tags));
    return { TagList: tagList(resource.tags) };
  },
};

function subnetGroupView(ctx: OperationContext, g: CacheSubnetGroupRecord) {
  return {
    CacheSubnetGroupName: g.name,
    CacheSubnetGroupDescription: g.description,
    VpcId: g.vpcId,
    Subnets: g.subnets.map((s) => ({ SubnetIdentifier: s.id, SubnetAvailabilityZone: { Name: s.availabilityZone } })),
    ARN: arn(ctx, 'subnetgroup', g.name),
  };
}

/** The resource an ElastiCache ARN names (a replication group or a subnet group), as ListTagsForResource finds it. */
function taggable(ctx: OperationContext, resourceArn: string | undefined): { tags: Record<string, string> } {
  const match = /^arn:aws:elasticache:([^:]+):(\d{12}):(replicationgroup|subnetgroup):(.+)$/.exec(resourceArn ?? '');
  if (!match || match[1] !== ctx.region || match[2] !== ctx.world.accountId) {
    throw awsError('InvalidARN', `The ARN ${resourceArn} is not valid.`);
  }
  return match[3] === 'subnetgroup' ? subnetGroupOf(ctx, match[4]) : replicationGroupOf(ctx, match[4]);
}

/** Every ElastiCache resource of the region with its ARN, for the Tagging API's index. */
export function elasticacheTagged(ctx: OperationContext): Array<{ arn: string; type: string; tags: Record<string, string> }> {
  return [
    ...liveGroups(ctx).map((g) => ({ arn: arn(ctx, 'replicationgroup', g.id), type: 'elasticache:replicationgroup', tags: g.tags })),
    ...Object.values(ctx.world.elasticache.subnetGroups)
      .filter((g) => g.region === ctx.region)
      .map((g) => ({ arn: arn(ctx, 'subnetgroup', g.name), type: 'elasticache:subnetgroup', tags: g.tags })),
  ];
}

export const elasticacheService: SandboxService<ElastiCacheWorld, 'elasticache'> = {
  name: 'elasticache',
  operations,
  latency: {},
  empty: () => ({ subnetGroups: {}, replicationGroups: {} }),
  inventory: (world, now) => [
    ...Object.values(world.elasticache.subnetGroups).map((g) =>
      sandboxResource('AWS::ElastiCache::SubnetGroup', g.name, g.tags[TAG_NAME] ?? g.name, g.tags),
    ),
    ...Object.values(world.elasticache.replicationGroups)
      .filter((g) => !gone(g, now))
      .map((g) => sandboxResource('AWS::ElastiCache::ReplicationGroup', g.id, g.tags[TAG_NAME] ?? g.id, g.tags)),
  ],
};
