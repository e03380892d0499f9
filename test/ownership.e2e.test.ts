import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createAwsSession, type AwsSession } from '../src/aws/clients.js';
import { TAG_DEPLOYMENT } from '../src/aws/tags.js';
import type { StateDoc } from '../src/state/schema.js';
import { readState } from '../src/state/store.js';
import { readWorld, runCli, sandboxInventory, statusJson } from './helpers.js';
import { sandboxFixtures } from './sandbox-fixtures.js';

/**
 * Ownership, checked at the moment of deleting: a resource is this deployment's only if it
 * carries gitlab-aws:deployment=<deployment> (or hangs off one that does). Whatever else a
 * teardown meets, through a stale state file or a name someone else took, is left alone and named.
 */

const REGION = 'us-west-2';

const { stateDir, keep } = sandboxFixtures('gitlab-aws-own-');

const cli = (dir: string, args: string[], env: Record<string, string> = {}) =>
  runCli([...args, '--sandbox', '--yes', '--state-dir', dir], env);

/** The --json messages of a run, in order. */
function messages(stdout: string) {
  return stdout
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { type: string; level?: string; code?: string; text?: string; data?: Record<string, unknown> });
}

const foreignLines = (stdout: string) =>
  messages(stdout)
    .filter((m) => m.code === 'teardown.foreign')
    .map((m) => m.text)
    .sort();

async function writeSeed(dir: string, calls: unknown[]): Promise<Record<string, string>> {
  const file = join(dir, 'seed.json');
  await writeFile(file, JSON.stringify({ calls }));
  return { GITLAB_AWS_SANDBOX_SEED: file };
}

/** "Someone else" in the same sandbox account: the SDK clients on the same world, outside our CLI. */
async function someoneElse(dir: string): Promise<AwsSession> {
  const session = await createAwsSession({ region: REGION, sandbox: { stateDir: dir } });
  keep(session);
  return session;
}

const otherTags = [
  { Key: 'Name', Value: 'theirs' },
  { Key: TAG_DEPLOYMENT, Value: 'other' },
];

describe('SSM parameters under /gitlab-aws/<deployment>/ that we did not make', () => {
  it('are not listed by status --discover, and teardown leaves them alone', async () => {
    const dir = await stateDir();
    const untagged = '/gitlab-aws/gitlab/left-by-hand';
    const otherTagged = '/gitlab-aws/gitlab/their-setting';
    const env = await writeSeed(dir, [
      { service: 'ssm', call: 'PutParameter', input: { Name: untagged, Value: 'x', Type: 'String' } },
      { service: 'ssm', call: 'PutParameter', input: { Name: otherTagged, Value: 'y', Type: 'String', Tags: otherTags } },
    ]);
    const installed = await cli(dir, ['install', '--json'], env);
    expect(installed.code, installed.stderr).toBe(0);

    const discovered = await cli(dir, ['status', '--discover', '--json'], env);
    expect(discovered.code, discovered.stderr).toBe(0);
    const listed = statusJson(discovered.stdout).resources.filter((r) => r.type === 'AWS::SSM::Parameter');
    expect(listed.length).toBe(11); // ours, every one
    expect(listed.map((r) => r.id)).not.toContain(untagged);
    expect(listed.map((r) => r.id)).not.toContain(otherTagged);

    const gone = await cli(dir, ['teardown', '--json'], env);
    expect(gone.code, gone.stderr).toBe(0);
    const world = (await readWorld(dir))!;
    expect(
      Object.values(world.ssm.parameters)
        .map((p) => p.name)
        .sort(),
    ).toEqual([untagged, otherTagged].sort());
    expect(await sandboxInventory(dir)).toEqual([]);
  });
});

describe('a stale state file, restored from an old copy after a teardown', () => {
  /**
   * Install, keep a copy of the state file, tear down; then someone else takes our names: a role,
   * an empty bucket tagged for their deployment, a bucket holding data, one of our secrets' names.
   */
  async function staged() {
    const dir = await stateDir();
    const file = join(dir, 'gitlab.json');
    const installed = await cli(dir, ['install']);
    expect(installed.code, installed.stderr).toBe(0);
    const old = join(dir, 'old-copy.json');
    await copyFile(file, old);
    const state = (await readState(file))!;
    const named = (type: string) => state.resources.filter((r) => r.type === type).map((r) => r.id);
    const [emptyBucket, dataBucket] = named('AWS::S3::Bucket') as [string, string];
    const role = named('AWS::IAM::Role')[0]!;
    const parameter = named('AWS::SSM::Parameter').find((n) => n.endsWith('/root-password'))!;
    const first = await cli(dir, ['teardown']);
    expect(first.code, first.stderr).toBe(0);
    expect(await readState(file)).toBeUndefined();

    const theirs = await someoneElse(dir);
    const trust = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
    });
    await (await theirs.iam()).createRole({ RoleName: role, AssumeRolePolicyDocument: trust });
    const s3 = await theirs.s3();
    await s3.createBucket({ Bucket: emptyBucket, CreateBucketConfiguration: { LocationConstraint: REGION, Tags: otherTags } });
    await s3.createBucket({ Bucket: dataBucket, CreateBucketConfiguration: { LocationConstraint: REGION } });
    await s3.putObject({ Bucket: dataBucket, Key: 'their-report.csv', Body: 'a,b\n1,2\n' });
    await (await theirs.ssm()).putParameter({ Name: parameter, Value: 'their value', Type: 'String' });

    await copyFile(old, file);
    const what = async () => {
      const world = (await readWorld(dir))!;
      return {
        role: world.iam.roles[role]?.tags,
        emptyBucket: world.s3.buckets[emptyBucket]?.tags,
        data: Object.keys(world.s3.buckets[dataBucket]?.objects ?? {}),
        parameter: Object.values(world.ssm.parameters).find((p) => p.name === parameter)?.tags,
      };
    };
    const before = await what();
    expect(before.data).toEqual(['their-report.csv']);
    const expectedLines = [
      `left alone: AWS::IAM::Role ${role} (not tagged ${TAG_DEPLOYMENT}=gitlab)`,
      `left alone: AWS::S3::Bucket ${dataBucket} (not tagged ${TAG_DEPLOYMENT}=gitlab)`,
      `left alone: AWS::S3::Bucket ${emptyBucket} (tagged ${TAG_DEPLOYMENT}=other)`,
      `left alone: AWS::SSM::Parameter ${parameter} (not tagged ${TAG_DEPLOYMENT}=gitlab)`,
    ].sort();
    return { dir, file, old, what, before, expectedLines };
  }

  it('teardown leaves their role, their empty bucket and their parameter alone, names each, exits 0 and forgets them', async () => {
    const { dir, file, what, before, expectedLines } = await staged();
    // AWS holds nothing of ours now: discovery finds none of theirs either, whatever the names say.
    const discovered = await cli(dir, ['status', '--discover', '--json']);
    expect(discovered.code, discovered.stderr).toBe(0);
    expect(statusJson(discovered.stdout).resources).toEqual([]);
    const second = await cli(dir, ['teardown', '--json']);
    expect(second.code, second.stderr).toBe(0);
    expect(foreignLines(second.stdout)).toEqual(expectedLines);
    expect(messages(second.stdout).find((m) => m.code === 'teardown.foreign')?.level).toBe('warn');
    expect(await what()).toEqual(before);
    // Nothing of ours was left, so the state file is gone: theirs is not ours to track.
    expect(await readState(file)).toBeUndefined();
  });

  it('teardown --delete-data neither empties nor deletes their bucket holding data', async () => {
    const { dir, file, what, before, expectedLines } = await staged();
    const second = await cli(dir, ['teardown', '--delete-data', '--json']);
    expect(second.code, second.stderr).toBe(0);
    expect(foreignLines(second.stdout)).toEqual(expectedLines);
    expect(await what()).toEqual(before);
    expect(await readState(file)).toBeUndefined();
  });

  it('the text output names each one on a line of its own', async () => {
    const { dir, expectedLines } = await staged();
    const second = await cli(dir, ['teardown']);
    expect(second.code, second.stderr).toBe(0);
    const out = second.stdout + second.stderr;
    for (const line of expectedLines) expect(out).toContain(line);
  });
});

describe('a VPC named like ours that is not ours', () => {
  const theirVpc = (dir: string) =>
    writeSeed(dir, [
      {
        service: 'ec2',
        call: 'CreateVpc',
        as: 'theirs',
        input: { CidrBlock: '10.0.0.0/16', TagSpecifications: [{ ResourceType: 'vpc', Tags: [{ Key: 'Name', Value: 'gitlab-vpc' }] }] },
      },
      {
        service: 'ec2',
        call: 'CreateSecurityGroup',
        input: { GroupName: 'their-web', Description: 'not ours', VpcId: '${theirs.Vpc.VpcId}' },
      },
    ]);

  async function theirs(dir: string) {
    const world = (await readWorld(dir))!;
    const vpc = Object.values(world.ec2).find((r) => r.kind === 'vpc' && r.tags[TAG_DEPLOYMENT] === undefined)!;
    const group = Object.values(world.ec2).find(
      (r) => r.kind === 'security-group' && r.attrs.vpcId === vpc.id && r.attrs.groupName === 'their-web',
    )!;
    return { vpc, group };
  }

  it('the install warns before it builds, names it in the plan, builds a second VPC beside it and never adopts it', async () => {
    const dir = await stateDir();
    const env = await theirVpc(dir);
    const installed = await cli(dir, ['install', '--json'], env);
    expect(installed.code, installed.stderr).toBe(0);
    const { vpc } = await theirs(dir);
    const lines = messages(installed.stdout);

    const warning = lines.findIndex((m) => m.code === 'warn.foreign-vpc');
    expect(warning).toBeGreaterThanOrEqual(0);
    expect(lines[warning]!.level).toBe('warn');
    expect(lines[warning]!.text).toContain(vpc.id);
    expect(lines[warning]!.text).toContain('a second VPC gitlab-vpc will be built beside it');
    expect(warning).toBeLessThan(lines.findIndex((m) => m.type === 'run-started'));
    expect(lines.find((m) => m.code === 'plan')!.text).toContain(`beside ${vpc.id}`);

    const state = (await readState(join(dir, 'gitlab.json')))!;
    const ours = state.steps['vpc']!.outputs!.vpcId as string;
    expect(ours).not.toBe(vpc.id);
    expect(state.resources.map((r) => r.id)).not.toContain(vpc.id);
    const after = await theirs(dir);
    expect(after.vpc).toEqual(vpc); // unchanged: no tags added, no attribute turned on

    // A resume looks again, warns again and still builds on our own VPC only.
    const resumed = await cli(dir, ['resume', '--json'], env);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(messages(resumed.stdout).some((m) => m.code === 'warn.foreign-vpc')).toBe(true);
    expect((await readState(join(dir, 'gitlab.json')))!.steps['vpc']!.outputs!.vpcId).toBe(ours);
  });

  it('an install with no such VPC gives no warning', async () => {
    const dir = await stateDir();
    const installed = await cli(dir, ['install', '--json']);
    expect(installed.code, installed.stderr).toBe(0);
    expect(messages(installed.stdout).some((m) => m.code === 'warn.foreign-vpc')).toBe(false);
    expect(messages(installed.stdout).find((m) => m.code === 'plan')!.text).not.toContain('Note:');
  });

  it('recorded by a state file that is wrong, it and its security group are left alone and named by the teardown', async () => {
    const dir = await stateDir();
    const env = await theirVpc(dir);
    const installed = await cli(dir, ['install'], env);
    expect(installed.code, installed.stderr).toBe(0);
    const { vpc, group } = await theirs(dir);
    const file = join(dir, 'gitlab.json');
    const state = JSON.parse(await readFile(file, 'utf8')) as StateDoc;
    const recordedAt = new Date().toISOString();
    state.resources.push(
      { type: 'AWS::EC2::VPC', id: vpc.id, name: 'gitlab-vpc', step: 'vpc', recordedAt },
      { type: 'AWS::EC2::SecurityGroup', id: group.id, name: 'their-web', step: 'security-groups', recordedAt },
    );
    await writeFile(file, JSON.stringify(state));

    const gone = await cli(dir, ['teardown', '--json'], env);
    expect(gone.code, gone.stderr).toBe(0);
    expect(foreignLines(gone.stdout)).toEqual(
      [
        `left alone: AWS::EC2::SecurityGroup their-web ${group.id} (not tagged ${TAG_DEPLOYMENT}=gitlab)`,
        `left alone: AWS::EC2::VPC gitlab-vpc ${vpc.id} (not tagged ${TAG_DEPLOYMENT}=gitlab)`,
      ].sort(),
    );
    expect(await theirs(dir)).toEqual({ vpc, group });
    expect(await sandboxInventory(dir)).toEqual([]);
    expect(await readState(file)).toBeUndefined();
  });
});

describe('adoption at install stays strict', () => {
  const trust = JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
  });
  const bucket = 'gl-gitlab-123456789012-artifacts'; // the sandbox account's, as bucketNames spells it
  const role = 'gitlab-GitLabS3Access';

  it.each([
    {
      what: 'a role',
      call: { service: 'iam', call: 'CreateRole', input: { RoleName: role, AssumeRolePolicyDocument: trust } },
      says: `IAM role ${role} exists and does not belong to deployment 'gitlab' (not tagged ${TAG_DEPLOYMENT}=gitlab) (fix: delete or rename it, or choose another --deployment)`,
      tags: async (dir: string) => (await readWorld(dir))!.iam.roles[role]?.tags,
    },
    {
      what: 'a bucket',
      call: { service: 's3', call: 'CreateBucket', input: { Bucket: bucket, CreateBucketConfiguration: { LocationConstraint: REGION } } },
      says: `S3 bucket ${bucket} exists and does not belong to deployment 'gitlab' (not tagged ${TAG_DEPLOYMENT}=gitlab) (fix: delete it, or choose another --bucket-prefix or --deployment)`,
      tags: async (dir: string) => (await readWorld(dir))!.s3.buckets[bucket]?.tags,
    },
  ])(
    '$what of our name without our tag stops the install before anything, naming it and the fix, and is never touched',
    async ({ call, says, tags }) => {
      const dir = await stateDir();
      const env = await writeSeed(dir, [call]);
      const installed = await cli(dir, ['install'], env);
      // Preflight refuses it before anything is made: no state file, nothing of ours.
      expect(installed.code).toBe(2);
      expect(installed.stderr.trim()).toBe(`error: ${says}`);
      expect(await readState(join(dir, 'gitlab.json'))).toBeUndefined();

      // A teardown that looks by tag leaves it alone too.
      const gone = await cli(dir, ['teardown', '--discover', '--json'], env);
      expect(gone.code, gone.stderr).toBe(0);
      expect(await tags(dir)).toEqual({});
      expect(await sandboxInventory(dir)).toEqual([]);
    },
  );
});
