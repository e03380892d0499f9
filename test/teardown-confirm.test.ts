import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { createAwsSession } from '../src/aws/clients.js';
import type { TeardownExtent } from '../src/commands/teardown/extent.js';
import { readState } from '../src/state/store.js';
import { BUCKET_TYPES } from '../src/steps/names.js';
import { runCli, runInProcess, runRecorded, sandboxInventory, tempDir } from './helpers.js';

const QUESTION = "Type the deployment's name, gitlab, to delete all of the above";

async function installed(): Promise<string> {
  const dir = await tempDir();
  const install = await runCli(['install', '--sandbox', '--yes', '--state-dir', dir]);
  expect(install.code, install.stderr).toBe(0);
  return dir;
}

/** Puts one object in the deployment's uploads bucket, as GitLab would; returns the bucket's name. */
async function stageUpload(dir: string): Promise<string> {
  const state = (await readState(join(dir, 'gitlab.json')))!;
  const bucket = (state.steps['s3-buckets']!.outputs as { buckets: Record<string, string> }).buckets.uploads!;
  const aws = await createAwsSession({ region: 'us-west-2', sandbox: { stateDir: dir } });
  await (await aws.s3()).putObject({ Bucket: bucket, Key: 'user/avatar/1/me.png', Body: 'png' });
  await aws.close();
  return bucket;
}

describe('teardown says what goes and what stays, then asks for the deployment name', () => {
  test('a bucket holding data and the final snapshot are listed as kept; a wrong name cancels and deletes nothing', async () => {
    const dir = await installed();
    const bucket = await stageUpload(dir);
    const before = await sandboxInventory(dir);

    // No terminal and no --yes: refused, naming the question, before anything.
    const refused = await runCli(['teardown', '--sandbox', '--state-dir', dir]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`no terminal to ask confirm-teardown ("${QUESTION}`);

    const { code, host } = await runRecorded(['teardown', '--sandbox', '--state-dir', dir], { 'confirm-teardown': 'gitlab-prod' });
    expect(code).toBe(2);
    expect(host.asked).toEqual(['confirm-teardown']);
    expect(host.messages.at(-1)).toMatchObject({ level: 'error', text: 'error: cancelled: nothing was deleted' });
    expect(await sandboxInventory(dir)).toEqual(before);

    const extent = host.messages.find((m) => m.code === 'teardown.extent')!;
    const data = extent.data as TeardownExtent & { recorded: number };
    expect(data.kept.map((k) => [k.type, k.why])).toEqual([
      ['AWS::RDS::DBSnapshot', 'the RDS final snapshot of the database'],
      ['AWS::S3::Bucket', 'it holds data'],
    ]);
    expect(data.kept[0]!.id).toMatch(/^gitlab-db-ha-final-\d{8}-\d{4}$/);
    expect(data.kept[1]!.id).toBe(bucket);
    // Grouped by the guide's steps, counted: the kept bucket is not among what goes.
    const buckets = data.deleted.find((g) => g.step === 's3-buckets')!;
    expect(buckets.title).toBe('S3 buckets');
    expect(buckets.resources.map((r) => r.id)).not.toContain(bucket);
    expect(buckets.resources).toHaveLength(BUCKET_TYPES.length - 1);
    expect(data.deleted.map((g) => g.step).slice(0, 3)).toEqual(['iam-role', 'vpc', 'subnets']);
    expect(extent.text).toContain(`\n  S3 buckets (${BUCKET_TYPES.length - 1})\n`);
    expect(extent.text).toMatch(/: \d+ resources will be deleted:\n/);
    expect(extent.text).toContain(`Kept (2):\n  AWS::RDS::DBSnapshot ${data.kept[0]!.id}: the RDS final snapshot`);
    expect(extent.text).toContain(`  AWS::S3::Bucket ${bucket}: it holds data (--delete-data deletes it with every object version)`);
  }, 60_000);

  test('on a terminal: Enter alone cancels; typing the name deletes everything but what is kept', async () => {
    const dir = await installed();
    const bucket = await stageUpload(dir);
    const before = await sandboxInventory(dir);

    const enter = await runInProcess(['teardown', '--sandbox', '--state-dir', dir], { tty: true, type: [{ after: QUESTION, keys: '\r' }] });
    expect(enter.code).toBe(2);
    expect(enter.stderr).toContain('cancelled: nothing was deleted');
    expect(await sandboxInventory(dir)).toEqual(before);

    const typed = await runInProcess(['teardown', '--sandbox', '--state-dir', dir], {
      tty: true,
      type: [{ after: QUESTION, keys: 'gitlab\r' }],
    });
    expect(typed.unanswered).toEqual([]);
    expect(typed.code, typed.stderr).toBe(0);
    expect((await sandboxInventory(dir)).map((r) => r.id)).toEqual([bucket]);
  }, 60_000);

  test('a hosted zone we created that holds a record not ours is listed as kept', async () => {
    const dir = await tempDir();
    const install = await runCli([
      'install',
      '--sandbox',
      '--yes',
      '--state-dir',
      dir,
      '--domain',
      'gitlab.corp.test',
      '--create-hosted-zone',
    ]);
    expect(install.code, install.stderr).toBe(0);
    const aws = await createAwsSession({ region: 'us-west-2', sandbox: { stateDir: dir } });
    const route53 = await aws.route53();
    const zone = (await route53.listHostedZonesByName({ DNSName: 'corp.test.' })).HostedZones!.find((z) => z.Name === 'corp.test.')!;
    await route53.changeResourceRecordSets({
      HostedZoneId: zone.Id!,
      ChangeBatch: {
        Changes: [
          {
            Action: 'CREATE',
            ResourceRecordSet: { Name: 'mail.corp.test', Type: 'MX', TTL: 300, ResourceRecords: [{ Value: '10 mx.corp.test' }] },
          },
        ],
      },
    });
    await aws.close();

    const { code, host } = await runRecorded(['teardown', '--sandbox', '--state-dir', dir], { 'confirm-teardown': '' });
    expect(code).toBe(2);
    const extent = host.messages.find((m) => m.code === 'teardown.extent')!;
    expect((extent.data as TeardownExtent).kept.map((k) => [k.type, k.name, k.why])).toContainEqual([
      'AWS::Route53::HostedZone',
      'corp.test.',
      'it holds 1 record set(s) that are not ours',
    ]);
    expect(extent.text).toContain('  AWS::Route53::HostedZone corp.test.: it holds 1 record set(s) that are not ours');
  }, 60_000);

  test('--discover asks for the name the same way: a wrong one deletes nothing, the right one everything', async () => {
    const dir = await installed();
    await rm(join(dir, 'gitlab.json')); // the state file is lost: only the tags say what is ours
    const before = await sandboxInventory(dir);
    const wrong = await runRecorded(['teardown', '--sandbox', '--discover', '--state-dir', dir], {
      'confirm-teardown-discovered': 'gitlab2',
    });
    expect(wrong.code).toBe(2);
    expect(wrong.host.messages.at(-1)?.text).toBe('error: cancelled: nothing was deleted');
    expect(await sandboxInventory(dir)).toEqual(before);
    const right = await runRecorded(['teardown', '--sandbox', '--discover', '--state-dir', dir], {
      'confirm-teardown-discovered': 'gitlab',
    });
    expect(right.code).toBe(0);
    expect(await sandboxInventory(dir)).toEqual([]);
  }, 60_000);

  test('--yes deletes without asking', async () => {
    const dir = await installed();
    const down = await runCli(['teardown', '--sandbox', '--yes', '--state-dir', dir]);
    expect(down.code, down.stderr).toBe(0);
    expect(down.stdout + down.stderr).not.toContain(QUESTION);
    expect(await sandboxInventory(dir)).toEqual([]);
    expect(existsSync(join(dir, 'gitlab.json'))).toBe(false);
  }, 60_000);
});
