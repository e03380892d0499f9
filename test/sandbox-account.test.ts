import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { readFile, readdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createAwsSession, type AwsSession } from '../src/aws/clients.js';
import { TAG_DEPLOYMENT } from '../src/aws/tags.js';
import { openSandbox, sandboxOptionsFromEnv } from '../src/sandbox/index.js';
import { dice } from '../src/sandbox/random.js';
import { worldFile } from '../src/sandbox/world.js';
import { readWorld, sandboxInventory } from './helpers.js';
import { sandboxFixtures } from './sandbox-fixtures.js';

const REGION = 'us-west-2';

afterEach(async () => {
  delete process.env.GITLAB_AWS_SANDBOX_SEED;
});

const { stateDir, keep } = sandboxFixtures('gitlab-aws-account-');

async function session(dir: string): Promise<AwsSession> {
  const s = await createAwsSession({ region: REGION, sandbox: { stateDir: dir } });
  keep(s);
  return s;
}

async function writeSeed(dir: string, seed: unknown): Promise<string> {
  const file = join(dir, 'seed.json');
  await writeFile(file, typeof seed === 'string' ? seed : JSON.stringify(seed));
  return file;
}

/** A PID that belonged to a process which has exited: what a kill -9 leaves in a lock file. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '0']).pid!;
}

const vpcCall = (deployment: string) => ({
  service: 'ec2' as const,
  region: REGION,
  operation: 'CreateVpc',
  input: { CidrBlock: '10.0.0.0/16', TagSpecifications: [{ ResourceType: 'vpc', Tags: [{ Key: TAG_DEPLOYMENT, Value: deployment }] }] },
});

const TRUST = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});
const roleCall = (deployment: string, n: number) => ({
  service: 'iam' as const,
  region: REGION,
  operation: 'CreateRole',
  input: { RoleName: `${deployment}-role-${n}`, AssumeRolePolicyDocument: TRUST, Tags: [{ Key: TAG_DEPLOYMENT, Value: deployment }] },
});

describe('the sandbox account is shared by every sandbox on a state directory', () => {
  it('two sandboxes creating at the same time both keep what they made, with distinct IDs', async () => {
    const dir = await stateDir();
    const [a, b] = await Promise.all([openSandbox({ stateDir: dir, faults: { consistencyLag: 0 } }), openSandbox({ stateDir: dir })]);
    const made = await Promise.all(
      Array.from(
        { length: 20 },
        (_, i) => (i % 2 ? b : a).intercept(roleCall(i % 2 ? 'b' : 'a', i)) as Promise<{ Role: { RoleId: string } }>,
      ),
    );
    // IDs come from the account's one generator, not from a copy in each sandbox.
    expect(new Set(made.map((m) => m.Role.RoleId)).size).toBe(20);
    const names = (deployment: string) =>
      Array.from({ length: 10 }, (_, i) => `${deployment}-role-${2 * i + (deployment === 'b' ? 1 : 0)}`);
    expect((await sandboxInventory(dir, 'a')).map((r) => r.id).sort()).toEqual(names('a').sort());
    expect((await sandboxInventory(dir, 'b')).map((r) => r.id).sort()).toEqual(names('b').sort());

    // Each sees the other's latest work at its next call, not only after reopening.
    await b.intercept(roleCall('b', 99));
    expect(a.inventory('b').map((r) => r.id)).not.toContain('b-role-99');
    await a.intercept({ service: 'iam', region: REGION, operation: 'GetRole', input: { RoleName: 'b-role-99' } });
    expect(a.inventory('b')).toHaveLength(11);
    await Promise.all([a.close(), b.close()]);
    expect((await readWorld(dir))!.mutations).toBe(21);
  });

  it('takes over the account lock of a killed process at once, whatever it left behind', async () => {
    for (const left of [JSON.stringify({ pid: deadPid(), host: hostname() }), '']) {
      const dir = await stateDir();
      await writeFile(join(dir, 'sandbox-world.lock'), left);
      const sandbox = await openSandbox({ stateDir: dir });
      await sandbox.intercept(vpcCall('after-crash'));
      expect(sandbox.inventory('after-crash')).toHaveLength(1);
      expect(await readdir(dir)).toEqual(['sandbox-world.json']);
    }
  });

  it('takes over a lock far older than any call even when its PID runs (a reused PID)', async () => {
    const dir = await stateDir();
    const lock = join(dir, 'sandbox-world.lock');
    await writeFile(lock, JSON.stringify({ pid: process.pid, host: hostname() }));
    const longAgo = new Date(Date.now() - 60_000);
    await utimes(lock, longAgo, longAgo);
    const sandbox = await openSandbox({ stateDir: dir });
    await sandbox.intercept(vpcCall('after-reuse'));
    expect(sandbox.inventory('after-reuse')).toHaveLength(1);
  });
});

describe('a seed file stages what the account holds before the first run', () => {
  const foreign = {
    description: 'someone else was here first',
    calls: [
      { service: 'ec2', call: 'CreateVpc', input: { CidrBlock: '10.9.0.0/16' }, as: 'theirVpc' },
      {
        service: 'ec2',
        call: 'CreateSecurityGroup',
        input: { GroupName: 'theirs', Description: 'not ours', VpcId: '${theirVpc.Vpc.VpcId}' },
        as: 'theirGroup',
      },
      {
        service: 's3',
        call: 'CreateBucket',
        input: { Bucket: 'a-taken-name', CreateBucketConfiguration: { LocationConstraint: REGION } },
        account: '210987654321',
      },
      {
        service: 'ssm',
        call: 'PutParameter',
        input: { Name: '/gitlab-aws/gitlab/left-by-hand', Value: 'in ${theirVpc.Vpc.VpcId}', Type: 'String' },
      },
    ],
  };

  it('applies the calls through the sandbox rules: foreign VPC and group, a bucket name taken by another account, a parameter on our path', async () => {
    const dir = await stateDir();
    process.env.GITLAB_AWS_SANDBOX_SEED = await writeSeed(dir, foreign);
    const aws = await session(dir);
    const ec2 = await aws.ec2();

    const vpcs = (await ec2.describeVpcs({ Filters: [{ Name: 'cidr-block', Values: ['10.9.0.0/16'] }] })).Vpcs ?? [];
    expect(vpcs).toHaveLength(1);
    expect(vpcs[0]!.State).toBe('available');
    const groups = (await ec2.describeSecurityGroups({ Filters: [{ Name: 'group-name', Values: ['theirs'] }] })).SecurityGroups ?? [];
    expect(groups.map((g) => g.VpcId)).toEqual([vpcs[0]!.VpcId]);

    const s3 = await aws.s3();
    await expect(
      s3.createBucket({ Bucket: 'a-taken-name', CreateBucketConfiguration: { LocationConstraint: REGION } }),
    ).rejects.toMatchObject({
      name: 'BucketAlreadyExists',
    });
    // It is the other account's: nothing of ours carries that name.
    const world = (await readWorld(dir))!;
    expect(world.s3.buckets['a-taken-name']?.owner).not.toBe(world.accountId);

    const ssm = await aws.ssm();
    const parameter = (await ssm.getParameter({ Name: '/gitlab-aws/gitlab/left-by-hand' })).Parameter;
    expect(parameter?.Value).toBe(`in ${vpcs[0]!.VpcId}`);
  });

  it('is used only for a new account: the same seed again is fine, another seed is refused', async () => {
    const dir = await stateDir();
    const seed = await writeSeed(dir, foreign);
    await (await openSandbox({ stateDir: dir, seed })).close();
    const made = await readWorld(dir);
    await (await openSandbox({ stateDir: dir, seed })).close();
    expect(await readWorld(dir)).toEqual(made);

    const other = join(dir, 'other.json');
    await writeFile(other, JSON.stringify({ calls: [] }));
    await expect(openSandbox({ stateDir: dir, seed: other })).rejects.toThrow(
      /does not match the sandbox account .* made from another seed/,
    );
  });

  it.each([
    ['not JSON', '{"calls": [', /is not valid JSON/],
    [
      'an unknown field',
      { calls: [{ service: 'ec2', call: 'CreateVpc', inptu: {} }] },
      /calls\[0\] ec2:CreateVpc: Unrecognized key.*inptu/,
    ],
    [
      'a bad account',
      { calls: [{ service: 's3', call: 'CreateBucket', as: 'b', account: '42' }] },
      /calls\[0\] "b" account: a 12-digit AWS account ID/,
    ],
    [
      'an unknown call',
      { calls: [{ service: 'ec2', call: 'CreateTransitGateway' }] },
      /calls\[0\] ec2:CreateTransitGateway: the sandbox does not implement/,
    ],
    [
      'a reference to nothing',
      { calls: [{ service: 'ec2', call: 'CreateSubnet', input: { VpcId: '${nope.Vpc.VpcId}' } }] },
      /\$\{nope\.Vpc\.VpcId\} names no earlier output/,
    ],
    [
      'a call AWS refuses',
      { calls: [{ service: 'ec2', call: 'CreateVpc', input: { CidrBlock: '10.0.0.0/8' } }] },
      /calls\[0\] ec2:CreateVpc failed: \w+/,
    ],
  ])('a bad seed (%s) is one error naming the entry and the fix; no account is made', async (_label, seed, message) => {
    const dir = await stateDir();
    const file = await writeSeed(dir, seed);
    const refusal = openSandbox({ stateDir: dir, seed: file });
    await expect(refusal).rejects.toThrow(message);
    await expect(refusal).rejects.toMatchObject({ code: 2, hint: expect.stringContaining('GITLAB_AWS_SANDBOX_SEED') });
    expect(await readWorld(dir)).toBeUndefined();
  });

  it('stages a hosted zone and an issued certificate that the SDK clients then find', async () => {
    const dir = await stateDir();
    const fixture = (name: string) => readFile(join(import.meta.dirname, 'fixtures', name), 'utf8');
    const seed = await writeSeed(dir, {
      // Without the built-in account's zone: this seed stages its own example.com.
      startEmpty: true,
      calls: [
        { service: 'route53', call: 'CreateHostedZone', input: { Name: 'example.com', CallerReference: 'theirs' }, as: 'zone' },
        {
          service: 'acm',
          call: 'ImportCertificate',
          input: { Certificate: await fixture('gitlab.example.com.crt'), PrivateKey: await fixture('gitlab.example.com.key') },
        },
      ],
    });
    await (await openSandbox({ stateDir: dir, seed })).close();
    const aws = await session(dir);
    const zones = (await (await aws.route53()).listHostedZonesByName({ DNSName: 'example.com' })).HostedZones ?? [];
    expect(zones.map((z) => z.Name)).toEqual(['example.com.']);
    const certificates = (await (await aws.acm()).listCertificates({})).CertificateSummaryList ?? [];
    expect(certificates.map((c) => [c.DomainName, c.Status])).toEqual([['gitlab.example.com', 'ISSUED']]);
  });
});

describe('the sandbox dice', () => {
  it('depend on what they are for and the seed, never on how many were thrown before', () => {
    const draw = (roll: () => number) => [roll(), roll(), roll()];
    const first = draw(dice(7, 'ec2', 'CreateVpc', 1500));
    for (let i = 0; i < 50; i++) dice(7, 'ec2', 'DescribeVpcs', i)();
    expect(draw(dice(7, 'ec2', 'CreateVpc', 1500))).toEqual(first);
    expect(draw(dice(8, 'ec2', 'CreateVpc', 1500))).not.toEqual(first);
    expect(draw(dice(7, 'ec2', 'CreateVpc', 1650))).not.toEqual(first);
    expect(first.every((v) => v >= 0 && v < 1)).toBe(true);
  });
});

describe('sandbox inputs are validated', () => {
  it.each([
    ['{"throttleRate": 2}', /GITLAB_AWS_SANDBOX_FAULTS is invalid \(throttleRate: .*1/],
    ['{"crashAfter": "5"}', /GITLAB_AWS_SANDBOX_FAULTS is invalid \(crashAfter: .*number/],
    ['{"crashafter": 5}', /GITLAB_AWS_SANDBOX_FAULTS is invalid \(Unrecognized key.*crashafter/],
    ['[1]', /GITLAB_AWS_SANDBOX_FAULTS is invalid \(.*object/],
    ['{crashAfter: 5}', /GITLAB_AWS_SANDBOX_FAULTS is not valid JSON/],
  ])('a fault variable %s is bad input with a fix', (value, message) => {
    expect(() => sandboxOptionsFromEnv({ GITLAB_AWS_SANDBOX_FAULTS: value })).toThrow(message);
    expect(() => sandboxOptionsFromEnv({ GITLAB_AWS_SANDBOX_FAULTS: value })).toThrow(expect.objectContaining({ code: 2 }));
  });

  it('a world file that fails validation is refused with how to start over, and left as it was', async () => {
    const dir = await stateDir();
    await writeFile(worldFile(dir), JSON.stringify({ version: 1, accountId: 'me', ec2: {} }));
    await expect(openSandbox({ stateDir: dir })).rejects.toThrow(/sandbox world .*sandbox-world\.json is unusable \(accountId: /);
    await expect(openSandbox({ stateDir: dir })).rejects.toMatchObject({ code: 2, hint: 'delete it to start an empty sandbox account' });
  });

  it('test helpers read only a missing world as "no world"; an unreadable one fails the test', async () => {
    const dir = await stateDir();
    expect(await readWorld(dir)).toBeUndefined();
    await expect(sandboxInventory(dir)).rejects.toThrow(/no sandbox world/);
    await writeFile(worldFile(dir), '{"version": 1, "ec2": {');
    await expect(readWorld(dir)).rejects.toThrow(/not valid JSON/);
    await expect(sandboxInventory(dir)).rejects.toThrow(/not valid JSON/);
  });
});
