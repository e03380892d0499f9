import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ElastiCache } from '@aws-sdk/client-elasticache';
import { createAwsSession } from '../src/aws/clients.js';
import { paceFor, poll } from '../src/aws/poll.js';
import { instantClock, runCli, sandboxInventory, statusJson } from './helpers.js';
import { heldAndPlanned, planFor } from './plan-helpers.js';
import { failure, sandboxFixtures } from './sandbox-fixtures.js';

/**
 * The guide's "Redis with ElastiCache", checked as an operator would read it with the AWS CLI:
 * the cache subnet group, the replication group's mode, engine, nodes and their zones,
 * encryption and AUTH; the AUTH token never written anywhere but SSM; a teardown to nothing.
 */
const REGION = 'us-west-2';
const { stateDir, keep } = sandboxFixtures('gitlab-aws-cache-');
const cli = (dir: string, ...args: string[]) => runCli([...args, '--sandbox', '--yes', '--state-dir', dir]);

async function look(dir: string) {
  const session = keep(await createAwsSession({ region: REGION, sandbox: { stateDir: dir } }));
  return { session, ec: await session.elasticache(), ec2: await session.ec2(), ssm: await session.ssm() };
}

async function cacheAsSeen(ec: ElastiCache, id: string) {
  const group = (await ec.describeReplicationGroups({ ReplicationGroupId: id })).ReplicationGroups![0]!;
  const clusters = (await ec.describeCacheClusters({})).CacheClusters!.filter((c) => c.ReplicationGroupId === id);
  return { group, clusters };
}

/** What the CLI wrote in `dir`: the state file, its backup, the log; not the sandbox's AWS (which is SSM's side). */
async function ourFiles(dir: string): Promise<string> {
  const texts: string[] = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && entry.name !== 'sandbox-world.json') texts.push(await readFile(join(entry.parentPath, entry.name), 'utf8'));
  }
  return texts.join('\n');
}

describe('Redis with ElastiCache', () => {
  it('builds the guide cache: Valkey 7.2, cluster mode off, a primary and a replica in two zones, encrypted, AUTH from SSM', async () => {
    const dir = await stateDir();
    const plan = await planFor(dir);
    const run = await cli(dir, 'install', '--verbose');
    expect(run.code, run.stderr).toBe(0);
    const { held, planned } = await heldAndPlanned(dir, plan);
    expect(held).toEqual(planned);
    expect(planned).toEqual(
      expect.arrayContaining([
        'elasticache AWS::ElastiCache::SubnetGroup gitlab-redis-group',
        'elasticache AWS::ElastiCache::ReplicationGroup gitlab-redis',
      ]),
    );

    const { ec, ec2, ssm } = await look(dir);
    const mine = [{ Name: 'tag:gitlab-aws:deployment', Values: ['gitlab'] }];
    const subnets = (await ec2.describeSubnets({ Filters: mine })).Subnets!;
    const privateSubnets = subnets.filter((s) => s.Tags?.some((t) => t.Key === 'Name' && t.Value!.startsWith('gitlab-private-')));
    const subnetGroup = (await ec.describeCacheSubnetGroups({ CacheSubnetGroupName: 'gitlab-redis-group' })).CacheSubnetGroups![0]!;
    expect(subnetGroup.Subnets!.map((s) => s.SubnetIdentifier).sort()).toEqual(privateSubnets.map((s) => s.SubnetId).sort());
    const redisGroup = (
      await ec2.describeSecurityGroups({ Filters: [...mine, { Name: 'group-name', Values: ['gitlab-redis-sec-group'] }] })
    ).SecurityGroups![0]!;

    const { group, clusters } = await cacheAsSeen(ec, 'gitlab-redis');
    expect(group).toMatchObject({
      Status: 'available',
      ClusterEnabled: false,
      Engine: 'valkey',
      CacheNodeType: 'cache.t3.medium',
      AutomaticFailover: 'enabled',
      MultiAZ: 'enabled',
      AtRestEncryptionEnabled: true,
      TransitEncryptionEnabled: true,
      AuthTokenEnabled: true,
    });
    const members = group.NodeGroups![0]!.NodeGroupMembers!;
    expect(members.map((m) => m.CurrentRole)).toEqual(['primary', 'replica']);
    // One node in each private subnet's zone: losing a zone leaves a node to fail over to.
    expect(members.map((m) => m.PreferredAvailabilityZone).sort()).toEqual(privateSubnets.map((s) => s.AvailabilityZone).sort());
    expect(group.NodeGroups![0]!.PrimaryEndpoint!.Port).toBe(6379);
    expect(clusters).toHaveLength(2);
    for (const cluster of clusters) {
      expect(cluster).toMatchObject({ EngineVersion: '7.2', CacheSubnetGroupName: 'gitlab-redis-group' });
      expect(cluster.SecurityGroups!.map((g) => g.SecurityGroupId)).toEqual([redisGroup.GroupId]);
    }

    // The AUTH token lives in SSM only: not in the state file, the log, or the verbose output.
    const token = (await ssm.getParameter({ Name: '/gitlab-aws/gitlab/redis-auth-token', WithDecryption: true })).Parameter!.Value!;
    expect(token.length).toBeGreaterThanOrEqual(16);
    const files = await ourFiles(dir);
    expect(files).toContain('gitlab-redis');
    expect(files).not.toContain(token);
    expect(run.stdout + run.stderr).not.toContain(token);
    // The awaited state is in the progress line while the cache is created.
    expect(run.stdout).toContain('waiting for replication group gitlab-redis to become available: creating');

    const down = await cli(dir, 'teardown', '--delete-data');
    expect(down.code, down.stderr).toBe(0);
    expect(await sandboxInventory(dir)).toEqual([]);
  });

  it('takes Redis OSS 7.1, another node type and more replicas as answers, spreading the nodes over both zones', async () => {
    const dir = await stateDir();
    const args = ['--cache-engine', 'redis', '--cache-node-type', 'cache.r7g.large', '--cache-replicas', '2'];
    const plan = await planFor(dir, args);
    const run = await cli(dir, 'install', ...args);
    expect(run.code, run.stderr).toBe(0);
    const { held, planned } = await heldAndPlanned(dir, plan);
    expect(held).toEqual(planned);
    const { ec } = await look(dir);
    const { group, clusters } = await cacheAsSeen(ec, 'gitlab-redis');
    expect(group).toMatchObject({ Engine: 'redis', CacheNodeType: 'cache.r7g.large', MultiAZ: 'enabled' });
    const zones = group.NodeGroups![0]!.NodeGroupMembers!.map((m) => m.PreferredAvailabilityZone);
    expect(zones).toHaveLength(3);
    expect(new Set(zones).size).toBe(2);
    expect(clusters.map((c) => c.EngineVersion)).toEqual(['7.1', '7.1', '7.1']);
    // The installed answers stay: the same again is a resume, another count is refused by name.
    expect((await cli(dir, 'install', ...args)).code).toBe(0);
    const changed = await cli(dir, 'install', '--cache-replicas', '3');
    expect(changed.code).toBe(2);
    expect(changed.stderr).toMatch(/^error: cache\.replicas is 2 in the installed deployment 'gitlab', not 3/);
  });

  it('refuses, as ElastiCache does, an AUTH token without encryption in transit and Multi-AZ without failover', async () => {
    const dir = await stateDir();
    const run = await cli(dir, 'install');
    expect(run.code, run.stderr).toBe(0);
    const { ec } = await look(dir);
    const base = {
      ReplicationGroupId: 'someone-else',
      ReplicationGroupDescription: 'x',
      Engine: 'valkey',
      EngineVersion: '7.2',
      CacheNodeType: 'cache.t3.medium',
      CacheSubnetGroupName: 'gitlab-redis-group',
      NumCacheClusters: 2,
    };
    const noTransit = await failure(ec.createReplicationGroup({ ...base, AuthToken: 'a-long-enough-token-1234' }));
    expect(noTransit.name).toBe('InvalidParameterCombination');
    const badToken = await failure(
      ec.createReplicationGroup({ ...base, TransitEncryptionEnabled: true, AuthToken: 'has/slash-and-is-long' }),
    );
    expect(badToken.name).toBe('InvalidParameterValue');
    const multiAz = await failure(ec.createReplicationGroup({ ...base, MultiAZEnabled: true }));
    expect(multiAz.name).toBe('InvalidParameterCombination');
    // The subnet group cannot go while the cache stands on it.
    const inUse = await failure(ec.deleteCacheSubnetGroup({ CacheSubnetGroupName: 'gitlab-redis-group' }));
    expect(inUse.name).toBe('CacheSubnetGroupInUse');
  });
});

/** The engine's events of a --json run, in order. */
function events(stdout: string) {
  return stdout
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { type: string; step?: string; message?: string });
}

describe('the cache among the other steps: timing, recovery, ownership', () => {
  it('starts alongside the NAT gateways, and a replication group deleted by hand is re-created by the next install', async () => {
    const dir = await stateDir();
    const plan = await planFor(dir);
    const first = await cli(dir, 'install', '--json');
    expect(first.code, first.stderr).toBe(0);
    const seen = events(first.stdout);
    const at = (type: string, step: string) => seen.findIndex((e) => e.type === type && e.step === step);
    // It needs only the subnets, the security groups and the secrets: no waiting for the NAT gateways.
    expect(at('step-started', 'elasticache')).toBeGreaterThan(-1);
    expect(at('step-started', 'elasticache')).toBeLessThan(at('step-finished', 'nat-gateways'));
    // A handful of looks for a twelve-minute create, not one every 30 s.
    const looks = seen.filter((e) => e.step === 'elasticache' && e.message?.startsWith('waiting for replication group')).length;
    expect(looks).toBeGreaterThan(0);
    expect(looks).toBeLessThanOrEqual(6);

    const { ec } = await look(dir);
    await ec.deleteReplicationGroup({ ReplicationGroupId: 'gitlab-redis' });
    const again = await cli(dir, 'install', '--json');
    expect(again.code, again.stderr).toBe(0);
    // It waited for AWS to finish deleting the old one (the name is taken until then), then made a new one.
    expect(
      events(again.stdout).some((e) => e.message === 'replication group gitlab-redis is still being deleted; waiting to create it again'),
    ).toBe(true);
    // A fresh look: a session's clock stands where it was opened, and the install moved AWS on since.
    const { group } = await cacheAsSeen((await look(dir)).ec, 'gitlab-redis');
    expect(group.Status).toBe('available');
    const { held, planned } = await heldAndPlanned(dir, plan);
    expect(held).toEqual(planned);
  });

  it('never adopts a replication group another deployment holds, and discovery lists only ours', async () => {
    const dir = await stateDir();
    expect((await cli(dir, 'install')).code).toBe(0);
    const listed = (run: { stdout: string }) =>
      statusJson(run.stdout)
        .resources.filter((r) => r.step === 'elasticache')
        .map((r) => `${r.type} ${r.id}`)
        .sort();
    expect(listed(await cli(dir, 'status', '--discover', '--json'))).toEqual([
      'AWS::ElastiCache::ReplicationGroup gitlab-redis',
      'AWS::ElastiCache::SubnetGroup gitlab-redis-group',
    ]);

    const { ec, session } = await look(dir);
    const { group } = await cacheAsSeen(ec, 'gitlab-redis');
    // The Resource Groups Tagging API indexes both, by their ElastiCache ARNs.
    const index = await (
      await session.tagging()
    ).getResources({
      TagFilters: [{ Key: 'gitlab-aws:deployment', Values: ['gitlab'] }],
      ResourceTypeFilters: ['elasticache'],
    });
    expect(index.ResourceTagMappingList!.map((r) => r.ResourceARN).sort()).toEqual([
      group.ARN,
      `arn:aws:elasticache:${REGION}:123456789012:subnetgroup:gitlab-redis-group`,
    ]);
    await ec.addTagsToResource({ ResourceName: group.ARN, Tags: [{ Key: 'gitlab-aws:deployment', Value: 'other' }] });
    expect(listed(await cli(dir, 'status', '--discover', '--json'))).toEqual(['AWS::ElastiCache::SubnetGroup gitlab-redis-group']);

    // Without the state file, an install meets the name taken: it stops, naming it, and makes no second group.
    await rm(join(dir, 'gitlab.json'));
    const run = await cli(dir, 'install');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("ElastiCache replication group gitlab-redis exists and does not belong to deployment 'gitlab'");
    expect((await ec.describeReplicationGroups({})).ReplicationGroups).toHaveLength(1);
  });
});

describe('a cache that is not ours on our subnet group', () => {
  it('is left alone by teardown, which stops at once naming it instead of waiting for the group to free', async () => {
    const dir = await stateDir();
    expect((await cli(dir, 'install')).code).toBe(0);
    const { ec } = await look(dir);
    const { group } = await cacheAsSeen(ec, 'gitlab-redis');
    await ec.addTagsToResource({ ResourceName: group.ARN, Tags: [{ Key: 'gitlab-aws:deployment', Value: 'other' }] });
    const run = await cli(dir, 'teardown', '--json');
    expect(run.code).not.toBe(0);
    expect(run.stdout).toContain('leaving AWS::ElastiCache::ReplicationGroup gitlab-redis alone: tagged gitlab-aws:deployment=other');
    expect(run.stdout + run.stderr).toContain(
      'cache subnet group gitlab-redis-group is in use by gitlab-redis-001, gitlab-redis-002, which this deployment does not own',
    );
    // Not an hour of CacheSubnetGroupInUse: one look at who uses it.
    expect(run.stdout).not.toContain('to be free');
    expect((await cacheAsSeen((await look(dir)).ec, 'gitlab-redis')).group.Status).toBe('available');
  });
});

describe('the pace of waiting', () => {
  /** The minutes at which poll() looks, at `paceFor(minutes)`, at a resource ready after `minutes`. */
  async function looks(minutes: number): Promise<number[]> {
    const clock = instantClock();
    const times: number[] = [];
    await poll({ clock, what: 'the cache', ...paceFor(minutes) }, async () => {
      times.push(clock.now() / 60_000);
      return clock.now() >= minutes * 60_000 ? { done: true, value: undefined } : { done: false, seen: 'creating' };
    });
    return times;
  }

  it('looks at a twelve-minute cache five times, the first after six minutes, and gives up after two hours', async () => {
    expect(await looks(12)).toEqual([0, 6, 8, 10, 12]);
    expect(paceFor(12).timeoutMs).toBe(120 * 60_000);
    // A quick resource is still looked at often enough not to keep the operator waiting.
    expect(paceFor(0.05)).toMatchObject({ delayMs: 5_000, maxDelayMs: 30_000, timeoutMs: 5 * 60_000 });
  });
});

describe('bad cache answers', () => {
  /** The install is refused with one line and exit 2, and the state directory stays empty. */
  async function refused(args: string[], file?: unknown) {
    const dir = await stateDir();
    if (file) await writeFile(join(dir, 'answers.json'), JSON.stringify(file));
    const before = await readdir(dir);
    const run = await cli(dir, 'install', ...(file ? ['--config', join(dir, 'answers.json')] : []), ...args);
    expect(run.code, run.stderr).toBe(2);
    expect(await readdir(dir)).toEqual(before);
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    return lines[0]!;
  }

  it('a replica count outside 1..5, from a flag or the config file', async () => {
    expect(await refused(['--cache-replicas', '0'])).toMatch(
      /^error: cache\.replicas 0 is out of range.*\(fix: set cache\.replicas between 1 and 5/,
    );
    expect(await refused(['--cache-replicas', '6'])).toMatch(/^error: cache\.replicas 6 is out of range/);
    expect(await refused(['--cache-replicas', 'two'])).toMatch(/^error: --cache-replicas 'two' is not a whole number \(fix: give a count/);
    expect(await refused([], { cache: { replicas: 2.5 } })).toMatch(/^error: cache\.replicas 2\.5 is out of range/);
  });

  it('an engine other than valkey or redis, and a node type ElastiCache does not name so', async () => {
    expect(await refused(['--cache-engine', 'memcached'])).toMatch(/^error: cache\.engine 'memcached'.*\(fix: use 'valkey'/);
    expect(await refused([], { cache: { nodeType: 't3.medium' } })).toMatch(
      /^error: cache\.nodeType 't3\.medium' is not an ElastiCache node type/,
    );
  });
});
