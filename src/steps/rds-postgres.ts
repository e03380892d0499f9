import { z } from 'zod';
import type { DBInstance, RDS } from '@aws-sdk/client-rds';
import type { SSM } from '@aws-sdk/client-ssm';
import { AWS_MINUTES } from '../aws/durations.js';
import { errorCode, isKind, unlessNotFound } from '../aws/errors.js';
import { paceFor } from '../aws/poll.js';
import { belongsTo } from '../aws/tags.js';
import { defineStep, type ResourceRef, type StepContext } from '../engine/step.js';
import { patience } from './ec2-common.js';
import { guideNames } from './names.js';
import { ownership, type Seen } from './ownership.js';
import { secrets } from './secrets.js';
import { securityGroups } from './security-groups.js';
import { subnets } from './subnets.js';

export const DB_SUBNET_GROUP = 'AWS::RDS::DBSubnetGroup';
export const DB_INSTANCE = 'AWS::RDS::DBInstance';

/** The guide's database, its master user and port. */
export const DATABASE = { name: 'gitlabhq_production', user: 'gitlab', port: 5432 } as const;
/** What GitLab needs of the parameter group (gitlab-omnibus.md): identifiers unquoted, read committed. */
const GITLAB_PARAMETERS: Record<string, (value: string | undefined) => boolean> = {
  quote_all_identifiers: (v) => v === undefined || ['0', 'off', 'false'].includes(v.toLowerCase()),
  default_transaction_isolation: (v) => v === undefined || v.toLowerCase() === 'read committed',
};

const CREATE_PACE = paceFor(AWS_MINUTES.rdsPostgres.create);
const DELETE_PACE = paceFor(AWS_MINUTES.rdsPostgres.delete);

/**
 * The final snapshot teardown keeps: named after the instance and when it was created, so a
 * resumed teardown names the same one and a later deployment of the same name another.
 */
export function finalSnapshotName(instanceId: string, createdAt: Date): string {
  const stamp = createdAt.toISOString().replace(/[-:]/g, '').slice(0, 13).replace('T', '-');
  return `${instanceId}-final-${stamp}`;
}

/** The final snapshots AWS holds of the instance `instanceId` (what a teardown keeps). */
export async function finalSnapshots(rds: RDS, instanceId: string): Promise<string[]> {
  const found = (await rds.describeDBSnapshots({ DBInstanceIdentifier: instanceId })).DBSnapshots ?? [];
  return found.map((s) => s.DBSnapshotIdentifier!).filter((id) => id.startsWith(`${instanceId}-final-`));
}

/** The newest version RDS offers in the region for a major (17), or the exact one asked (17.4). */
export async function engineVersion(rds: RDS, wanted: string): Promise<string> {
  const offered: string[] = [];
  let Marker: string | undefined;
  do {
    const page = await rds.describeDBEngineVersions({ Engine: 'postgres', ...(Marker ? { Marker } : {}) });
    offered.push(...(page.DBEngineVersions ?? []).map((v) => v.EngineVersion!));
    Marker = page.Marker;
  } while (Marker);
  const exact = wanted.includes('.');
  const matching = offered.filter((v) => (exact ? v === wanted : v.split('.')[0] === wanted));
  const byNumber = (a: string, b: string) => {
    const [am, an] = a.split('.').map(Number);
    const [bm, bn] = b.split('.').map(Number);
    return am! - bm! || (an ?? 0) - (bn ?? 0);
  };
  const newest = matching.sort(byNumber).at(-1);
  if (!newest) {
    throw new Error(
      `RDS offers no PostgreSQL ${wanted} in this region (it offers ${offered.join(', ') || 'none'}); set database.engineVersion to one of those and resume`,
    );
  }
  return newest;
}

/** An operator's parameter group must keep what GitLab needs; RDS's default for the engine does. */
export async function checkParameterGroup(rds: RDS, name: string): Promise<void> {
  const values = new Map<string, string | undefined>();
  let Marker: string | undefined;
  do {
    const page = await rds.describeDBParameters({ DBParameterGroupName: name, ...(Marker ? { Marker } : {}) });
    for (const p of page.Parameters ?? []) values.set(p.ParameterName!, p.ParameterValue);
    Marker = page.Marker;
  } while (Marker);
  const wrong = Object.entries(GITLAB_PARAMETERS).filter(([key, fine]) => !fine(values.get(key)));
  if (wrong.length) {
    throw new Error(
      `DB parameter group ${name} sets ${wrong.map(([key]) => `${key}=${values.get(key)}`).join(', ')}, which breaks GitLab; ` +
        'use quote_all_identifiers off and default_transaction_isolation read committed, or leave database.parameterGroup unset',
    );
  }
}

export async function describeInstance(rds: RDS, id: string): Promise<DBInstance | undefined> {
  return (await unlessNotFound(() => rds.describeDBInstances({ DBInstanceIdentifier: id })))?.DBInstances?.[0];
}

export async function subnetGroupTags(rds: RDS, name: string): Promise<Seen> {
  const group = (await unlessNotFound(() => rds.describeDBSubnetGroups({ DBSubnetGroupName: name })))?.DBSubnetGroups?.[0];
  if (!group) return undefined;
  return (await unlessNotFound(() => rds.listTagsForResource({ ResourceName: group.DBSubnetGroupArn! })))?.TagList ?? undefined;
}

function refuseForeign(ctx: StepContext, what: string, tags: Seen): void {
  if (tags !== undefined && !('foreign' in tags) && !belongsTo(tags, ctx.deployment)) {
    throw new Error(`${what} exists and does not belong to deployment '${ctx.deployment}'; remove it or choose another --deployment`);
  }
}

/** Guide: "RDS Subnet Group": the two private subnets, so the database is never on the internet. */
async function ensureSubnetGroup(ctx: StepContext, rds: RDS, privateSubnetIds: readonly string[]): Promise<string> {
  const name = guideNames(ctx.deployment).dbSubnetGroup;
  const tags = await subnetGroupTags(rds, name);
  refuseForeign(ctx, `DB subnet group ${name}`, tags);
  if (tags === undefined) {
    try {
      await rds.createDBSubnetGroup({
        DBSubnetGroupName: name,
        DBSubnetGroupDescription: `GitLab's database subnets (deployment ${ctx.deployment})`,
        SubnetIds: [...privateSubnetIds],
        Tags: ctx.tags(name),
      });
    } catch (err) {
      if (errorCode(err) !== 'DBSubnetGroupAlreadyExistsFault') throw err;
      refuseForeign(ctx, `DB subnet group ${name}`, await subnetGroupTags(rds, name));
    }
  }
  await ctx.record({ type: DB_SUBNET_GROUP, id: name, name });
  return name;
}

/** The master password, read from SSM and declared a secret before it goes anywhere. */
async function masterPassword(ctx: StepContext, ssm: SSM, parameter: string): Promise<string> {
  const value = (await ssm.getParameter({ Name: parameter, WithDecryption: true })).Parameter?.Value;
  if (!value) throw new Error(`SSM parameter ${parameter} holds no database password; resume to let the secrets step make it`);
  ctx.secret(value);
  return value;
}

async function gone(ctx: StepContext, rds: RDS, id: string): Promise<void> {
  await ctx.poll(`RDS instance ${id} to be deleted`, DELETE_PACE, async () => {
    const seen = await describeInstance(rds, id);
    return seen ? { done: false, seen: seen.DBInstanceStatus ?? 'unknown' } : { done: true, value: undefined };
  });
}

async function available(ctx: StepContext, rds: RDS, id: string, pace = CREATE_PACE): Promise<DBInstance> {
  return ctx.poll(`RDS instance ${id} to become available`, pace, async () => {
    const seen = await ctx.retry(`RDS instance ${id}`, ['not-found'], patience(0), async () => {
      const found = await describeInstance(rds, id);
      if (!found) throw Object.assign(new Error(`DBInstance ${id} not found.`), { name: 'DBInstanceNotFoundFault' });
      return found;
    });
    const status = seen.DBInstanceStatus ?? 'unknown';
    if (['failed', 'incompatible-parameters', 'incompatible-network', 'storage-full'].includes(status)) {
      throw new Error(`RDS instance ${id} is ${status}; see its events in the RDS console, fix the cause and resume`);
    }
    return status === 'available' ? { done: true, value: seen } : { done: false, seen: status };
  });
}

/**
 * Guide: "PostgreSQL with RDS": a DB subnet group over the private subnets and a Multi-AZ
 * PostgreSQL instance in it behind the RDS security group, with the password from SSM.
 */
export const rdsPostgres = defineStep({
  id: 'rds-postgres',
  title: 'PostgreSQL with RDS',
  needs: [subnets, securityGroups, secrets],
  minutes: AWS_MINUTES.rdsPostgres.create,
  outputs: z.object({
    instanceId: z.string(),
    address: z.string(),
    port: z.number(),
    database: z.string(),
    username: z.string(),
    engineVersion: z.string(),
    subnetGroup: z.string(),
    /** What teardown keeps unless told --skip-final-snapshot. */
    finalSnapshot: z.string(),
  }),
  resources: (config) => {
    const names = guideNames(config.deployment);
    return [
      { type: DB_SUBNET_GROUP, name: names.dbSubnetGroup },
      { type: DB_INSTANCE, name: names.dbInstance },
    ];
  },

  async create(ctx) {
    const rds = await ctx.aws.rds();
    const db = ctx.config.database;
    const id = guideNames(ctx.deployment).dbInstance;
    // Everything that can refuse the answers is asked before anything of this step is made.
    const version = await engineVersion(rds, db.engineVersion);
    if (db.parameterGroup) await checkParameterGroup(rds, db.parameterGroup);
    const subnetGroup = await ensureSubnetGroup(ctx, rds, ctx.output('subnets').privateSubnetIds);

    let instance = await describeInstance(rds, id);
    refuseForeign(ctx, `RDS instance ${id}`, instance?.TagList);
    if (instance?.DBInstanceStatus === 'deleting') {
      // A teardown that stopped midway: the name is free again only once it is gone.
      await gone(ctx, rds, id);
      instance = undefined;
    }
    if (!instance) {
      const password = await masterPassword(ctx, await ctx.aws.ssm(), ctx.output('secrets').parameters['database-password']);
      try {
        await rds.createDBInstance({
          DBInstanceIdentifier: id,
          Engine: 'postgres',
          EngineVersion: version,
          DBInstanceClass: db.instanceClass,
          StorageType: db.storageType,
          AllocatedStorage: db.allocatedStorage,
          ...(db.iops !== undefined ? { Iops: db.iops } : {}),
          MultiAZ: true,
          DBName: DATABASE.name,
          MasterUsername: DATABASE.user,
          MasterUserPassword: password,
          Port: DATABASE.port,
          PubliclyAccessible: false,
          DBSubnetGroupName: subnetGroup,
          VpcSecurityGroupIds: [ctx.output('security-groups').groupIds.rds],
          ...(db.parameterGroup ? { DBParameterGroupName: db.parameterGroup } : {}),
          AutoMinorVersionUpgrade: false,
          StorageEncrypted: true,
          BackupRetentionPeriod: 7,
          DeletionProtection: true,
          Tags: ctx.tags(id),
        });
      } catch (err) {
        // Made by an earlier attempt whose answer was lost: adopted below once its tags say ours.
        if (errorCode(err) !== 'DBInstanceAlreadyExistsFault') throw err;
        refuseForeign(ctx, `RDS instance ${id}`, (await describeInstance(rds, id))?.TagList);
      }
    }
    await ctx.record({ type: DB_INSTANCE, id, name: id });
    const ready = await available(ctx, rds, id);
    return {
      instanceId: id,
      address: ready.Endpoint?.Address ?? '',
      port: ready.Endpoint?.Port ?? DATABASE.port,
      database: DATABASE.name,
      username: DATABASE.user,
      engineVersion: ready.EngineVersion ?? version,
      subnetGroup,
      finalSnapshot: finalSnapshotName(id, ready.InstanceCreateTime!),
    };
  },

  async verify(ctx, outputs) {
    const found = await describeInstance(await ctx.aws.rds(), outputs.instanceId);
    return found?.DBInstanceStatus === 'available' && belongsTo(found.TagList, ctx.deployment);
  },

  async discover(ctx) {
    const rds = await ctx.aws.rds();
    const names = guideNames(ctx.deployment);
    const found: ResourceRef[] = [];
    const group = await subnetGroupTags(rds, names.dbSubnetGroup);
    if (group && !('foreign' in group) && belongsTo(group, ctx.deployment)) {
      found.push({ type: DB_SUBNET_GROUP, id: names.dbSubnetGroup, name: names.dbSubnetGroup });
    }
    if (belongsTo((await describeInstance(rds, names.dbInstance))?.TagList, ctx.deployment)) {
      found.push({ type: DB_INSTANCE, id: names.dbInstance, name: names.dbInstance });
    }
    return found;
  },

  async destroy(ctx, resources) {
    const rds = await ctx.aws.rds();
    const owner = ownership(ctx);
    // The instance first: its subnet group cannot be deleted while it stands.
    for (const ref of resources.filter((r) => r.type === DB_INSTANCE)) {
      if (!(await owner.ours(ref, async () => (await describeInstance(rds, ref.id))?.TagList ?? undefined))) continue;
      let instance = (await describeInstance(rds, ref.id))!;
      if (instance.DBInstanceStatus !== 'deleting') {
        // A create that was interrupted: RDS neither modifies nor snapshots an instance until it is available.
        if (instance.DBInstanceStatus !== 'available') instance = await available(ctx, rds, ref.id);
        if (instance.DeletionProtection) {
          await rds.modifyDBInstance({ DBInstanceIdentifier: ref.id, DeletionProtection: false, ApplyImmediately: true });
        }
        const snapshot = ctx.teardown.skipFinalSnapshot ? undefined : finalSnapshotName(ref.id, instance.InstanceCreateTime!);
        ctx.progress(
          snapshot
            ? `deleting RDS instance ${ref.id}, keeping its final snapshot ${snapshot}`
            : `deleting RDS instance ${ref.id} without a final snapshot`,
        );
        try {
          await rds.deleteDBInstance({
            DBInstanceIdentifier: ref.id,
            DeleteAutomatedBackups: true,
            ...(snapshot ? { FinalDBSnapshotIdentifier: snapshot } : { SkipFinalSnapshot: true }),
          });
        } catch (err) {
          // Another attempt's delete went through first: it is deleting already.
          if (!isKind(err, 'not-found') && (await describeInstance(rds, ref.id))?.DBInstanceStatus !== 'deleting') throw err;
        }
      }
      await gone(ctx, rds, ref.id);
      await ctx.forget(ref);
    }
    for (const ref of resources.filter((r) => r.type === DB_SUBNET_GROUP)) {
      if (!(await owner.ours(ref, () => subnetGroupTags(rds, ref.id)))) continue;
      await ctx.retry(
        `DB subnet group ${ref.id} to be free`,
        (err) => errorCode(err) === 'InvalidDBSubnetGroupStateFault',
        patience(AWS_MINUTES.rdsPostgres.delete),
        () => unlessNotFound(() => rds.deleteDBSubnetGroup({ DBSubnetGroupName: ref.id })),
      );
      await ctx.forget(ref);
    }
    return owner.result();
  },
});
