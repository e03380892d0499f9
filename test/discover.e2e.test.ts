import { rename } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createAwsSession } from '../src/aws/clients.js';
import { buildInstallConfig } from '../src/config/schema.js';
import { railsNodeInput } from '../src/gitlab/node-inputs.js';
import { BUCKET_TYPES } from '../src/steps/names.js';
import { inInventory, runCli, runRecorded, sandboxInventory, shape, tempDir } from './helpers.js';

/** An installed sandbox deployment whose state file was then lost (moved out of the way). */
async function installThenLoseState(extra: string[]): Promise<string> {
  const dir = await tempDir();
  const install = await runCli(['install', '--sandbox', '--yes', '--state-dir', dir, ...extra]);
  expect(install.code, install.stderr).toBe(0);
  await rename(join(dir, 'gitlab.json'), join(dir, 'lost.json'));
  return dir;
}

/** `teardown --discover --yes --delete-data` from a state directory without a state file, to nothing. */
async function discoverTeardownToNothing(dir: string, region: string[]) {
  const before = await sandboxInventory(dir);
  expect(shape(before)['AWS::S3::Bucket']).toBe(BUCKET_TYPES.length);
  const teardown = await runCli(['teardown', '--sandbox', '--discover', '--yes', '--delete-data', '--state-dir', dir, ...region]);
  expect(teardown.code, teardown.stderr).toBe(0);
  // It listed what it found before deleting it: every resource of the account's inventory.
  for (const r of before) expect(teardown.stdout).toContain(r.id);
  expect(await sandboxInventory(dir)).toEqual([]);
  expect(existsSync(join(dir, 'gitlab.json'))).toBe(false);
}

describe('teardown --discover, without a state file', () => {
  it('removes every bucket of an install made with a non-default --bucket-prefix, and everything else', async () => {
    const dir = await installThenLoseState(['--bucket-prefix', 'acme-gitlab-poc']);
    const buckets = (await sandboxInventory(dir)).filter((r) => r.type === 'AWS::S3::Bucket');
    expect(buckets.every((b) => b.id.startsWith('acme-gitlab-poc-'))).toBe(true);
    // Without --bucket-prefix: discovery finds the buckets by their tags, not by the default names.
    await discoverTeardownToNothing(dir, []);
  });

  it('removes a deployment installed in eu-west-1; from another region it says where the deployment is, deleting nothing', async () => {
    const dir = await installThenLoseState(['--region', 'eu-west-1']);
    const before = await sandboxInventory(dir);
    for (const command of [['status'], ['teardown', '--yes', '--delete-data']]) {
      const elsewhere = await runCli([...command, '--sandbox', '--discover', '--state-dir', dir]);
      expect(elsewhere.code).toBe(2);
      expect(elsewhere.stderr).not.toMatch(/must be addressed using the specified endpoint/);
      expect(elsewhere.stderr).toMatch(
        /^error: S3 bucket gl-gitlab-\d{12}-\S+ of deployment 'gitlab' is in eu-west-1, not us-west-2.*\(fix: pass --region eu-west-1\)\n$/,
      );
    }
    expect(await sandboxInventory(dir)).toEqual(before);
    await discoverTeardownToNothing(dir, ['--region', 'eu-west-1']);
  });

  it('lists what it found and asks; without --yes and without a terminal it refuses and deletes nothing', async () => {
    const dir = await installThenLoseState([]);
    const before = await sandboxInventory(dir);
    const teardown = await runCli(['teardown', '--sandbox', '--discover', '--state-dir', dir]);
    expect(teardown.code).toBe(2);
    expect(teardown.stderr).toContain('confirm-teardown-discovered');
    expect(teardown.stdout).toContain(before.find((r) => r.type === 'AWS::EC2::VPC')!.id);
    expect(await sandboxInventory(dir)).toEqual(before);
    expect(existsSync(join(dir, 'gitlab.json'))).toBe(false);
  });
});

describe('teardown --discover with a state file', () => {
  it('tears down what the state file recorded and what the tags show, leaving no state file', async () => {
    const dir = await tempDir();
    expect((await runCli(['install', '--sandbox', '--yes', '--state-dir', dir])).code).toBe(0);
    const teardown = await runCli(['teardown', '--sandbox', '--discover', '--yes', '--state-dir', dir]);
    expect(teardown.code, teardown.stderr).toBe(0);
    expect(teardown.stdout).toMatch(/\d+ resources tagged with this deployment, \d+ recorded in the state file/);
    expect(await sandboxInventory(dir)).toEqual([]);
    expect(existsSync(join(dir, 'gitlab.json'))).toBe(false);
  });
});

describe('what the nodes stored', () => {
  it("a plain teardown removes the keys the base's reconfigure stored below generated/, found by their tags", async () => {
    const dir = await tempDir();
    expect((await runCli(['install', '--sandbox', '--yes', '--state-dir', dir])).code).toBe(0);
    // As the base's user-data stores them (user-data.ts): below the generated path, with the rendered tags.
    const { generated } = railsNodeInput(buildInstallConfig({ deployment: 'gitlab', region: 'us-west-2', sandbox: true }), 'base', {});
    const name = `${generated.path}/gitlab_workhorse/secret_token`;
    const session = await createAwsSession({ region: 'us-west-2', sandbox: { stateDir: dir } });
    const ssm = await session.ssm();
    await ssm.putParameter({
      Name: name,
      Value: '"stored"',
      Type: 'SecureString',
      Tags: [...generated.tags, { Key: 'Name', Value: name }],
    });
    await session.close();
    const teardown = await runCli(['teardown', '--sandbox', '--yes', '--state-dir', dir]);
    expect(teardown.code, teardown.stderr).toBe(0);
    expect(await sandboxInventory(dir)).toEqual([]);
    const after = await createAwsSession({ region: 'us-west-2', sandbox: { stateDir: dir } });
    await expect((await after.ssm()).getParameter({ Name: name })).rejects.toThrow(/not found/);
    await after.close();
  });
});

describe('teardown --discover asks through the host', () => {
  it('asks confirm-teardown-discovered after listing what it found; answered no, it changes nothing', async () => {
    const dir = await installThenLoseState([]);
    const before = await sandboxInventory(dir);
    const { code, host } = await runRecorded(['teardown', '--sandbox', '--discover', '--state-dir', dir], {
      'confirm-teardown-discovered': false,
    });
    expect(code).toBe(2);
    expect(host.asked).toEqual(['confirm-teardown-discovered']);
    const listed = host.messages.find((m) => m.code === 'teardown.discovered');
    expect(
      (listed?.data as { resources: Array<{ type: string; id: string }> }).resources
        .filter(inInventory)
        .map((r) => r.id)
        .sort(),
    ).toEqual(before.map((r) => r.id).sort());
    expect(await sandboxInventory(dir)).toEqual(before);
  });
});

describe('teardown --discover and data in a bucket', () => {
  it('keeps a bucket holding data without --delete-data (the rest goes), and a later teardown --delete-data removes it', async () => {
    const dir = await installThenLoseState([]);
    const session = await createAwsSession({ region: 'us-west-2', sandbox: { stateDir: dir } });
    const bucket = (await sandboxInventory(dir)).find((r) => r.type === 'AWS::S3::Bucket' && r.id.endsWith('-backups'))!.id;
    await (await session.s3()).putObject({ Bucket: bucket, Key: 'backup.tar', Body: 'data' });
    await session.close();

    const kept = await runCli(['teardown', '--sandbox', '--discover', '--yes', '--state-dir', dir]);
    expect(kept.code, kept.stderr).toBe(0);
    expect(kept.stdout).toContain(`Kept 1 S3 bucket(s) that hold data: ${bucket}`);
    expect((await sandboxInventory(dir)).map((r) => r.id)).toEqual([bucket]);

    const all = await runCli(['teardown', '--sandbox', '--delete-data', '--yes', '--state-dir', dir]);
    expect(all.code, all.stderr).toBe(0);
    expect(await sandboxInventory(dir)).toEqual([]);
    expect(existsSync(join(dir, 'gitlab.json'))).toBe(false);
  });
});

describe('a teardown of a torn-down deployment', () => {
  it('exits 0 with "nothing to tear down", with and without --discover', async () => {
    const dir = await tempDir();
    expect((await runCli(['install', '--sandbox', '--yes', '--state-dir', dir])).code).toBe(0);
    expect((await runCli(['teardown', '--sandbox', '--yes', '--state-dir', dir])).code).toBe(0);
    expect(await sandboxInventory(dir)).toEqual([]);

    const again = await runCli(['teardown', '--sandbox', '--yes', '--state-dir', dir]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('nothing to tear down');
    const discovered = await runCli(['teardown', '--sandbox', '--discover', '--state-dir', dir]);
    // Nothing found: nothing to confirm, so no --yes is needed either.
    expect(discovered.code, discovered.stderr).toBe(0);
    expect(discovered.stdout).toContain('nothing to tear down');
    expect(existsSync(join(dir, 'gitlab.json'))).toBe(false);
  });
});

describe('a teardown without a state file or --discover', () => {
  it('refuses with exit 2, touching nothing, and names the teardown --discover command that then removes the deployment', async () => {
    const dir = await tempDir();
    const where = ['--deployment', 'poc', '--region', 'eu-west-1', '--state-dir', dir];
    expect((await runCli(['install', '--sandbox', '--yes', ...where])).code).toBe(0);
    await rename(join(dir, 'poc.json'), join(dir, 'lost.json'));
    const before = await sandboxInventory(dir, 'poc');

    const refused = await runCli(['teardown', '--sandbox', '--yes', ...where]);
    expect(refused.code).toBe(2);
    const command = `gitlab-aws teardown --discover --deployment poc --state-dir ${dir} --region eu-west-1 --sandbox`;
    expect(refused.stderr).toContain(command);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(await sandboxInventory(dir, 'poc')).toEqual(before);
    expect(existsSync(join(dir, 'poc.json'))).toBe(false);

    const [, verb, ...args] = command.split(' ');
    const discovered = await runCli([verb!, ...args, '--yes']);
    expect(discovered.code, discovered.stderr).toBe(0);
    expect(await sandboxInventory(dir, 'poc')).toEqual([]);
  });
});
