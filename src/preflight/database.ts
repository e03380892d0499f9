import { sideBySide, type Clock } from '../aws/clock.js';
import type { RDS } from '@aws-sdk/client-rds';
import { isKind } from '../aws/errors.js';
import type { InstallConfig } from '../config/schema.js';
import { checkParameterGroup, engineVersion } from '../steps/rds-postgres.js';
import type { ToBuild } from './building.js';
import type { Refusal } from './refusal.js';

/**
 * The database answers RDS must accept, until the database is built: the PostgreSQL version is
 * offered in the region, the class is orderable for it Multi-AZ (DescribeOrderableDBInstanceOptions:
 * RDS's own list of what CreateDBInstance takes), and a parameter group the operator names exists
 * and keeps what GitLab needs. (The step checks the version and group again, for a resume.)
 */
export async function databaseOffered(rds: RDS, clock: Clock, config: InstallConfig, left: ToBuild): Promise<Refusal | undefined> {
  if (!left.anyOf('rds-postgres')) return undefined;
  const db = config.database;
  let version: string;
  try {
    version = await engineVersion(rds, db.engineVersion);
  } catch (err) {
    if (isKind(err, 'not-found') || !(err as Error).message.startsWith('RDS offers no PostgreSQL')) throw err;
    return {
      message: (err as Error).message.replace(/; set .*$/, ''),
      fix: 'set database.engineVersion to a version RDS offers in the region',
    };
  }
  const [orderable, group] = await sideBySide(clock, [() => classOrderable(rds, config, version), () => parameterGroupHolds(rds, config)]);
  return orderable ?? group;
}

async function classOrderable(rds: RDS, config: InstallConfig, version: string): Promise<Refusal | undefined> {
  const { instanceClass } = config.database;
  const found = await rds.describeOrderableDBInstanceOptions({
    Engine: 'postgres',
    EngineVersion: version,
    DBInstanceClass: instanceClass,
  });
  if ((found.OrderableDBInstanceOptions ?? []).some((o) => o.MultiAZCapable)) return undefined;
  return {
    message: `RDS offers no ${instanceClass} Multi-AZ for PostgreSQL ${version} in ${config.region}`,
    fix: `set database.instanceClass to one it offers ('aws rds describe-orderable-db-instance-options --engine postgres --engine-version ${version}' lists them)`,
  };
}

async function parameterGroupHolds(rds: RDS, config: InstallConfig): Promise<Refusal | undefined> {
  const name = config.database.parameterGroup;
  if (!name) return undefined;
  const fix =
    'use quote_all_identifiers off and default_transaction_isolation read committed in it, or leave database.parameterGroup unset';
  try {
    await checkParameterGroup(rds, name);
    return undefined;
  } catch (err) {
    if (isKind(err, 'not-found')) return { message: `DB parameter group ${name} does not exist in ${config.region}`, fix };
    if (!(err as Error).message.startsWith(`DB parameter group ${name} sets`)) throw err;
    return { message: (err as Error).message.replace(/; use .*$/, ''), fix };
  }
}
