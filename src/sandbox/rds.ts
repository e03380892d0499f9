import { createHash } from 'node:crypto';
import type { DBInstance, DBSnapshot, DBSubnetGroup, RDS } from '@aws-sdk/client-rds';
import { AWS_MINUTES, MINUTE } from '../aws/durations.js';
import { RDS_POSTGRES_CLASS, rdsStorageProblem } from '../aws/rds-limits.js';
import { TAG_NAME } from '../aws/tags.js';
import {
  awsError,
  sandboxResource,
  tagList,
  tagsFromList,
  type Latency,
  type OperationContext,
  type SandboxService,
  type SdkOperations,
} from './core.js';
import { byId, zonesOf } from './ec2.js';
import { placeEni, releaseEnis } from './network-interfaces.js';

/** RDS's part of the account, each kind keyed by `${region}:${identifier}` (identifiers are lowercase). */
export interface RdsWorld {
  subnetGroups: Record<string, RdsSubnetGroup>;
  instances: Record<string, RdsInstance>;
  snapshots: Record<string, RdsSnapshot>;
  /** Parameter groups an operator made; each engine's default.postgresNN exists without being made. */
  parameterGroups?: Record<string, RdsParameterGroup>;
}

export interface RdsParameterGroup {
  name: string;
  region: string;
  arn: string;
  family: string;
  description: string;
  parameters: Record<string, string>;
  tags: Record<string, string>;
}

export interface RdsSubnetGroup {
  name: string;
  region: string;
  arn: string;
  description: string;
  vpcId: string;
  subnets: Array<{ id: string; availabilityZone: string }>;
  tags: Record<string, string>;
}

export interface RdsInstance {
  id: string;
  region: string;
  arn: string;
  resourceId: string;
  instanceClass: string;
  engineVersion: string;
  storageType: string;
  allocatedStorage: number;
  iops?: number;
  multiAz: boolean;
  dbName?: string;
  masterUsername: string;
  port: number;
  publiclyAccessible: boolean;
  securityGroupIds: string[];
  subnetGroup: string;
  parameterGroup: string;
  autoMinorVersionUpgrade: boolean;
  storageEncrypted: boolean;
  backupRetentionPeriod: number;
  deletionProtection: boolean;
  availabilityZone: string;
  secondaryAvailabilityZone?: string;
  createdAt: number;
  /** When the first backup is done: `creating` until most of the way, then `backing-up`. */
  availableAt: number;
  /** Set by DeleteDBInstance: `deleting` until then, gone after. */
  goneAt?: number;
  tags: Record<string, string>;
}

export interface RdsSnapshot {
  id: string;
  region: string;
  arn: string;
  instanceId: string;
  engineVersion: string;
  allocatedStorage: number;
  createdAt: number;
  availableAt: number;
  tags: Record<string, string>;
}

/** What RDS for PostgreSQL offers in every sandbox region, oldest first (as AWS lists them). */
/** The sizes AWS makes of an RDS family: db.m5.64xlarge matches the pattern and exists nowhere. */
const DB_SIZES = ['micro', 'small', 'medium', 'large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge', '24xlarge'];

function orderable(instanceClass: string): boolean {
  return RDS_POSTGRES_CLASS.test(instanceClass) && DB_SIZES.includes(instanceClass.split('.')[2] ?? '');
}

export const POSTGRES_VERSIONS = ['15.10', '15.12', '16.6', '16.8', '16.9', '17.2', '17.4', '17.5'];
const family = (version: string) => `postgres${version.split('.')[0]}`;
/** What the engine's default parameter group sets that GitLab cares about (both engine defaults). */
const DEFAULT_PARAMETERS: Record<string, string> = {
  quote_all_identifiers: '0',
  default_transaction_isolation: 'read committed',
};

/** The parameters of a group by name: a default one's engine defaults, or an operator's over them. */
function parametersOf(ctx: OperationContext, name: string): { family: string; parameters: Record<string, string> } {
  const made = ctx.world.rds.parameterGroups?.[k(ctx, name)];
  if (made) return { family: made.family, parameters: { ...DEFAULT_PARAMETERS, ...made.parameters } };
  const family = /^default\.(postgres\d+)$/.exec(name)?.[1];
  if (!family || !POSTGRES_VERSIONS.some((v) => `postgres${v.split('.')[0]}` === family)) {
    throw fault('DBParameterGroupNotFoundFault', `DBParameterGroup not found: ${name}`, 404);
  }
  return { family, parameters: { ...DEFAULT_PARAMETERS } };
}

const fault = (code: string, message: string, status = 400) => awsError(code, message, status);
const k = (ctx: OperationContext, id: string) => `${ctx.region}:${id.toLowerCase()}`;
const arnOf = (ctx: OperationContext, kind: 'db' | 'subgrp' | 'snapshot', id: string) =>
  `arn:aws:rds:${ctx.region}:${ctx.world.accountId}:${kind}:${id}`;

/** RDS identifiers: 1-63 letters, digits or hyphens, starting with a letter, no `--`, no trailing `-`. */
function identifier(value: string | undefined, what: string): string {
  if (!value || !/^[a-zA-Z][a-zA-Z0-9-]{0,62}$/.test(value) || value.includes('--') || value.endsWith('-')) {
    throw fault(
      'InvalidParameterValue',
      `The parameter ${what} is not a valid identifier. Identifiers must begin with a letter; must contain only ASCII letters, digits, and hyphens; and must not end with a hyphen or contain two consecutive hyphens.`,
    );
  }
  return value.toLowerCase();
}

/** Instances as AWS still lists them: a deleted one only until its deletion finished. */
function liveInstance(ctx: OperationContext, id: string | undefined): RdsInstance | undefined {
  const found = id ? ctx.world.rds.instances[k(ctx, id)] : undefined;
  if (found && found.goneAt !== undefined && ctx.now >= found.goneAt) {
    delete ctx.world.rds.instances[k(ctx, found.id)];
    return undefined;
  }
  return found;
}

function instances(ctx: OperationContext): RdsInstance[] {
  return Object.values(ctx.world.rds.instances)
    .filter((i) => i.region === ctx.region)
    .flatMap((i) => liveInstance(ctx, i.id) ?? []);
}

function instanceOf(ctx: OperationContext, id: string | undefined): RdsInstance {
  const found = liveInstance(ctx, id);
  if (!found || ctx.lagging(found.arn)) throw fault('DBInstanceNotFoundFault', `DBInstance ${id} not found.`, 404);
  return found;
}

function status(i: RdsInstance, now: number): string {
  if (i.goneAt !== undefined) return 'deleting';
  if (now >= i.availableAt) return 'available';
  // The last stretch of a create is the first automated backup.
  return now >= i.availableAt - 1.5 * MINUTE ? 'backing-up' : 'creating';
}

function subnetGroupOf(ctx: OperationContext, name: string | undefined): RdsSubnetGroup {
  const found = name ? ctx.world.rds.subnetGroups[k(ctx, name)] : undefined;
  if (!found) throw fault('DBSubnetGroupNotFoundFault', `DB subnet group '${name}' does not exist.`, 404);
  return found;
}

function subnetGroupView(g: RdsSubnetGroup): DBSubnetGroup {
  return {
    DBSubnetGroupName: g.name,
    DBSubnetGroupDescription: g.description,
    VpcId: g.vpcId,
    SubnetGroupStatus: 'Complete',
    Subnets: g.subnets.map((s) => ({
      SubnetIdentifier: s.id,
      SubnetAvailabilityZone: { Name: s.availabilityZone },
      SubnetStatus: 'Active',
    })),
    DBSubnetGroupArn: g.arn,
    SupportedNetworkTypes: ['IPV4'],
  };
}

/**
 * <identifier>.<12 characters RDS keeps per account and region>.<region>.rds.amazonaws.com: an
 * instance made again under the same identifier answers on the same name, as on AWS.
 */
function endpointAddress(ctx: OperationContext, i: RdsInstance): string {
  const account = createHash('sha256').update(`${ctx.world.accountId}:${i.region}`).digest('hex').slice(0, 12);
  return `${i.id}.${account}.${i.region}.rds.amazonaws.com`;
}

function instanceView(ctx: OperationContext, i: RdsInstance): DBInstance {
  const state = status(i, ctx.now);
  return {
    DBInstanceIdentifier: i.id,
    DBInstanceClass: i.instanceClass,
    Engine: 'postgres',
    DBInstanceStatus: state,
    MasterUsername: i.masterUsername,
    ...(i.dbName ? { DBName: i.dbName } : {}),
    // RDS gives an endpoint only once the instance can be reached.
    ...(state === 'creating'
      ? {}
      : {
          Endpoint: {
            Address: endpointAddress(ctx, i),
            Port: i.port,
            HostedZoneId: 'Z1PVIF0B656C1W',
          },
        }),
    AllocatedStorage: i.allocatedStorage,
    InstanceCreateTime: new Date(i.createdAt),
    BackupRetentionPeriod: i.backupRetentionPeriod,
    VpcSecurityGroups: i.securityGroupIds.map((id) => ({ VpcSecurityGroupId: id, Status: 'active' })),
    DBParameterGroups: [{ DBParameterGroupName: i.parameterGroup, ParameterApplyStatus: 'in-sync' }],
    AvailabilityZone: i.availabilityZone,
    DBSubnetGroup: subnetGroupView(subnetGroupOf(ctx, i.subnetGroup)),
    MultiAZ: i.multiAz,
    ...(i.secondaryAvailabilityZone ? { SecondaryAvailabilityZone: i.secondaryAvailabilityZone } : {}),
    EngineVersion: i.engineVersion,
    AutoMinorVersionUpgrade: i.autoMinorVersionUpgrade,
    PubliclyAccessible: i.publiclyAccessible,
    StorageType: i.storageType,
    ...(i.iops !== undefined ? { Iops: i.iops } : {}),
    DbInstancePort: 0,
    StorageEncrypted: i.storageEncrypted,
    ...(i.storageEncrypted ? { KmsKeyId: `arn:aws:kms:${i.region}:${ctx.world.accountId}:key/aws-rds` } : {}),
    DbiResourceId: i.resourceId,
    DBInstanceArn: i.arn,
    DeletionProtection: i.deletionProtection,
    TagList: tagList(i.tags),
  };
}

function snapshotView(ctx: OperationContext, s: RdsSnapshot): DBSnapshot {
  return {
    DBSnapshotIdentifier: s.id,
    DBInstanceIdentifier: s.instanceId,
    SnapshotCreateTime: new Date(s.createdAt),
    Engine: 'postgres',
    EngineVersion: s.engineVersion,
    AllocatedStorage: s.allocatedStorage,
    Status: ctx.now >= s.availableAt ? 'available' : 'creating',
    SnapshotType: 'manual',
    Encrypted: true,
    DBSnapshotArn: s.arn,
    TagList: tagList(s.tags),
  };
}

/** The resource an ARN names, for the tag operations. */
function taggable(ctx: OperationContext, arn: string | undefined): { tags: Record<string, string> } {
  const [, , , region, , kind, id] = (arn ?? '').split(':');
  const key = region && id ? `${region}:${id.toLowerCase()}` : '';
  const found =
    region === ctx.region
      ? kind === 'db'
        ? liveInstance(ctx, id)
        : kind === 'subgrp'
          ? ctx.world.rds.subnetGroups[key]
          : kind === 'snapshot'
            ? ctx.world.rds.snapshots[key]
            : undefined
      : undefined;
  if (!found) {
    const code = kind === 'db' ? 'DBInstanceNotFoundFault' : kind === 'subgrp' ? 'DBSubnetGroupNotFoundFault' : 'DBSnapshotNotFoundFault';
    throw fault(code, `The resource ${arn} could not be found.`, 404);
  }
  return found;
}

function combination(message: string): Error {
  return fault('InvalidParameterCombination', message);
}

const operations: SdkOperations<RDS> = {
  CreateDBSubnetGroup(ctx, input) {
    const name = identifier(input.DBSubnetGroupName, 'DBSubnetGroupName');
    if (!input.DBSubnetGroupDescription) throw fault('InvalidParameterValue', 'DBSubnetGroupDescription is required.');
    if (ctx.world.rds.subnetGroups[k(ctx, name)])
      throw fault('DBSubnetGroupAlreadyExistsFault', `The DB subnet group '${name}' already exists.`);
    const subnets = (input.SubnetIds ?? []).map((id) => {
      try {
        return byId(ctx, 'subnet', id);
      } catch {
        throw fault('InvalidSubnet', `Subnet ${id} does not exist.`);
      }
    });
    const vpcs = new Set(subnets.map((s) => s.attrs.vpcId as string));
    if (vpcs.size > 1) throw fault('InvalidSubnet', 'The subnets of a DB subnet group must all be in one VPC.');
    const zones = new Set(subnets.map((s) => s.attrs.availabilityZone as string));
    if (zones.size < 2) {
      throw fault(
        'DBSubnetGroupDoesNotCoverEnoughAZs',
        "The DB subnet group doesn't meet Availability Zone (AZ) coverage requirement. Current AZ coverage: " +
          [...zones].join(', ') +
          '. Add subnets to cover at least 2 AZs.',
      );
    }
    const group: RdsSubnetGroup = {
      name,
      region: ctx.region,
      arn: arnOf(ctx, 'subgrp', name),
      description: input.DBSubnetGroupDescription,
      vpcId: [...vpcs][0]!,
      subnets: subnets.map((s) => ({ id: s.id, availabilityZone: s.attrs.availabilityZone as string })),
      tags: tagsFromList(input.Tags),
    };
    ctx.world.rds.subnetGroups[k(ctx, name)] = group;
    return { DBSubnetGroup: subnetGroupView(group) };
  },

  DescribeDBSubnetGroups(ctx, input) {
    const groups = input.DBSubnetGroupName
      ? [subnetGroupOf(ctx, input.DBSubnetGroupName)]
      : Object.values(ctx.world.rds.subnetGroups).filter((g) => g.region === ctx.region);
    return { DBSubnetGroups: groups.map(subnetGroupView) };
  },

  DeleteDBSubnetGroup(ctx, input) {
    const group = subnetGroupOf(ctx, input.DBSubnetGroupName);
    const user = instances(ctx).find((i) => i.subnetGroup === group.name);
    if (user) {
      throw fault(
        'InvalidDBSubnetGroupStateFault',
        `Cannot delete the subnet group '${group.name}' because at least one database instance: ${user.id} is still using it.`,
      );
    }
    delete ctx.world.rds.subnetGroups[k(ctx, group.name)];
    return {};
  },

  CreateDBInstance(ctx, input) {
    const id = identifier(input.DBInstanceIdentifier, 'DBInstanceIdentifier');
    if (liveInstance(ctx, id)) throw fault('DBInstanceAlreadyExistsFault', 'DB instance already exists');
    if (input.Engine !== 'postgres')
      throw fault('InvalidParameterValue', `The sandbox offers the postgres engine only, not ${input.Engine}.`);
    const engineVersion = input.EngineVersion ?? POSTGRES_VERSIONS.at(-1)!;
    if (!POSTGRES_VERSIONS.includes(engineVersion)) {
      throw combination(`Cannot find version ${engineVersion} for postgres`);
    }
    const instanceClass = input.DBInstanceClass ?? '';
    if (!orderable(instanceClass)) {
      throw combination(
        `RDS does not support creating a DB instance with the following combination: DBInstanceClass=${instanceClass}, Engine=postgres, EngineVersion=${engineVersion}, LicenseModel=postgresql-license.`,
      );
    }
    const storageType = input.StorageType ?? 'gp2';
    const problem = rdsStorageProblem(storageType, input.AllocatedStorage ?? 0, input.Iops);
    if (problem) throw combination(problem);
    const password = input.MasterUserPassword ?? '';
    if (password.length < 8 || password.length > 128 || /[/"@\s]/.test(password)) {
      throw fault(
        'InvalidParameterValue',
        "The parameter MasterUserPassword is not a valid password. Only printable ASCII characters besides '/', '@', '\"', ' ' may be used.",
      );
    }
    if (!input.MasterUsername || !/^[a-zA-Z][a-zA-Z0-9_]{0,62}$/.test(input.MasterUsername)) {
      throw fault('InvalidParameterValue', 'The parameter MasterUsername is not a valid user name.');
    }
    if (input.DBName !== undefined && !/^[a-zA-Z][a-zA-Z0-9_]{0,62}$/.test(input.DBName)) {
      throw fault('InvalidParameterValue', 'The parameter DBName is not a valid identifier.');
    }
    const retention = input.BackupRetentionPeriod ?? 1;
    if (retention < 0 || retention > 35) throw fault('InvalidParameterValue', 'The backup retention period must be between 0 and 35 days.');
    const group = subnetGroupOf(ctx, input.DBSubnetGroupName ?? 'default');
    const zones = [...new Set(group.subnets.map((s) => s.availabilityZone))];
    if (input.MultiAZ && zones.length < 2)
      throw fault('DBSubnetGroupDoesNotCoverEnoughAZs', 'Multi-AZ needs a DB subnet group in at least 2 Availability Zones.');
    const securityGroups = (input.VpcSecurityGroupIds ?? []).map((gid) => {
      try {
        return byId(ctx, 'security-group', gid);
      } catch {
        throw combination(`Invalid security group, groupId= ${gid}, groupName=.`);
      }
    });
    if (securityGroups.some((g) => g.attrs.vpcId !== group.vpcId)) {
      throw combination('The DB instance and EC2 security group are in different VPCs.');
    }
    const parameterGroup = input.DBParameterGroupName ?? `default.${family(engineVersion)}`;
    const groupFamily = parametersOf(ctx, parameterGroup).family;
    if (groupFamily !== family(engineVersion)) {
      throw combination(
        `The parameter group ${parameterGroup} with DBParameterGroupFamily ${groupFamily} can't be used for this instance. Use a parameter group with DBParameterGroupFamily ${family(engineVersion)}.`,
      );
    }
    const resourceId = `db-${ctx.newId('x', 26).slice(2).toUpperCase()}`;
    const instance: RdsInstance = {
      id,
      region: ctx.region,
      arn: arnOf(ctx, 'db', id),
      resourceId,
      instanceClass,
      engineVersion,
      storageType,
      allocatedStorage: input.AllocatedStorage!,
      ...(input.Iops !== undefined ? { iops: input.Iops } : {}),
      multiAz: Boolean(input.MultiAZ),
      ...(input.DBName ? { dbName: input.DBName } : {}),
      masterUsername: input.MasterUsername,
      port: input.Port ?? 5432,
      publiclyAccessible: input.PubliclyAccessible ?? false,
      securityGroupIds: securityGroups.map((g) => g.id),
      subnetGroup: group.name,
      parameterGroup,
      autoMinorVersionUpgrade: input.AutoMinorVersionUpgrade ?? true,
      storageEncrypted: input.StorageEncrypted ?? false,
      backupRetentionPeriod: retention,
      deletionProtection: input.DeletionProtection ?? false,
      availabilityZone: zones[0]!,
      ...(input.MultiAZ ? { secondaryAvailabilityZone: zones[1]! } : {}),
      createdAt: ctx.now,
      availableAt: ctx.now + AWS_MINUTES.rdsPostgres.create * MINUTE,
      tags: tagsFromList(input.Tags),
    };
    ctx.world.rds.instances[k(ctx, id)] = instance;
    ctx.startLag(instance.arn);
    // The primary and, with Multi-AZ, the standby each stand in a subnet of the group.
    for (const zone of input.MultiAZ ? zones.slice(0, 2) : zones.slice(0, 1)) {
      const subnet = byId(ctx, 'subnet', group.subnets.find((s) => s.availabilityZone === zone)!.id);
      placeEni(ctx, {
        subnet,
        ownerId: resourceId,
        interfaceType: 'interface',
        securityGroupIds: instance.securityGroupIds,
        description: 'RDSNetworkInterface',
      });
    }
    return { DBInstance: instanceView(ctx, instance) };
  },

  DescribeDBInstances(ctx, input) {
    const found = input.DBInstanceIdentifier ? [instanceOf(ctx, input.DBInstanceIdentifier)] : instances(ctx);
    return { DBInstances: found.map((i) => instanceView(ctx, i)) };
  },

  ModifyDBInstance(ctx, input) {
    const i = instanceOf(ctx, input.DBInstanceIdentifier);
    if (status(i, ctx.now) !== 'available') throw fault('InvalidDBInstanceStateFault', 'Database instance is not in available state.');
    if (input.DeletionProtection !== undefined) i.deletionProtection = input.DeletionProtection;
    if (input.BackupRetentionPeriod !== undefined) i.backupRetentionPeriod = input.BackupRetentionPeriod;
    if (input.AutoMinorVersionUpgrade !== undefined) i.autoMinorVersionUpgrade = input.AutoMinorVersionUpgrade;
    return { DBInstance: instanceView(ctx, i) };
  },

  DeleteDBInstance(ctx, input) {
    const i = instanceOf(ctx, input.DBInstanceIdentifier);
    if (i.deletionProtection) throw combination('Cannot delete protected DB Instance, please disable deletion protection and try again.');
    if (i.goneAt !== undefined) throw fault('InvalidDBInstanceStateFault', `Instance ${i.id} is already being deleted.`);
    const snapshotId = input.FinalDBSnapshotIdentifier;
    if (input.SkipFinalSnapshot && snapshotId)
      throw combination('Cannot specify a FinalDBSnapshotIdentifier when SkipFinalSnapshot is true.');
    if (!input.SkipFinalSnapshot && !snapshotId)
      throw combination('FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot is specified.');
    if (snapshotId && status(i, ctx.now) !== 'available') {
      throw fault('InvalidDBInstanceStateFault', `Instance ${i.id} is currently ${status(i, ctx.now)} - a final snapshot cannot be taken.`);
    }
    const goneAt = ctx.now + AWS_MINUTES.rdsPostgres.delete * MINUTE;
    if (snapshotId) {
      const sid = identifier(snapshotId, 'FinalDBSnapshotIdentifier');
      if (ctx.world.rds.snapshots[k(ctx, sid)])
        throw fault(
          'DBSnapshotAlreadyExistsFault',
          `Cannot create the snapshot because a snapshot with the identifier ${sid} already exists.`,
        );
      ctx.world.rds.snapshots[k(ctx, sid)] = {
        id: sid,
        region: ctx.region,
        arn: arnOf(ctx, 'snapshot', sid),
        instanceId: i.id,
        engineVersion: i.engineVersion,
        allocatedStorage: i.allocatedStorage,
        createdAt: ctx.now,
        availableAt: goneAt,
        // Tags are copied to snapshots only with CopyTagsToSnapshot, which we do not set: the
        // kept snapshot is outside the deployment's tags, so no teardown --discover takes it.
        tags: {},
      };
    }
    i.goneAt = goneAt;
    releaseEnis(ctx, i.resourceId, goneAt);
    return { DBInstance: instanceView(ctx, i) };
  },

  DescribeDBSnapshots(ctx, input) {
    const all = Object.values(ctx.world.rds.snapshots).filter((s) => s.region === ctx.region);
    if (input.DBSnapshotIdentifier) {
      const found = all.find((s) => s.id === input.DBSnapshotIdentifier!.toLowerCase());
      if (!found) throw fault('DBSnapshotNotFoundFault', `DBSnapshot ${input.DBSnapshotIdentifier} not found.`, 404);
      return { DBSnapshots: [snapshotView(ctx, found)] };
    }
    const id = input.DBInstanceIdentifier?.toLowerCase();
    return { DBSnapshots: all.filter((s) => !id || s.instanceId === id).map((s) => snapshotView(ctx, s)) };
  },

  DeleteDBSnapshot(ctx, input) {
    const found = ctx.world.rds.snapshots[k(ctx, input.DBSnapshotIdentifier ?? '')];
    if (!found) throw fault('DBSnapshotNotFoundFault', `DBSnapshot ${input.DBSnapshotIdentifier} not found.`, 404);
    if (ctx.now < found.availableAt) throw fault('InvalidDBSnapshotStateFault', 'Cannot delete the snapshot while it is being created.');
    delete ctx.world.rds.snapshots[k(ctx, found.id)];
    return { DBSnapshot: snapshotView(ctx, found) };
  },

  /** Where each class can run each version; the sandbox offers every size AWS makes of the families it knows. */
  DescribeOrderableDBInstanceOptions(ctx, input) {
    if (input.Engine !== 'postgres') return { OrderableDBInstanceOptions: [] };
    const versions = POSTGRES_VERSIONS.filter((v) => !input.EngineVersion || v === input.EngineVersion);
    const instanceClass = input.DBInstanceClass;
    if (!instanceClass || !orderable(instanceClass)) return { OrderableDBInstanceOptions: [] };
    return {
      OrderableDBInstanceOptions: versions.map((EngineVersion) => ({
        Engine: 'postgres',
        EngineVersion,
        DBInstanceClass: instanceClass,
        AvailabilityZones: zonesOf(ctx.region).map((z) => ({ Name: z.ZoneName })),
        MultiAZCapable: true,
        StorageType: 'io1',
      })),
    };
  },

  DescribeDBEngineVersions(ctx, input) {
    if (input.Engine && input.Engine !== 'postgres') return { DBEngineVersions: [] };
    const versions = POSTGRES_VERSIONS.filter(
      (v) => !input.EngineVersion || v === input.EngineVersion || v.startsWith(`${input.EngineVersion}.`),
    );
    const wanted = input.DefaultOnly ? versions.filter((v) => v === versions.filter((w) => family(w) === family(v)).at(-1)) : versions;
    return {
      DBEngineVersions: wanted.map((v) => ({
        Engine: 'postgres',
        EngineVersion: v,
        DBParameterGroupFamily: family(v),
        DBEngineDescription: 'PostgreSQL',
        DBEngineVersionDescription: `PostgreSQL ${v}-R1`,
        Status: 'available',
      })),
    };
  },

  CreateDBParameterGroup(ctx, input) {
    const name = identifier(input.DBParameterGroupName, 'DBParameterGroupName');
    if (name.startsWith('default.') || ctx.world.rds.parameterGroups?.[k(ctx, name)]) {
      throw fault('DBParameterGroupAlreadyExistsFault', `Parameter group ${name} already exists`);
    }
    if (!POSTGRES_VERSIONS.some((v) => family(v) === input.DBParameterGroupFamily)) {
      throw fault('InvalidParameterValue', `DBParameterGroupFamily ${input.DBParameterGroupFamily} is not offered.`);
    }
    const group: RdsParameterGroup = {
      name,
      region: ctx.region,
      arn: `arn:aws:rds:${ctx.region}:${ctx.world.accountId}:pg:${name}`,
      family: input.DBParameterGroupFamily!,
      description: input.Description ?? '',
      parameters: {},
      tags: tagsFromList(input.Tags),
    };
    (ctx.world.rds.parameterGroups ??= {})[k(ctx, name)] = group;
    return {
      DBParameterGroup: {
        DBParameterGroupName: name,
        DBParameterGroupFamily: group.family,
        Description: group.description,
        DBParameterGroupArn: group.arn,
      },
    };
  },

  ModifyDBParameterGroup(ctx, input) {
    const group = ctx.world.rds.parameterGroups?.[k(ctx, input.DBParameterGroupName ?? '')];
    if (!group) throw fault('DBParameterGroupNotFoundFault', `DBParameterGroup not found: ${input.DBParameterGroupName}`, 404);
    for (const p of input.Parameters ?? [])
      if (p.ParameterName && p.ParameterValue !== undefined) group.parameters[p.ParameterName] = p.ParameterValue;
    return { DBParameterGroupName: group.name };
  },

  DescribeDBParameters(ctx, input) {
    const { parameters } = parametersOf(ctx, input.DBParameterGroupName ?? '');
    const made = ctx.world.rds.parameterGroups?.[k(ctx, input.DBParameterGroupName ?? '')];
    return {
      Parameters: Object.entries(parameters).map(([ParameterName, ParameterValue]) => ({
        ParameterName,
        ParameterValue,
        Source: made && ParameterName in made.parameters ? 'user' : 'engine-default',
        ApplyType: 'dynamic',
        IsModifiable: true,
      })),
    };
  },

  ListTagsForResource(ctx, input) {
    return { TagList: tagList(taggable(ctx, input.ResourceName).tags) };
  },

  AddTagsToResource(ctx, input) {
    const r = taggable(ctx, input.ResourceName);
    r.tags = { ...r.tags, ...tagsFromList(input.Tags) };
    return {};
  },
};

/** Every RDS call answers at once; creating and deleting an instance take their time in its states. */
const latency: Latency<'rds'> = {};

export const rdsService: SandboxService<RdsWorld, 'rds'> = {
  name: 'rds',
  operations,
  latency,
  empty: () => ({ subnetGroups: {}, instances: {}, snapshots: {} }),
  inventory: (world, now) => [
    ...Object.values(world.rds.subnetGroups).map((g) => sandboxResource('AWS::RDS::DBSubnetGroup', g.name, g.name, g.tags)),
    ...Object.values(world.rds.instances)
      .filter((i) => i.goneAt === undefined || now < i.goneAt)
      .map((i) => sandboxResource('AWS::RDS::DBInstance', i.id, i.tags[TAG_NAME] ?? i.id, i.tags)),
    ...Object.values(world.rds.snapshots).map((s) => sandboxResource('AWS::RDS::DBSnapshot', s.id, s.id, s.tags)),
  ],
};

/** The Tagging API's view of RDS: instances, subnet groups and snapshots by ARN. */
export function rdsTagged(world: { rds: RdsWorld }, region: string, now: number) {
  return [
    ...Object.values(world.rds.instances)
      .filter((i) => i.region === region && (i.goneAt === undefined || now < i.goneAt))
      .map((i) => ({ arn: i.arn, type: 'rds:db', tags: i.tags })),
    ...Object.values(world.rds.subnetGroups)
      .filter((g) => g.region === region)
      .map((g) => ({ arn: g.arn, type: 'rds:subgrp', tags: g.tags })),
    ...Object.values(world.rds.snapshots)
      .filter((s) => s.region === region)
      .map((s) => ({ arn: s.arn, type: 'rds:snapshot', tags: s.tags })),
  ];
}
