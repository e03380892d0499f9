import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createAwsSession, type AwsSession } from '../src/aws/clients.js';
import { TAG_DEPLOYMENT } from '../src/aws/tags.js';
import { inventory } from '../src/sandbox/inventory.js';
import { readWorld, runCli, runRecorded, sandboxAnswersFile, sandboxInventory } from './helpers.js';
import { heldAndPlanned, planFor } from './plan-helpers.js';
import { sandboxFixtures } from './sandbox-fixtures.js';

/**
 * The guide's "PostgreSQL with RDS", as an operator checks it: the instance and its subnet group
 * read back through the SDK, what teardown keeps (a named final snapshot) and what it does not.
 */

const REGION = 'us-west-2';
const { stateDir, keep } = sandboxFixtures('gitlab-aws-rds-');

const cli = (dir: string, args: string[], env: Record<string, string> = {}) =>
  runCli([...args, '--sandbox', '--yes', '--state-dir', dir], env);

async function session(dir: string): Promise<AwsSession> {
  return keep(await createAwsSession({ region: REGION, sandbox: { stateDir: dir } }));
}

function messages(stdout: string) {
  return stdout
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map(
      (l) =>
        JSON.parse(l) as { type: string; step?: string; message?: string; code?: string; text?: string; data?: Record<string, unknown> },
    );
}

/** Everything in the sandbox account, whoever's, as "type id". */
/** The whole sandbox account, less the public zone example.com it starts with (not ours, never touched). */
async function everything(dir: string): Promise<string[]> {
  const world = (await readWorld(dir))!;
  return inventory(world, world.simNow)
    .filter((r) => !(r.type === 'AWS::Route53::HostedZone' && r.name?.replace(/\.$/, '') === 'example.com' && r.deployment === undefined))
    .map((r) => `${r.type} ${r.id}`);
}

describe('PostgreSQL with RDS in a sandbox install', () => {
  it('builds the guide database: Multi-AZ PostgreSQL 17, io1, encrypted, private, protected, behind the RDS group', async () => {
    const dir = await stateDir();
    const plan = await planFor(dir);
    const shown = await runCli(['plan', '--sandbox', '--state-dir', dir]);
    expect(shown.stdout).toContain(
      "database: PostgreSQL 17 (the newest 17.x RDS offers), db.m5.large Multi-AZ, io1 100 GiB at 1000 IOPS, the engine's default parameter group; teardown keeps a final snapshot",
    );
    const install = await cli(dir, ['install', '--json']);
    expect(install.code, install.stderr).toBe(0);
    const { held, planned } = await heldAndPlanned(dir, plan);
    expect(held).toEqual(planned);
    expect(planned).toContain('rds-postgres AWS::RDS::DBInstance gitlab-db-ha');
    expect(planned).toContain('rds-postgres AWS::RDS::DBSubnetGroup gitlab-rds-group');

    const aws = await session(dir);
    const rds = await aws.rds();
    const ec2 = await aws.ec2();
    const db = (await rds.describeDBInstances({ DBInstanceIdentifier: 'gitlab-db-ha' })).DBInstances![0]!;
    const newest17 = (await rds.describeDBEngineVersions({ Engine: 'postgres' }))
      .DBEngineVersions!.map((v) => v.EngineVersion!)
      .filter((v) => v.startsWith('17.'))
      .sort((a, b) => Number(a.split('.')[1]) - Number(b.split('.')[1]))
      .at(-1);
    expect(db).toMatchObject({
      DBInstanceStatus: 'available',
      Engine: 'postgres',
      EngineVersion: newest17,
      DBInstanceClass: 'db.m5.large',
      StorageType: 'io1',
      AllocatedStorage: 100,
      Iops: 1000,
      MultiAZ: true,
      StorageEncrypted: true,
      PubliclyAccessible: false,
      AutoMinorVersionUpgrade: false,
      BackupRetentionPeriod: 7,
      DeletionProtection: true,
      DBName: 'gitlabhq_production',
      MasterUsername: 'gitlab',
      Endpoint: { Port: 5432 },
      DBParameterGroups: [{ DBParameterGroupName: 'default.postgres17' }],
    });
    expect(db.AvailabilityZone).not.toEqual(db.SecondaryAvailabilityZone);

    const groups = (await ec2.describeSecurityGroups({ GroupIds: db.VpcSecurityGroups!.map((g) => g.VpcSecurityGroupId!) }))
      .SecurityGroups!;
    expect(groups.map((g) => g.GroupName)).toEqual(['gitlab-rds-sec-group']);
    expect(db.DBSubnetGroup!.DBSubnetGroupName).toBe('gitlab-rds-group');
    const subnetIds = db.DBSubnetGroup!.Subnets!.map((s) => s.SubnetIdentifier!);
    const subnets = (await ec2.describeSubnets({ SubnetIds: subnetIds })).Subnets!;
    expect(subnets.map((s) => s.Tags!.find((t) => t.Key === 'Name')!.Value).sort()).toEqual([
      'gitlab-private-10.0.1.0',
      'gitlab-private-10.0.3.0',
    ]);

    // The default group keeps what GitLab needs.
    const parameters = (await rds.describeDBParameters({ DBParameterGroupName: 'default.postgres17' })).Parameters!;
    expect(Object.fromEntries(parameters.map((p) => [p.ParameterName, p.ParameterValue]))).toMatchObject({
      quote_all_identifiers: '0',
      default_transaction_isolation: 'read committed',
    });
  });

  it('waits for the database in a handful of calls, showing its state, alongside the NAT gateways', async () => {
    const dir = await stateDir();
    const install = await cli(dir, ['install', '--json']);
    expect(install.code, install.stderr).toBe(0);
    const events = messages(install.stdout);
    const waits = events.filter(
      (e) => e.type === 'step-progress' && e.step === 'rds-postgres' && e.message!.startsWith('waiting for RDS instance'),
    );
    expect(waits.map((e) => e.message)).toContain('waiting for RDS instance gitlab-db-ha to become available: creating');
    // A 15-minute create: a handful of checks, not one every 30 s (thirty).
    expect(waits.length).toBeGreaterThanOrEqual(2);
    expect(waits.length).toBeLessThanOrEqual(6);
    // RDS starts before the NAT gateways have finished: it needs only the subnets, groups and secrets.
    const order = events.filter((e) => e.type === 'step-started' || e.type === 'step-finished').map((e) => `${e.type} ${e.step}`);
    expect(order.indexOf('step-started rds-postgres')).toBeLessThan(order.indexOf('step-finished nat-gateways'));
  });

  it('never shows the master password: not in the state file, the log, nor --verbose --json output', async () => {
    const dir = await stateDir();
    const install = await cli(dir, ['install', '--json', '--verbose']);
    expect(install.code, install.stderr).toBe(0);
    const world = (await readWorld(dir))!;
    const password = Object.values(world.ssm.parameters).find((p) => p.name === '/gitlab-aws/gitlab/database-password')!.value;
    expect(password.length).toBeGreaterThanOrEqual(16);
    expect(install.stdout + install.stderr).not.toContain(password);
    for (const name of await readdir(dir)) {
      if (name === 'sandbox-world.json' || (await stat(join(dir, name))).isDirectory()) continue;
      expect(await readFile(join(dir, name), 'utf8'), name).not.toContain(password);
    }
  });
});

describe('RDS teardown', () => {
  it('turns deletion protection off, keeps a final snapshot named before and after, and leaves nothing else', async () => {
    const dir = await stateDir();
    expect((await cli(dir, ['install'])).code).toBe(0);
    const teardown = await cli(dir, ['teardown', '--json']);
    expect(teardown.code, teardown.stderr).toBe(0);
    const said = messages(teardown.stdout);
    const before = said.find((m) => m.code === 'teardown.extent')!;
    const after = said.find((m) => m.code === 'teardown.final-snapshot')!;
    // Named among what the teardown keeps, before anything is deleted.
    const planned = (before.data!.kept as Array<{ type: string; id: string }>).find((k) => k.type === 'AWS::RDS::DBSnapshot')!.id;
    expect(planned).toMatch(/^gitlab-db-ha-final-\d{8}-\d{4}$/);
    expect(after.data!.snapshot).toBe(planned);
    expect(said.indexOf(before)).toBeLessThan(said.findIndex((m) => m.type === 'step-started'));

    const rds = await (await session(dir)).rds();
    const snapshots = (await rds.describeDBSnapshots({})).DBSnapshots!;
    expect(snapshots.map((s) => [s.DBSnapshotIdentifier, s.DBInstanceIdentifier, s.Status])).toEqual([
      [planned, 'gitlab-db-ha', 'available'],
    ]);
    expect(await everything(dir)).toEqual([`AWS::RDS::DBSnapshot ${planned}`]);
    // Kept on purpose, outside the deployment: no later teardown --discover takes it.
    expect(await sandboxInventory(dir)).toEqual([]);
  });

  it('with --skip-final-snapshot --delete-data leaves zero', async () => {
    const dir = await stateDir();
    expect((await cli(dir, ['install'])).code).toBe(0);
    const teardown = await cli(dir, ['teardown', '--json', '--skip-final-snapshot', '--delete-data']);
    expect(teardown.code, teardown.stderr).toBe(0);
    const said = messages(teardown.stdout);
    expect(said.some((m) => m.code === 'teardown.no-final-snapshot')).toBe(true);
    expect(said.some((m) => m.code === 'teardown.final-snapshot')).toBe(false);
    expect(await everything(dir)).toEqual([]);
  });

  it('AWS refuses to delete the protected instance, so teardown must turn protection off first', async () => {
    const dir = await stateDir();
    expect((await cli(dir, ['install'])).code).toBe(0);
    const rds = await (await session(dir)).rds();
    const refused = await rds.deleteDBInstance({ DBInstanceIdentifier: 'gitlab-db-ha', SkipFinalSnapshot: true }).then(
      () => 'deleted',
      (err: Error) => err.message,
    );
    expect(refused).toMatch(/Cannot delete protected DB Instance/);
    const db = (await rds.describeDBInstances({ DBInstanceIdentifier: 'gitlab-db-ha' })).DBInstances![0]!;
    expect(db.DBInstanceStatus).toBe('available');
  });
});

describe('the sandbox refuses what RDS refuses', () => {
  it('holds the subnets and the RDS group while the database stands, and checks what CreateDBInstance is sent', async () => {
    const dir = await stateDir();
    expect((await cli(dir, ['install'])).code).toBe(0);
    const aws = await session(dir);
    const [rds, ec2] = [await aws.rds(), await aws.ec2()];
    const db = (await rds.describeDBInstances({ DBInstanceIdentifier: 'gitlab-db-ha' })).DBInstances![0]!;
    const why = (p: Promise<unknown>) =>
      p.then(
        () => 'accepted',
        (err: Error) => `${err.name}: ${err.message}`,
      );

    // Its network interfaces stand in both private subnets (primary and standby) with the RDS group.
    const rdsGroup = db.VpcSecurityGroups![0]!.VpcSecurityGroupId!;
    expect(await why(ec2.deleteSecurityGroup({ GroupId: rdsGroup }))).toMatch(/^DependencyViolation/);
    for (const subnet of db.DBSubnetGroup!.Subnets!) {
      expect(await why(ec2.deleteSubnet({ SubnetId: subnet.SubnetIdentifier! }))).toMatch(/^DependencyViolation/);
    }
    expect(await why(rds.deleteDBSubnetGroup({ DBSubnetGroupName: 'gitlab-rds-group' }))).toMatch(
      /^InvalidDBSubnetGroupStateFault: .*gitlab-db-ha is still using it/,
    );

    const other = (await ec2.createVpc({ CidrBlock: '10.7.0.0/16' })).Vpc!.VpcId!;
    const foreignGroup = (await ec2.createSecurityGroup({ GroupName: 'elsewhere', Description: 'x', VpcId: other })).GroupId!;
    // EC2 is eventually consistent: a fresh group is not visible to every lookup at once.
    while ((await why(ec2.describeSecurityGroups({ GroupIds: [foreignGroup] }))) !== 'accepted');
    const base = {
      DBInstanceIdentifier: 'probe',
      Engine: 'postgres',
      DBInstanceClass: 'db.m5.large',
      StorageType: 'io1',
      AllocatedStorage: 100,
      Iops: 1000,
      MasterUsername: 'gitlab',
      MasterUserPassword: 'a-long-enough-password',
      DBSubnetGroupName: 'gitlab-rds-group',
      VpcSecurityGroupIds: [rdsGroup],
      MultiAZ: true,
    };
    expect(await why(rds.createDBInstance({ ...base, VpcSecurityGroupIds: [foreignGroup] }))).toMatch(/different VPCs/);
    expect(await why(rds.createDBInstance({ ...base, Iops: 6000 }))).toMatch(/^InvalidParameterCombination: io1 IOPS must be 0.5-50 times/);
    expect(await why(rds.createDBInstance({ ...base, DBInstanceClass: 'db.x9.huge' }))).toMatch(
      /^InvalidParameterCombination: RDS does not support/,
    );
    expect(await why(rds.createDBInstance({ ...base, EngineVersion: '17.99' }))).toMatch(/Cannot find version 17.99/);
    expect(await why(rds.createDBInstance({ ...base, MasterUserPassword: 'has@sign-in-it' }))).toMatch(
      /MasterUserPassword is not a valid password/,
    );
  });
});

describe('RDS: recovery', () => {
  it('a database deleted by hand is noticed on resume, waited for while it is deleting, and made again', async () => {
    const dir = await stateDir();
    expect((await cli(dir, ['install'])).code).toBe(0);
    const rds = await (await session(dir)).rds();
    await rds.modifyDBInstance({ DBInstanceIdentifier: 'gitlab-db-ha', DeletionProtection: false, ApplyImmediately: true });
    await rds.deleteDBInstance({ DBInstanceIdentifier: 'gitlab-db-ha', SkipFinalSnapshot: true });
    const first = (await readWorld(dir))!.rds.instances[`${REGION}:gitlab-db-ha`]!.resourceId;

    const resume = await cli(dir, ['resume', '--json']);
    expect(resume.code, resume.stderr).toBe(0);
    const said = messages(resume.stdout)
      .filter((e) => e.type === 'step-progress' && e.step === 'rds-postgres')
      .map((e) => e.message);
    expect(said).toContain('waiting for RDS instance gitlab-db-ha to be deleted: deleting');
    // A new session: the sandbox clock of the one above stood still while the resume ran.
    const later = await (await session(dir)).rds();
    const again = (await later.describeDBInstances({ DBInstanceIdentifier: 'gitlab-db-ha' })).DBInstances![0]!;
    expect(again.DBInstanceStatus).toBe('available');
    expect(again.DbiResourceId).not.toBe(first);
    expect(again.DeletionProtection).toBe(true);
  });
});

describe('RDS: discovery', () => {
  it('the Tagging API lists the instance and subnet group by ARN, and teardown --discover without a state file removes them', async () => {
    const dir = await stateDir();
    expect((await cli(dir, ['install'])).code).toBe(0);
    const tagging = await (await session(dir)).tagging();
    const listed = (await tagging.getResources({ ResourceTypeFilters: ['rds'], TagFilters: [{ Key: TAG_DEPLOYMENT, Values: ['gitlab'] }] }))
      .ResourceTagMappingList!.map((r) => r.ResourceARN)
      .sort();
    expect(listed).toEqual([
      `arn:aws:rds:${REGION}:123456789012:db:gitlab-db-ha`,
      `arn:aws:rds:${REGION}:123456789012:subgrp:gitlab-rds-group`,
    ]);

    await rm(join(dir, 'gitlab.json'));
    const teardown = await cli(dir, ['teardown', '--discover', '--skip-final-snapshot', '--delete-data']);
    expect(teardown.code, teardown.stderr).toBe(0);
    expect(teardown.stdout).toMatch(/AWS::RDS::DBInstance\s+gitlab-db-ha/);
    expect(await everything(dir)).toEqual([]);
  });
});

describe('RDS: ownership', () => {
  it('an instance named gitlab-db-ha that is not ours is never adopted nor deleted', async () => {
    const dir = await stateDir();
    const seed = join(dir, 'seed.json');
    // Someone else's subnet group name is taken: our install must stop before making the database.
    await writeFile(
      seed,
      JSON.stringify({
        calls: [
          { as: 'vpc', service: 'ec2', call: 'CreateVpc', input: { CidrBlock: '10.9.0.0/16' } },
          {
            as: 'a',
            service: 'ec2',
            call: 'CreateSubnet',
            input: { VpcId: '${vpc.Vpc.VpcId}', CidrBlock: '10.9.1.0/24', AvailabilityZone: 'us-west-2a' },
          },
          {
            as: 'b',
            service: 'ec2',
            call: 'CreateSubnet',
            input: { VpcId: '${vpc.Vpc.VpcId}', CidrBlock: '10.9.2.0/24', AvailabilityZone: 'us-west-2b' },
          },
          {
            service: 'rds',
            call: 'CreateDBSubnetGroup',
            input: {
              DBSubnetGroupName: 'gitlab-rds-group',
              DBSubnetGroupDescription: 'theirs',
              SubnetIds: ['${a.Subnet.SubnetId}', '${b.Subnet.SubnetId}'],
              Tags: [{ Key: TAG_DEPLOYMENT, Value: 'other' }],
            },
          },
        ],
      }),
    );
    const install = await cli(dir, ['install'], { GITLAB_AWS_SANDBOX_SEED: seed });
    // Preflight refuses it before anything is made; a teardown looking by tag leaves it alone.
    expect(install.code).toBe(2);
    expect(install.stderr).toMatch(/DB subnet group gitlab-rds-group exists and does not belong to deployment 'gitlab'/);
    expect((await readWorld(dir))!.rds.instances).toEqual({});
    const teardown = await cli(dir, ['teardown', '--discover'], { GITLAB_AWS_SANDBOX_SEED: seed });
    expect(teardown.code, teardown.stderr).toBe(0);
    expect(Object.keys((await readWorld(dir))!.rds.subnetGroups)).toEqual([`${REGION}:gitlab-rds-group`]);
  });
});

/** Bad database answers: one line, exit 2, nothing created (bad-input.test.ts's rule, for these answers). */
describe('bad database answers', () => {
  async function refused(database: Record<string, unknown>, extra: string[] = []) {
    const dir = await stateDir();
    await writeFile(join(dir, 'answers.json'), JSON.stringify({ database }));
    const before = (await readdir(dir)).sort();
    const run = await cli(dir, ['install', '--config', join(dir, 'answers.json'), ...extra]);
    expect(run.code, run.stderr).toBe(2);
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^error: .* \(fix: .*\)$/);
    // Nothing created: no state file, no world (the sandbox account was never touched).
    expect((await readdir(dir)).sort()).toEqual(before);
    return lines[0]!;
  }

  it('io1 IOPS above 50 per GiB', async () => {
    expect(await refused({ iops: 6000 })).toMatch(/io1 IOPS must be 0.5-50 times the storage in GiB \(6000 IOPS on 100 GiB is 60\)/);
  });
  it("io1 IOPS below AWS's minimum", async () => {
    expect(await refused({ iops: 500 })).toMatch(/io1 IOPS must be 1000-256000, not 500/);
  });
  it('io1 storage below 100 GiB', async () => {
    expect(await refused({ allocatedStorage: 50 })).toMatch(/io1 storage must be 100-65536 GiB, not 50/);
  });
  it('gp3 with IOPS below 400 GiB', async () => {
    expect(await refused({ storageType: 'gp3', allocatedStorage: 100, iops: 12000 })).toMatch(/fixed 3000 IOPS baseline/);
  });
  it('an instance class RDS for PostgreSQL does not have', async () => {
    expect(await refused({ instanceClass: 'm5.large' })).toMatch(
      /database.instanceClass 'm5.large' is not an RDS for PostgreSQL instance class/,
    );
  });
  it('a PostgreSQL version GitLab does not run on', async () => {
    expect(await refused({ engineVersion: '14' })).toMatch(/database.engineVersion '14' is not a PostgreSQL version GitLab runs on/);
  });
  it('a burstable class with --yes alone: --yes does not accept the warning', async () => {
    expect(await refused({ instanceClass: 'db.t3.medium' })).toMatch(
      /database.instanceClass db.t3.medium is burstable and was not confirmed \(fix: .*database.allowBurstable: true/,
    );
  });
});

describe('database answers only AWS can check, before anything is made', () => {
  async function withSeed(dir: string, calls: unknown[]) {
    const seed = join(dir, 'seed.json');
    await writeFile(seed, JSON.stringify({ calls }));
    return { GITLAB_AWS_SANDBOX_SEED: seed };
  }
  const badGroup = [
    {
      service: 'rds',
      call: 'CreateDBParameterGroup',
      input: { DBParameterGroupName: 'quoted', DBParameterGroupFamily: 'postgres17', Description: 'x' },
    },
    {
      service: 'rds',
      call: 'ModifyDBParameterGroup',
      input: {
        DBParameterGroupName: 'quoted',
        Parameters: [{ ParameterName: 'quote_all_identifiers', ParameterValue: '1', ApplyMethod: 'immediate' }],
      },
    },
  ];

  it.each([
    [
      'a parameter group that quotes all identifiers',
      { parameterGroup: 'quoted' },
      /DB parameter group quoted sets quote_all_identifiers=1, which breaks GitLab/,
    ],
    ['a parameter group that does not exist', { parameterGroup: 'nowhere' }, /DB parameter group nowhere does not exist in us-west-2/],
    ['a PostgreSQL version RDS does not offer', { engineVersion: '17.99' }, /RDS offers no PostgreSQL 17.99 in this region/],
  ])('%s is an exit-2 one-liner and the account stays as the seed made it', async (_, database, message) => {
    const dir = await stateDir();
    const env = await withSeed(dir, badGroup);
    await writeFile(join(dir, 'answers.json'), JSON.stringify({ database }));
    const run = await cli(dir, ['install', '--config', join(dir, 'answers.json')], env);
    expect(run.code, run.stderr).toBe(2);
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message);
    expect(lines[0]).toMatch(/\(fix: .*\)$/);
    expect(await readdir(dir)).not.toContain('gitlab.json');
    expect(await everything(dir)).toEqual([]);
  });

  it('a parameter group that keeps what GitLab needs is used', async () => {
    const dir = await stateDir();
    const env = await withSeed(dir, [
      {
        service: 'rds',
        call: 'CreateDBParameterGroup',
        input: { DBParameterGroupName: 'tuned', DBParameterGroupFamily: 'postgres17', Description: 'x' },
      },
      {
        service: 'rds',
        call: 'ModifyDBParameterGroup',
        input: {
          DBParameterGroupName: 'tuned',
          Parameters: [{ ParameterName: 'work_mem', ParameterValue: '65536', ApplyMethod: 'immediate' }],
        },
      },
    ]);
    await writeFile(join(dir, 'answers.json'), JSON.stringify({ database: { parameterGroup: 'tuned' } }));
    const run = await cli(dir, ['install', '--config', join(dir, 'answers.json')], env);
    expect(run.code, run.stderr).toBe(0);
    const db = (await (await (await session(dir)).rds()).describeDBInstances({ DBInstanceIdentifier: 'gitlab-db-ha' })).DBInstances![0]!;
    expect(db.DBParameterGroups).toEqual([{ DBParameterGroupName: 'tuned', ParameterApplyStatus: 'in-sync' }]);
  });
});

describe('a burstable database class', () => {
  it('is used after the warning when the operator answers yes', async () => {
    const dir = await stateDir();
    // Every other answer given too: the recorder answers only the confirmations.
    await sandboxAnswersFile(
      { database: { instanceClass: 'db.t3.medium', storageType: 'gp3', allocatedStorage: 20 } },
      join(dir, 'answers.json'),
    );
    const args = ['plan', '--sandbox', '--state-dir', dir, '--config', join(dir, 'answers.json')];
    // Asked through the host (a recorder answers by the question's id), default no.
    const no = await runRecorded(['install', ...args.slice(1)], { 'confirm-install': true, 'confirm-burstable-db': false });
    expect(no.code).toBe(2);
    expect(no.host.asked).toContain('confirm-burstable-db');
    expect((await readWorld(dir))?.rds.instances ?? {}).toEqual({});
    const yes = await runRecorded(['install', ...args.slice(1)], { 'confirm-install': true, 'confirm-burstable-db': true });
    expect(yes.code).toBe(0);
    expect(yes.host.codes()).toContain('warn.burstable-db');
    const db = Object.values((await readWorld(dir))!.rds.instances)[0]!;
    expect([db.instanceClass, db.storageType, db.allocatedStorage, db.iops]).toEqual(['db.t3.medium', 'gp3', 20, undefined]);
  });

  it('is used with --yes when the answers say database.allowBurstable: true', async () => {
    const dir = await stateDir();
    const answers = join(dir, 'answers.json');
    await writeFile(answers, JSON.stringify({ database: { instanceClass: 'db.t4g.large', allowBurstable: true } }));
    const run = await cli(dir, ['install', '--config', answers]);
    expect(run.code, run.stderr).toBe(0);
    expect(Object.values((await readWorld(dir))!.rds.instances).map((i) => i.instanceClass)).toEqual(['db.t4g.large']);
  });

  it('--db-instance-class answers the class on the command line, under the same rule', async () => {
    const dir = await stateDir();
    const burstable = await cli(dir, ['install', '--db-instance-class', 'db.t3.large']);
    expect(burstable.code).toBe(2);
    expect(burstable.stderr.trim()).toMatch(/^error: database.instanceClass db.t3.large is burstable and was not confirmed \(fix: /);
    const run = await cli(dir, ['install', '--db-instance-class', 'db.r6i.large']);
    expect(run.code, run.stderr).toBe(0);
    expect(Object.values((await readWorld(dir))!.rds.instances).map((i) => i.instanceClass)).toEqual(['db.r6i.large']);
  });
});
