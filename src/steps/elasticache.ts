import { z } from 'zod';
import type { ElastiCache, ReplicationGroup } from '@aws-sdk/client-elasticache';
import { AWS_MINUTES } from '../aws/durations.js';
import { errorCode, unlessNotFound } from '../aws/errors.js';
import { paceFor } from '../aws/poll.js';
import { taggedArns } from '../aws/tagging.js';
import { belongsTo } from '../aws/tags.js';
import type { InstallConfig } from '../config/schema.js';
import { defineStep, type ResourceRef, type StepContext } from '../engine/step.js';
import { guideNames } from './names.js';
import { ownership, type Seen } from './ownership.js';
import { secrets } from './secrets.js';
import { securityGroups } from './security-groups.js';
import { subnets } from './subnets.js';

const SUBNET_GROUP = 'AWS::ElastiCache::SubnetGroup';
const REPLICATION_GROUP = 'AWS::ElastiCache::ReplicationGroup';

/** GitLab's docs recommend ElastiCache for Valkey 7.2 on AWS; Redis OSS 7.1 is the other choice. */
export const CACHE_ENGINE_VERSIONS = { valkey: '7.2', redis: '7.1' } as const;
const PORT = 6379;

/** The primary in the first private subnet's zone, replicas alternating so each zone holds a node. */
export function cacheClusterZones(config: InstallConfig, zones: readonly [string, string]): string[] {
  return Array.from({ length: config.cache.replicas + 1 }, (_, i) => zones[i % 2]!);
}

const endpoint = z.object({ address: z.string(), port: z.number() });

export async function subnetGroupSeen(ec: ElastiCache, name: string): Promise<Seen> {
  const found = await unlessNotFound(() => ec.describeCacheSubnetGroups({ CacheSubnetGroupName: name }));
  const arn = found?.CacheSubnetGroups?.[0]?.ARN;
  return arn ? ((await ec.listTagsForResource({ ResourceName: arn })).TagList ?? []) : undefined;
}

async function replicationGroup(ec: ElastiCache, id: string): Promise<ReplicationGroup | undefined> {
  return (await unlessNotFound(() => ec.describeReplicationGroups({ ReplicationGroupId: id })))?.ReplicationGroups?.[0];
}

export async function replicationGroupSeen(ec: ElastiCache, id: string): Promise<Seen> {
  const group = await replicationGroup(ec, id);
  return group?.ARN ? ((await ec.listTagsForResource({ ResourceName: group.ARN })).TagList ?? []) : undefined;
}

function notOursError(kind: string, name: string, deployment: string): Error {
  return new Error(`an ElastiCache ${kind} named ${name} exists and does not belong to deployment '${deployment}'; remove it and resume`);
}

async function ensureSubnetGroup(ctx: StepContext, ec: ElastiCache, privateSubnetIds: readonly string[]): Promise<string> {
  const name = guideNames(ctx.deployment).cacheSubnetGroup;
  let seen = asTags(await subnetGroupSeen(ec, name));
  if (seen === undefined) {
    try {
      await ec.createCacheSubnetGroup({
        CacheSubnetGroupName: name,
        CacheSubnetGroupDescription: `GitLab ElastiCache: the private subnets of deployment ${ctx.deployment}`,
        SubnetIds: [...privateSubnetIds],
        Tags: ctx.tags(name),
      });
      seen = ctx.tags(name);
    } catch (err) {
      if (errorCode(err) !== 'CacheSubnetGroupAlreadyExists') throw err;
      seen = asTags(await subnetGroupSeen(ec, name));
    }
  }
  if (!belongsTo(seen, ctx.deployment)) throw notOursError('cache subnet group', name, ctx.deployment);
  await ctx.record({ type: SUBNET_GROUP, id: name, name });
  return name;
}

/** Waits until AWS no longer describes the replication group. */
async function gone(ctx: StepContext, ec: ElastiCache, id: string): Promise<void> {
  await ctx.poll(`replication group ${id} to be deleted`, paceFor(AWS_MINUTES.elasticacheRedis.delete), async () => {
    const group = await replicationGroup(ec, id);
    return group ? { done: false, seen: group.Status ?? 'unknown' } : { done: true, value: undefined };
  });
}

async function available(ctx: StepContext, ec: ElastiCache, id: string): Promise<ReplicationGroup> {
  return ctx.poll(`replication group ${id} to become available`, paceFor(AWS_MINUTES.elasticacheRedis.create), async () => {
    const group = await replicationGroup(ec, id);
    if (!group) throw new Error(`replication group ${id} disappeared while it was being created; resume to create it again`);
    if (group.Status === 'create-failed') throw new Error(`replication group ${id} failed to create; delete it and resume`);
    return group.Status === 'available' ? { done: true, value: group } : { done: false, seen: group.Status ?? 'unknown' };
  });
}

/**
 * Guide: "Redis with ElastiCache". A cache subnet group over the private subnets, then a
 * replication group with cluster mode disabled: a primary and its replicas in both zones,
 * Multi-AZ with automatic failover, encrypted at rest and in transit, with the AUTH token from
 * SSM. It needs only the subnets, the security groups and the secrets, so its twelve minutes run
 * alongside the NAT gateways and the rest.
 */
export const elasticache = defineStep({
  id: 'elasticache',
  title: 'Redis with ElastiCache',
  needs: [subnets, securityGroups, secrets],
  minutes: AWS_MINUTES.elasticacheRedis.create,
  outputs: z.object({
    replicationGroupId: z.string(),
    engine: z.enum(['valkey', 'redis']),
    engineVersion: z.string(),
    primaryEndpoint: endpoint,
    readerEndpoint: endpoint,
    authTokenParameter: z.string(),
  }),
  resources: (config) => {
    const names = guideNames(config.deployment);
    return [
      { type: SUBNET_GROUP, name: names.cacheSubnetGroup },
      { type: REPLICATION_GROUP, name: names.replicationGroup },
    ];
  },

  async create(ctx) {
    const ec = await ctx.aws.elasticache();
    const id = guideNames(ctx.deployment).replicationGroup;
    const { availabilityZones, privateSubnetIds } = ctx.output('subnets');
    const subnetGroup = await ensureSubnetGroup(ctx, ec, privateSubnetIds);
    const authTokenParameter = ctx.output('secrets').parameters['redis-auth-token'];
    const { engine, nodeType } = ctx.config.cache;

    let group = await replicationGroup(ec, id);
    if (group) {
      if (!belongsTo(await ec.listTagsForResource({ ResourceName: group.ARN }).then((t) => t.TagList), ctx.deployment)) {
        throw notOursError('replication group', id, ctx.deployment);
      }
      // A teardown that stopped midway: the name is free only once AWS has finished deleting it.
      if (group.Status === 'deleting') {
        ctx.progress(`replication group ${id} is still being deleted; waiting to create it again`);
        await gone(ctx, ec, id);
        group = undefined;
      }
    }
    if (!group) {
      const ssm = await ctx.aws.ssm();
      const token = (await ssm.getParameter({ Name: authTokenParameter, WithDecryption: true })).Parameter?.Value;
      if (!token) throw new Error(`SSM parameter ${authTokenParameter} holds no AUTH token; resume to let the secrets step write it`);
      // Before the call: CreateReplicationGroup carries the token, and a request log must not.
      ctx.secret(token);
      const { groupIds } = ctx.output('security-groups');
      try {
        await ec.createReplicationGroup({
          ReplicationGroupId: id,
          ReplicationGroupDescription: `GitLab Redis (${engine}) of deployment ${ctx.deployment}`,
          Engine: engine,
          EngineVersion: CACHE_ENGINE_VERSIONS[engine],
          CacheNodeType: nodeType,
          NumCacheClusters: ctx.config.cache.replicas + 1,
          PreferredCacheClusterAZs: cacheClusterZones(ctx.config, availabilityZones),
          AutomaticFailoverEnabled: true,
          MultiAZEnabled: true,
          Port: PORT,
          CacheSubnetGroupName: subnetGroup,
          SecurityGroupIds: [groupIds.redis],
          AtRestEncryptionEnabled: true,
          // AUTH needs encryption in transit; GitLab then connects with rediss://.
          TransitEncryptionEnabled: true,
          AuthToken: token,
          Tags: ctx.tags(id),
        });
      } catch (err) {
        // A crash between AWS accepting the create and our record: the group is ours, adopt it.
        if (errorCode(err) !== 'ReplicationGroupAlreadyExists') throw err;
      }
    }
    await ctx.record({ type: REPLICATION_GROUP, id, name: id });
    const ready = await available(ctx, ec, id);
    const nodeGroup = ready.NodeGroups?.[0];
    const view = (e: { Address?: string; Port?: number } | undefined) => ({ address: e?.Address ?? '', port: e?.Port ?? PORT });
    return {
      replicationGroupId: id,
      engine,
      engineVersion: CACHE_ENGINE_VERSIONS[engine],
      primaryEndpoint: view(nodeGroup?.PrimaryEndpoint),
      readerEndpoint: view(nodeGroup?.ReaderEndpoint),
      authTokenParameter,
    };
  },

  async verify(ctx, outputs) {
    const ec = await ctx.aws.elasticache();
    const group = await replicationGroup(ec, outputs.replicationGroupId);
    return group?.Status === 'available' && (await subnetGroupSeen(ec, guideNames(ctx.deployment).cacheSubnetGroup)) !== undefined;
  },

  async discover(ctx) {
    const ec = await ctx.aws.elasticache();
    const names = guideNames(ctx.deployment);
    // The guide's names, and whatever the tag index lists for this step (it may lag a create,
    // hence the names too). Names are no proof, the index may be stale: each one's own tags decide.
    const indexed = async (type: 'replicationgroup' | 'subnetgroup') =>
      (await taggedArns(ctx.aws, ctx.deployment, ctx.stepId, `elasticache:${type}`)).map((arn) => arn.split(`:${type}:`)[1]!);
    const groups = [...new Set([names.replicationGroup, ...(await indexed('replicationgroup'))])];
    const subnetGroups = [...new Set([names.cacheSubnetGroup, ...(await indexed('subnetgroup'))])];
    const found: ResourceRef[] = [];
    for (const id of groups) {
      if (belongsTo(asTags(await replicationGroupSeen(ec, id)), ctx.deployment)) found.push({ type: REPLICATION_GROUP, id, name: id });
    }
    for (const name of subnetGroups) {
      if (belongsTo(asTags(await subnetGroupSeen(ec, name)), ctx.deployment)) found.push({ type: SUBNET_GROUP, id: name, name });
    }
    return found;
  },

  async destroy(ctx, resources) {
    const ec = await ctx.aws.elasticache();
    const owner = ownership(ctx);
    // The replication group first: its subnet group is in use until the group is gone.
    await ctx.each(
      resources.filter((r) => r.type === REPLICATION_GROUP),
      async (ref) => {
        if (!(await owner.ours(ref, () => replicationGroupSeen(ec, ref.id)))) return;
        // AWS refuses to delete a group still creating (InvalidReplicationGroupState).
        const group = await replicationGroup(ec, ref.id);
        if (group && group.Status !== 'deleting') {
          if (group.Status !== 'available') await available(ctx, ec, ref.id);
          await unlessNotFound(() => ec.deleteReplicationGroup({ ReplicationGroupId: ref.id }));
        }
        await gone(ctx, ec, ref.id);
        await ctx.forget(ref);
      },
    );
    for (const ref of resources.filter((r) => r.type === SUBNET_GROUP)) {
      if (!(await owner.ours(ref, () => subnetGroupSeen(ec, ref.id)))) continue;
      await refuseWhileOthersUse(ec, ref.id);
      await ctx.retry(
        `cache subnet group ${ref.id} to be free`,
        ['dependency'],
        paceFor(AWS_MINUTES.elasticacheRedis.delete).timeoutMs,
        () => unlessNotFound(() => ec.deleteCacheSubnetGroup({ CacheSubnetGroupName: ref.id })),
      );
      await ctx.forget(ref);
    }
    return owner.result();
  },
});

/**
 * Ours are gone by now, so whatever cache still stands on the subnet group is someone else's and
 * will not go by waiting: say so at once rather than retry for an hour.
 */
async function refuseWhileOthersUse(ec: ElastiCache, subnetGroup: string): Promise<void> {
  const users: string[] = [];
  let Marker: string | undefined;
  do {
    const page = await ec.describeCacheClusters({ ...(Marker ? { Marker } : {}) });
    for (const c of page.CacheClusters ?? []) {
      if (c.CacheSubnetGroupName === subnetGroup && c.CacheClusterStatus !== 'deleting') users.push(c.CacheClusterId!);
    }
    Marker = page.Marker;
  } while (Marker);
  if (users.length) {
    throw new Error(
      `cache subnet group ${subnetGroup} is in use by ${users.join(', ')}, which this deployment does not own; delete them or move them to another subnet group, then run teardown again`,
    );
  }
}

function asTags(seen: Seen): ReadonlyArray<{ Key?: string; Value?: string }> | undefined {
  return seen === undefined || 'foreign' in seen ? undefined : seen;
}
