import { sideBySide } from '../aws/clock.js';
import type { RDS } from '@aws-sdk/client-rds';
import type { AwsSession } from '../aws/clients.js';
import { isKind } from '../aws/errors.js';
import { GITLAB_MAJORS } from '../config/compute.js';
import type { InstallConfig } from '../config/schema.js';
import { postgresMismatch } from '../gitlab/versions.js';
import { gitlabImageFor, ImageRefusal, machineImagesOutputs } from '../steps/machine-images.js';
import { checkParameterGroup, engineVersion } from '../steps/rds-postgres.js';
import type { ToBuild } from './building.js';
import type { Refusal } from './refusal.js';

/**
 * The database answers RDS must accept, until the database is built: the PostgreSQL version is
 * offered in the region, the class is orderable for it Multi-AZ (DescribeOrderableDBInstanceOptions:
 * RDS's own list of what CreateDBInstance takes), and a parameter group the operator names exists
 * and keeps what GitLab needs, and the PostgreSQL RDS will run fits the GitLab release the install
 * will run. (The step checks the version and group again, for a resume.)
 */
export async function databaseOffered(aws: AwsSession, config: InstallConfig, left: ToBuild): Promise<Refusal | undefined> {
  if (!left.anyOf('rds-postgres')) return undefined;
  const [rds, clock] = [await aws.rds(), aws.clock];
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
  const [orderable, group, release] = await sideBySide(clock, [
    () => classOrderable(rds, config, version),
    () => parameterGroupHolds(rds, config),
    () => postgresFitsRelease(aws, config, left, version),
  ]);
  return release ?? orderable ?? group;
}

/**
 * The exact PostgreSQL RDS will run (`version`, the newest minor of a major answered) fits the
 * exact GitLab release: the one machine-images recorded, else the one it will resolve (the newest
 * the region's official AMIs offer of the wanted version, or of all when none was asked). An
 * image answer AWS refuses is the images check's to report, not this one's.
 */
async function postgresFitsRelease(aws: AwsSession, config: InstallConfig, left: ToBuild, version: string): Promise<Refusal | undefined> {
  const recorded = machineImagesOutputs.safeParse(left.outputs('machine-images'));
  let release: string;
  if (recorded.success) release = recorded.data.gitlab.version;
  else {
    try {
      release = (await gitlabImageFor(await aws.ec2(), config)).version;
    } catch (err) {
      if (err instanceof ImageRefusal) return undefined;
      throw err;
    }
  }
  const wanted = config.database.engineVersion;
  const asked = config.gitlab.version;
  const mismatch = postgresMismatch(version, release, GITLAB_MAJORS.map(Number), {
    ...(version !== wanted ? { postgres: `the newest ${wanted}.x RDS offers in ${config.region}` } : {}),
    ...(recorded.success
      ? { gitlab: 'the release this deployment installs' }
      : asked !== release
        ? { gitlab: `the newest ${asked === undefined ? '' : `${asked}.x `}release the official AMIs offer in ${config.region}` }
        : {}),
  });
  return mismatch && { message: mismatch.problem, fix: mismatch.fix };
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
