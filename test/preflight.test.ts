import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TAG_DEPLOYMENT } from '../src/aws/tags.js';
import { sandboxPublicKey } from '../src/config/ssh-key.js';
import { createAwsSession } from '../src/aws/clients.js';
import { countsAsStandard } from '../src/aws/offerings.js';
import { buildInstallConfig } from '../src/config/schema.js';
import { toBuild } from '../src/preflight/building.js';
import { cacheOffered } from '../src/preflight/cache.js';
import { databaseOffered } from '../src/preflight/database.js';
import type { ConfigFile } from '../src/config/schema.js';
import { postgresFit, postgresNeeded } from '../src/gitlab/versions.js';
import { gitlabImageFor } from '../src/steps/machine-images.js';
import { engineVersion } from '../src/steps/rds-postgres.js';
import { readWorld, runCli, sandboxInventory } from './helpers.js';
import { sandboxFixtures } from './sandbox-fixtures.js';

/**
 * Preflight: everything AWS must allow is asked before the first create. Each refusal is one
 * line `error: <what> (fix: <how>)`, exit 2, and nothing is created: the sandbox account made no
 * change (its mutation count stays 0; a seed's calls are its past, not counted), holds nothing of
 * ours, and the state directory holds no state file, nothing but what the test put there and the
 * account itself.
 */
const { stateDir, keep } = sandboxFixtures('gitlab-aws-preflight-');
const REGION = 'us-west-2';
const theirs = [{ Key: TAG_DEPLOYMENT, Value: 'other' }];

interface Staged {
  /** The answers file, if any. */
  answers?: unknown;
  /** The seed's calls: what the account holds before the install. */
  seed?: unknown[];
  args?: string[];
  env?: Record<string, string>;
}

async function install(dir: string, { answers, seed, args = [], env = {} }: Staged) {
  const extra = [...args];
  if (answers) {
    await writeFile(join(dir, 'answers.json'), JSON.stringify(answers));
    extra.push('--config', join(dir, 'answers.json'));
  }
  const seedEnv: Record<string, string> = {};
  if (seed) {
    await writeFile(join(dir, 'seed.json'), JSON.stringify({ calls: seed }));
    seedEnv.GITLAB_AWS_SANDBOX_SEED = join(dir, 'seed.json');
  }
  return runCli(['install', '--sandbox', '--yes', '--state-dir', dir, ...extra], { ...seedEnv, ...env });
}

async function refused(staged: Staged): Promise<string> {
  const dir = await stateDir();
  const run = await install(dir, staged);
  expect(run.code, run.stderr).toBe(2);
  const lines = run.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^error: .* \(fix: .*\)$/);
  // Nothing created: no state file, no change to the account, nothing of ours in it.
  const expected = ['answers.json', 'seed.json'].filter((f) => (f === 'seed.json' ? staged.seed : staged.answers));
  const world = await readWorld(dir);
  expect((await readdir(dir)).filter((f) => !f.startsWith('sandbox-world')).sort()).toEqual(expected.sort());
  if (world) {
    expect(world.mutations).toBe(0);
    expect(await sandboxInventory(dir)).toEqual([]);
  } else expect(staged.seed).toBeUndefined();
  return lines[0]!;
}

/** A VPC and two private subnets someone else made: what a seeded database, cache or group sits in. */
const network = [
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
];
const trust = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});
const ubuntu = {
  as: 'ubuntu',
  service: 'ssm',
  call: 'GetParameter',
  input: { Name: '/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id' },
};

describe('preflight: the instance types are offered where the install puts them', () => {
  it('a chosen zone lacking the GitLab instance type is refused, naming the zones that have every type', async () => {
    const line = await refused({ args: ['--region', 'eu-west-3'], answers: { availabilityZones: ['eu-west-3a', 'eu-west-3c'] } });
    expect(line).toMatch(
      /^error: Availability Zone eu-west-3c offers no c5\.2xlarge \(gitlab\.instanceType\) \(fix: choose two of eu-west-3a, eu-west-3b \(the zones offering c5\.2xlarge, m5\.xlarge, t3\.micro\)/,
    );
  });

  it('an instance type the region offers in no zone is refused, naming the answer', async () => {
    const line = await refused({ answers: { gitaly: { instanceType: 'm5.24xlarge' } } });
    expect(line).toMatch(
      /^error: region us-west-2 offers instance type m5\.24xlarge \(gitaly\.instanceType\) in no Availability Zone \(fix: choose a type/,
    );
  });
});

describe('the default zones are two that offer every chosen type', () => {
  it('sa-east-1a lacks c5.2xlarge: the install goes to 1b and 1c', async () => {
    const dir = await stateDir();
    const run = await install(dir, { args: ['--region', 'sa-east-1'] });
    expect(run.code, run.stderr).toBe(0);
    const state = JSON.parse(await readFile(join(dir, 'gitlab.json'), 'utf8')) as {
      steps: Record<string, { outputs?: { availabilityZones?: string[] } }>;
    };
    expect(state.steps.subnets!.outputs!.availabilityZones).toEqual(['sa-east-1b', 'sa-east-1c']);
  });

  it('only one zone of the region offering them all is refused', async () => {
    const line = await refused({ args: ['--region', 'sa-east-1'], answers: { gitaly: { instanceType: 'r6i.large' } } });
    expect(line).toMatch(
      /^error: region sa-east-1 has only one Availability Zone offering all of c5\.2xlarge, r6i\.large, t3\.micro \(sa-east-1c\); the guide needs two \(fix: /,
    );
  });
});

describe('preflight: the quotas leave room for what the install makes', () => {
  it('Elastic IPs: two of the five taken leave too few for two NAT gateways and two bastions', async () => {
    const line = await refused({
      seed: [
        { service: 'ec2', call: 'AllocateAddress', input: {} },
        { service: 'ec2', call: 'AllocateAddress', input: {} },
      ],
    });
    expect(line).toMatch(
      /^error: the install allocates 4 Elastic IPs .*, but 2 of the 5 region us-west-2 allows are in use \(fix: release Elastic IPs .*L-0263D0A3/,
    );
  });

  it('VPCs: five VPCs of someone else leave no room for ours', async () => {
    const vpcs = ['10.1', '10.2', '10.3', '10.4', '10.5'].map((net) => ({
      service: 'ec2',
      call: 'CreateVpc',
      input: { CidrBlock: `${net}.0.0/16` },
    }));
    const line = await refused({ seed: vpcs });
    expect(line).toMatch(/^error: region us-west-2 allows 5 VPCs and 5 exist, so the install cannot create its own \(fix: .*L-F678F1CE/);
  });

  it('vCPUs: instances of someone else running leave too few for the install at its largest', async () => {
    const big = {
      service: 'ec2',
      call: 'RunInstances',
      input: {
        ImageId: '${ubuntu.Parameter.Value}',
        InstanceType: 'c5.4xlarge',
        MinCount: 1,
        MaxCount: 1,
        SubnetId: '${a.Subnet.SubnetId}',
      },
    };
    const line = await refused({ seed: [...network, ubuntu, big, big] });
    expect(line).toMatch(
      /^error: the install runs up to 48 On-Demand Standard vCPUs at once \(.*\), but region us-west-2 allows 64 and 32 are running \(fix: .*L-1216C47A/,
    );
  });

  it('vCPUs: a group too large for the quota is refused without anything running', async () => {
    const line = await refused({ answers: { autoScaling: { max: 8 } } });
    expect(line).toMatch(/runs up to 80 On-Demand Standard vCPUs at once .* allows 64 and 0 are running/);
  });

  it('Service Quotas denied: EC2 states the Elastic IP limit itself, so that check still refuses', async () => {
    const line = await refused({
      seed: [
        { service: 'ec2', call: 'AllocateAddress', input: {} },
        { service: 'ec2', call: 'AllocateAddress', input: {} },
      ],
      env: { GITLAB_AWS_SANDBOX_FAULTS: JSON.stringify({ denied: ['servicequotas'] }) },
    });
    expect(line).toMatch(/but 2 of the 5 region us-west-2 allows are in use/);
  });

  it('Service Quotas denied: the install goes on, saying which figures it used instead', async () => {
    const dir = await stateDir();
    const run = await runCli(['install', '--sandbox', '--yes', '--json', '--state-dir', dir], {
      GITLAB_AWS_SANDBOX_FAULTS: JSON.stringify({ denied: ['servicequotas'] }),
    });
    expect(run.code, run.stderr).toBe(0);
    const fallbacks = run.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { code?: string; level?: string; text?: string })
      .filter((m) => m.code === 'preflight.quota-fallback');
    expect(fallbacks.map((m) => [m.level, m.text])).toEqual(
      expect.arrayContaining([
        ['info', "Service Quotas answered AccessDeniedException; the Elastic IP quota (5) was read from EC2's account attributes instead"],
        ['info', "Service Quotas answered AccessDeniedException; the VPC quota was not checked (AWS's default is 5, and 0 VPCs exist)"],
        [
          'info',
          'Service Quotas answered AccessDeniedException; the vCPU quota (Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances) was not checked',
        ],
      ]),
    );
    expect(await sandboxInventory(dir)).not.toEqual([]);
  });
});

describe('preflight: the images, the database and the cache the answers name are offered', () => {
  it('an AMI ID that does not exist in the region', async () => {
    const line = await refused({ answers: { bastion: { amiId: 'ami-0123456789abcdef0' } } });
    expect(line).toMatch(/^error: bastion\.amiId ami-0123456789abcdef0 does not exist in us-west-2 \(fix: /);
  });

  it('a GitLab version the official AMIs do not offer', async () => {
    const line = await refused({ answers: { gitlab: { version: '19.6' } } });
    expect(line).toMatch(/^error: the official GitLab EE AMIs in us-west-2 offer no version 19\.6 \(they offer 19\.5\.1, /);
  });

  it('a PostgreSQL version RDS does not offer', async () => {
    const line = await refused({ answers: { database: { engineVersion: '17.99' } } });
    expect(line).toMatch(/^error: RDS offers no PostgreSQL 17\.99 in this region \(it offers .*\) \(fix: set database\.engineVersion/);
  });

  it('a DB class RDS does not sell for the version', async () => {
    const line = await refused({ answers: { database: { instanceClass: 'db.m5.64xlarge' } } });
    expect(line).toMatch(
      /^error: RDS offers no db\.m5\.64xlarge Multi-AZ for PostgreSQL 17\.\d+ in us-west-2 \(fix: set database\.instanceClass/,
    );
  });
});

describe('preflight: no resource of our unique names belongs to someone else', () => {
  const cases: Array<[string, unknown[], RegExp]> = [
    [
      'an IAM role',
      [{ service: 'iam', call: 'CreateRole', input: { RoleName: 'gitlab-GitLabS3Access', AssumeRolePolicyDocument: trust } }],
      /^error: IAM role gitlab-GitLabS3Access exists and does not belong to deployment 'gitlab' \(not tagged gitlab-aws:deployment=gitlab\) \(fix: delete or rename it, or choose another --deployment\)$/,
    ],
    [
      'a key pair',
      [{ service: 'ec2', call: 'ImportKeyPair', input: { KeyName: 'gitlab-key', PublicKeyMaterial: sandboxPublicKey('someone-else') } }],
      /^error: key pair gitlab-key exists and does not belong to deployment 'gitlab' \(not tagged/,
    ],
    [
      'an RDS instance',
      [
        ...network,
        {
          service: 'rds',
          call: 'CreateDBSubnetGroup',
          input: {
            DBSubnetGroupName: 'theirs',
            DBSubnetGroupDescription: 'theirs',
            SubnetIds: ['${a.Subnet.SubnetId}', '${b.Subnet.SubnetId}'],
          },
        },
        {
          service: 'rds',
          call: 'CreateDBInstance',
          input: {
            DBInstanceIdentifier: 'gitlab-db-ha',
            Engine: 'postgres',
            DBInstanceClass: 'db.m5.large',
            AllocatedStorage: 100,
            MasterUsername: 'them',
            MasterUserPassword: 'their-password-1234',
            DBSubnetGroupName: 'theirs',
            Tags: theirs,
          },
        },
      ],
      /^error: RDS instance gitlab-db-ha exists and does not belong to deployment 'gitlab' \(tagged gitlab-aws:deployment=other\)/,
    ],
    [
      'a cache',
      [
        ...network,
        {
          service: 'elasticache',
          call: 'CreateCacheSubnetGroup',
          input: {
            CacheSubnetGroupName: 'theirs',
            CacheSubnetGroupDescription: 'theirs',
            SubnetIds: ['${a.Subnet.SubnetId}', '${b.Subnet.SubnetId}'],
          },
        },
        {
          service: 'elasticache',
          call: 'CreateReplicationGroup',
          input: {
            ReplicationGroupId: 'gitlab-redis',
            ReplicationGroupDescription: 'theirs',
            Engine: 'valkey',
            CacheNodeType: 'cache.t3.micro',
            CacheSubnetGroupName: 'theirs',
            NumCacheClusters: 1,
            Tags: theirs,
          },
        },
      ],
      /^error: ElastiCache replication group gitlab-redis exists and does not belong to deployment 'gitlab' \(tagged gitlab-aws:deployment=other\)/,
    ],
    [
      'a load balancer',
      [
        ...network,
        {
          service: 'elbv2',
          call: 'CreateLoadBalancer',
          input: { Name: 'gitlab-loadbalancer', Type: 'network', Subnets: ['${a.Subnet.SubnetId}'] },
        },
      ],
      /^error: load balancer gitlab-loadbalancer exists and does not belong to deployment 'gitlab' \(not tagged/,
    ],
    [
      'a launch template',
      [
        {
          service: 'ec2',
          call: 'CreateLaunchTemplate',
          input: {
            LaunchTemplateName: 'gitlab-launch-template',
            LaunchTemplateData: { InstanceType: 't3.micro' },
            TagSpecifications: [{ ResourceType: 'launch-template', Tags: theirs }],
          },
        },
      ],
      /^error: launch template gitlab-launch-template exists and does not belong to deployment 'gitlab' \(tagged gitlab-aws:deployment=other\)/,
    ],
    [
      'an Auto Scaling group',
      [
        ...network,
        ubuntu,
        {
          service: 'ec2',
          call: 'CreateLaunchTemplate',
          input: {
            LaunchTemplateName: 'their-template',
            LaunchTemplateData: { InstanceType: 't3.micro', ImageId: '${ubuntu.Parameter.Value}' },
          },
        },
        {
          service: 'autoscaling',
          call: 'CreateAutoScalingGroup',
          input: {
            AutoScalingGroupName: 'gitlab-auto-scaling-group',
            LaunchTemplate: { LaunchTemplateName: 'their-template', Version: '$Default' },
            MinSize: 0,
            MaxSize: 0,
            VPCZoneIdentifier: '${a.Subnet.SubnetId}',
          },
        },
      ],
      /^error: Auto Scaling group gitlab-auto-scaling-group exists and does not belong to deployment 'gitlab' \(not tagged/,
    ],
    [
      'a CPU alarm',
      [
        {
          service: 'cloudwatch',
          call: 'PutMetricAlarm',
          input: {
            AlarmName: 'gitlab-cpu-low',
            Namespace: 'AWS/EC2',
            MetricName: 'CPUUtilization',
            Statistic: 'Average',
            Period: 60,
            EvaluationPeriods: 1,
            Threshold: 5,
            ComparisonOperator: 'LessThanThreshold',
          },
        },
      ],
      /^error: CloudWatch alarm gitlab-cpu-low exists and does not belong to deployment 'gitlab' \(not tagged/,
    ],
    [
      'a bucket in this account',
      [
        {
          service: 's3',
          call: 'CreateBucket',
          input: { Bucket: 'gl-gitlab-123456789012-lfs', CreateBucketConfiguration: { LocationConstraint: REGION } },
        },
      ],
      /^error: S3 bucket gl-gitlab-123456789012-lfs exists and does not belong to deployment 'gitlab' \(not tagged .*\) \(fix: delete it, or choose another --bucket-prefix or --deployment\)$/,
    ],
    [
      'a bucket name another account holds',
      [
        {
          service: 's3',
          call: 'CreateBucket',
          input: { Bucket: 'gl-gitlab-123456789012-backups', CreateBucketConfiguration: { LocationConstraint: REGION } },
          account: '210987654321',
        },
      ],
      /^error: the S3 bucket name gl-gitlab-123456789012-backups is held by another AWS account \(fix: choose another --bucket-prefix/,
    ],
  ];

  it.each(cases)('%s of our name is refused before anything, naming it and the fix', async (_what, seed, message) => {
    expect(await refused({ seed })).toMatch(message);
  });
});

describe('preflight on a resume asks only what the steps not complete still need', () => {
  it("a deployment's own Elastic IPs never count against it; another deployment meets them as used", async () => {
    const dir = await stateDir();
    const installed = await install(dir, {});
    expect(installed.code, installed.stderr).toBe(0);
    // Someone takes the fifth address of the region: our four stay ours.
    const aws = await createAwsSession({ region: REGION, sandbox: { stateDir: dir } });
    await (await aws.ec2()).allocateAddress({});
    await aws.close();

    const resumed = await install(dir, {});
    expect(resumed.code, resumed.stderr).toBe(0);
    const other = await runCli([
      'install',
      '--sandbox',
      '--yes',
      '--state-dir',
      dir,
      '--deployment',
      'other',
      '--domain',
      'other.example.com',
    ]);
    expect(other.code, other.stderr).toBe(2);
    expect(other.stderr).toMatch(/^error: the install allocates 4 Elastic IPs .*, but 5 of the 5 region us-west-2 allows are in use/);
    expect(await sandboxInventory(dir, 'other')).toEqual([]);
  });
});

describe('preflight pieces that need no install', () => {
  it('counts only the Standard families against the On-Demand Standard vCPU quota', () => {
    expect(['c5.2xlarge', 'm6i.large', 't3.micro', 'r7iz.large', 'z1d.large', 'i4i.large'].every(countsAsStandard)).toBe(true);
    // Their own quotas, although they start with a Standard letter.
    expect(
      ['inf1.xlarge', 'trn1.2xlarge', 'hpc6a.48xlarge', 'mac1.metal', 'dl1.24xlarge', 'p4d.24xlarge', 'g5.xlarge'].some(countsAsStandard),
    ).toBe(false);
  });

  it('the cache engine must be one ElastiCache offers in the region, named with its fix', async () => {
    const config = buildInstallConfig({ deployment: 'gitlab', region: REGION, file: {}, sandbox: true });
    const offering = (versions: unknown[]) => ({ describeCacheEngineVersions: async () => ({ CacheEngineVersions: versions }) }) as never;
    const left = toBuild({ config, state: undefined } as never);
    expect(await cacheOffered(offering([{ Engine: 'valkey', EngineVersion: '7.2' }]), config, left)).toBeUndefined();
    expect(await cacheOffered(offering([]), config, left)).toEqual({
      message: `ElastiCache offers no valkey 7.2 in ${REGION}`,
      fix: 'set cache.engine to redis, or choose another --region',
    });
  });
});

describe('preflight: the PostgreSQL version fits the GitLab release', () => {
  /** The release and the PostgreSQL the sandbox region resolves these answers to, by the install's own lookups. */
  async function resolved(file: ConfigFile) {
    const aws = keep(await createAwsSession({ region: REGION, sandbox: { stateDir: await stateDir() } }));
    const config = buildInstallConfig({ deployment: 'gitlab', region: REGION, file, sandbox: true });
    const gitlab = (await gitlabImageFor(await aws.ec2(), config)).version;
    const postgres = await engineVersion(await aws.rds(), config.database.engineVersion);
    return { aws, config, gitlab, postgres };
  }

  it('PostgreSQL 16 with GitLab 19: exit 2, one line, nothing created (flags and a config file alike)', async () => {
    const byFlags = await refused({ args: ['--db-engine-version', '16', '--gitlab-version', '19'] });
    expect(byFlags).toBe(
      `error: PostgreSQL 16 is too old for GitLab 19: GitLab 19 needs ${postgresNeeded(19)} ` +
        '(fix: set database.engineVersion to 17 (--db-engine-version 17, its newest minor), or gitlab.version to 18 (--gitlab-version 18); nothing was created)',
    );
    const byFile = await refused({ answers: { gitlab: { version: '19' }, database: { engineVersion: '16' } } });
    expect(byFile).toBe(byFlags);
  });

  it('GitLab 18.x refuses 16.4 (it needs 16.5 or newer) and accepts 16.5 or newer and 17', async () => {
    const line = await refused({ answers: { gitlab: { version: '18.11' }, database: { engineVersion: '16.4' } } });
    expect(line).toMatch(
      /^error: PostgreSQL 16\.4 is too old for GitLab 18\.11: GitLab 18 needs PostgreSQL 16\.5 or newer, up to 17\.x \(fix: /,
    );
    const build = (version: string, engineVersion: string) =>
      buildInstallConfig({
        deployment: 'gitlab',
        region: REGION,
        file: { gitlab: { version }, database: { engineVersion } },
        sandbox: true,
      });
    for (const postgres of ['16.5', '16.9', '16', '17', '17.2']) expect(() => build('18', postgres)).not.toThrow();
    for (const postgres of ['17', '17.2']) expect(() => build('19.5', postgres)).not.toThrow();
    expect(() => build('19.5.1', '16.9')).toThrow(/PostgreSQL 16\.9 is too old for GitLab 19\.5\.1/);
  });

  it('with no GitLab version asked, the newest release the official AMIs offer decides: PostgreSQL 16 is refused at preflight, naming both', async () => {
    const { gitlab, postgres } = await resolved({ database: { engineVersion: '16' } });
    // Offline the release is not known (a region may lag a major behind), so the file passes the config check ...
    expect(Number(gitlab.split('.')[0])).toBe(19);
    const line = await refused({ answers: { database: { engineVersion: '16' } } });
    // ... and preflight names the PostgreSQL RDS would run and the release the install would take.
    expect(line).toBe(
      `error: PostgreSQL ${postgres} (the newest 16.x RDS offers in ${REGION}) is too old for GitLab ${gitlab} ` +
        `(the newest release the official AMIs offer in ${REGION}): GitLab 19 needs ${postgresNeeded(19)} ` +
        '(fix: set database.engineVersion to 17 (--db-engine-version 17, its newest minor), or gitlab.version to 18 (--gitlab-version 18))',
    );
  });

  it('the same check holds what fits: 16 with the newest 18, 17 with the newest release, and the defaults', async () => {
    for (const file of [{ gitlab: { version: '18' }, database: { engineVersion: '16' } }, { database: { engineVersion: '17' } }, {}]) {
      const { aws, config, gitlab, postgres } = await resolved(file);
      expect(postgresFit(Number(gitlab.split('.')[0]), postgres), `${gitlab} with ${postgres}`).toBe('fits');
      expect(await databaseOffered(aws, config, toBuild({ config, state: undefined } as never))).toBeUndefined();
    }
  });
});
