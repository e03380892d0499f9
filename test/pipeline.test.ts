import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { STSClient } from '@aws-sdk/client-sts';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { EC2 } from '@aws-sdk/client-ec2';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { regionRefusal } from '../src/aws/region.js';
import { firstDifference } from '../src/commands/deployment.js';
import { readWorld, runInProcess, tempDir } from './helpers.js';

afterEach(() => {
  vi.restoreAllMocks();
});

const install = (dir: string, ...args: string[]) => runInProcess(['install', '--sandbox', '--yes', '--state-dir', dir, ...args]);

async function snapshot(dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const name of await readdir(dir)) files[name] = await readFile(join(dir, name), 'utf8');
  return files;
}

describe('install again on an installed deployment', () => {
  it('with the same flags: exit 0, nothing new created', async () => {
    const dir = await tempDir();
    expect((await install(dir, '--ssh-cidr', '203.0.113.0/24', '--bucket-prefix', 'acme-gl')).code).toBe(0);
    const before = (await readWorld(dir))!.mutations;
    const again = await install(dir, '--ssh-cidr', '203.0.113.0/24', '--bucket-prefix', 'acme-gl');
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('VPC: already done');
    expect((await readWorld(dir))!.mutations).toBe(before);
  });

  it('with the same config file, its keys in another order: exit 0, nothing new created', async () => {
    const dir = await tempDir();
    const config = join(dir, 'answers.json');
    await writeFile(config, JSON.stringify({ sshCidr: '203.0.113.0/24', vpcCidr: '10.20.0.0/16', subnetCidrs: subnets('10.20') }));
    expect((await install(dir, '--config', config)).code).toBe(0);
    const before = (await readWorld(dir))!.mutations;
    await writeFile(config, JSON.stringify({ subnetCidrs: subnets('10.20'), vpcCidr: '10.20.0.0/16', sshCidr: '203.0.113.0/24' }));
    const again = await install(dir, '--config', config);
    expect(again.code, again.stderr).toBe(0);
    expect((await readWorld(dir))!.mutations).toBe(before);
  });

  it('with a real change: exit 2, one line naming the key, the installed value and the new one; nothing touched', async () => {
    const dir = await tempDir();
    expect((await install(dir, '--ssh-cidr', '203.0.113.0/24')).code).toBe(0);
    const before = await snapshot(dir);
    const changed = await install(dir, '--ssh-cidr', '198.51.100.0/24');
    expect(changed.code).toBe(2);
    const lines = changed.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^error: sshCidr is 203\.0\.113\.0\/24 in the installed deployment 'gitlab', not 198\.51\.100\.0\/24 \(fix: .*another --deployment\)$/,
    );
    // A nested answer is named by its path, an answer not given before says so.
    const config = join(dir, 'answers.json');
    await writeFile(config, JSON.stringify({ subnetCidrs: { publicB: '10.0.12.0/24' } }));
    expect((await install(dir, '--config', config)).stderr).toContain('subnetCidrs.publicB is 10.0.2.0/24 in the installed');
    expect((await install(dir, '--bucket-prefix', 'acme-gl')).stderr).toContain('bucketPrefix is not set in the installed');
    delete (before as Record<string, string>)['answers.json'];
    const after = await snapshot(dir);
    delete after['answers.json'];
    expect(after).toEqual(before);
  });

  it('names the first differing answer, by value (key order never counts)', () => {
    expect(firstDifference({ a: 1, b: { c: '10.0.0.0/24' } }, { b: { c: '10.0.0.0/24' }, a: 1 })).toBeUndefined();
    expect(firstDifference({ zones: ['a', 'b'] }, { zones: ['b', 'a'] })).toEqual({
      key: 'zones',
      installed: ['a', 'b'],
      wanted: ['b', 'a'],
    });
  });
});

describe('preflight', () => {
  it('asks AWS who we are once per install (STS GetCallerIdentity), however many steps need the account', async () => {
    const send = vi.spyOn(STSClient.prototype, 'send');
    const dir = await tempDir();
    expect((await install(dir)).code).toBe(0);
    const identities = send.mock.calls.filter(([command]) => command.constructor.name === 'GetCallerIdentityCommand');
    expect(identities).toHaveLength(1);
  });

  it('refuses a region the account has not opted in to, before anything is created', async () => {
    const dir = await tempDir();
    const run = await install(dir, '--region', 'me-south-1');
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toEqual([
      'error: region me-south-1 is not enabled for this AWS account (not opted in) (fix: opt in to it in the AWS console (Account > AWS Regions), or choose another --region)',
    ]);
    expect(await readdir(dir)).toEqual([]);
  });

  it('takes any region AWS lists as usable, a new one included, and refuses one AWS does not know', async () => {
    const ec2 = (regions: Array<[string, string]>) =>
      ({
        describeRegions: async ({ AllRegions }: { AllRegions?: boolean }) => {
          expect(AllRegions).toBe(true);
          return { Regions: regions.map(([RegionName, OptInStatus]) => ({ RegionName, OptInStatus })) };
        },
      }) as unknown as Pick<EC2, 'describeRegions'>;
    const account = ec2([
      ['us-west-2', 'opt-in-not-required'],
      ['xx-newland-1', 'opted-in'],
      ['me-south-1', 'not-opted-in'],
    ]);
    expect(await regionRefusal(account, 'xx-newland-1')).toBeUndefined();
    expect(await regionRefusal(account, 'us-west-2')).toBeUndefined();
    expect(await regionRefusal(account, 'us-west-9')).toEqual({
      message: "unknown region 'us-west-9'",
      fix: 'use one of me-south-1, us-west-2, xx-newland-1',
    });
  });

  it('plan never talks to AWS: a region shaped right is taken, a malformed one refused', async () => {
    const dir = await tempDir();
    const send = vi.spyOn(STSClient.prototype, 'send');
    const ok = await runInProcess(['plan', '--region', 'xx-newland-1', '--state-dir', dir]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('xx-newland-1');
    expect(send).not.toHaveBeenCalled();
    const bad = await runInProcess(['plan', '--region', 'uswest2', '--state-dir', dir]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error: 'uswest2' is not an AWS region name/);
  });
});

describe('root-password', () => {
  /** Makes SSM GetParameter fail as AWS would, every other call passing through. */
  function failGetParameter(name: string, message: string) {
    const original = SSMClient.prototype.send;
    vi.spyOn(SSMClient.prototype, 'send').mockImplementation(function (this: SSMClient, command: { constructor: { name: string } }) {
      if (command.constructor.name === 'GetParameterCommand') return Promise.reject(Object.assign(new Error(message), { name }));
      return (original as (c: unknown) => Promise<unknown>).call(this, command);
    } as never);
  }

  it('prints the stored password, and says what AWS said when it cannot be read', async () => {
    const dir = await tempDir();
    expect((await install(dir)).code).toBe(0);
    const shown = await runInProcess(['root-password', '--sandbox', '--state-dir', dir]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout.trim()).toMatch(/^\S{16,}$/);

    failGetParameter('AccessDeniedException', 'User: arn:aws:iam::123:user/x is not authorized to perform: ssm:GetParameter');
    const denied = await runInProcess(['root-password', '--sandbox', '--state-dir', dir]);
    expect(denied.code).toBe(1);
    expect(denied.stderr).not.toContain('no root password stored');
    expect(denied.stderr).toMatch(
      /^error: cannot read \/gitlab-aws\/gitlab\/root-password: AccessDeniedException: User: .* is not authorized .* \(fix: grant ssm:GetParameter to the identity in use/,
    );

    vi.restoreAllMocks();
    failGetParameter('KMSAccessDeniedException', 'The ciphertext refers to a customer master key that does not exist');
    const kms = await runInProcess(['root-password', '--sandbox', '--state-dir', dir]);
    expect(kms.stderr).toMatch(/KMSAccessDeniedException: The ciphertext refers/);
    expect(kms.stderr).not.toContain('no root password stored');

    vi.restoreAllMocks();
    failGetParameter('ParameterNotFound', 'Parameter not found');
    const missing = await runInProcess(['root-password', '--sandbox', '--state-dir', dir]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe(
      `error: no root password stored at /gitlab-aws/gitlab/root-password (fix: finish the install first: 'gitlab-aws resume --state-dir ${dir} --sandbox')\n`,
    );
  });
});

function subnets(prefix: string) {
  return { publicA: `${prefix}.0.0/24`, privateA: `${prefix}.1.0/24`, publicB: `${prefix}.2.0/24`, privateB: `${prefix}.3.0/24` };
}
