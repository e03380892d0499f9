import { describe, expect, it } from 'vitest';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli, tempDir } from './helpers.js';

/**
 * Bad input is refused before anything happens: one line saying what is wrong and how to fix
 * it, exit 2, no resource created, the state file byte for byte as it was.
 */
async function refuse(args: string[], prepare?: (dir: string) => Promise<void>) {
  const dir = await tempDir();
  await prepare?.(dir);
  const before = await snapshot(dir);
  const run = await runCli([
    'install',
    '--sandbox',
    '--yes',
    '--state-dir',
    dir,
    ...args.map((a) => (a === 'CONFIG' ? join(dir, 'answers.json') : a)),
  ]);
  const after = await snapshot(dir);
  return { run, before, after, lines: run.stderr.trim().split('\n') };
}

async function snapshot(dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const name of await readdir(dir)) files[name] = await readFile(join(dir, name), 'utf8');
  return files;
}

const writeConfig = (content: string) => async (dir: string) => writeFile(join(dir, 'answers.json'), content);
const writeState = (content: string) => async (dir: string) => writeFile(join(dir, 'gitlab.json'), content);

const cases: Array<[string, string[], ((dir: string) => Promise<void>) | undefined, RegExp]> = [
  ['an unknown region', ['--region', 'us-west-9'], undefined, /unknown region 'us-west-9'/],
  ['a malformed region', ['--region', 'uswest2'], undefined, /'uswest2' is not an AWS region name/],
  [
    'a region the account has not opted in to',
    ['--region', 'me-south-1'],
    undefined,
    /region me-south-1 is not enabled .*opt in to it in the AWS console \(Account > AWS Regions\)/,
  ],
  [
    'an invalid VPC CIDR',
    ['--config', 'CONFIG'],
    writeConfig('{"vpcCidr":"10.0.0.0/33"}'),
    /vpcCidr: '10\.0\.0\.0\/33' is not a CIDR block/,
  ],
  ['a CIDR with host bits', ['--config', 'CONFIG'], writeConfig('{"vpcCidr":"10.0.0.5/16"}'), /did you mean 10\.0\.0\.0\/16/],
  [
    'overlapping subnets',
    ['--config', 'CONFIG'],
    writeConfig('{"subnetCidrs":{"publicB":"10.0.0.0/23"}}'),
    /subnetCidrs\.publicA 10\.0\.0\.0\/24 overlaps subnetCidrs\.publicB/,
  ],
  [
    'a subnet outside the VPC',
    ['--config', 'CONFIG'],
    writeConfig('{"subnetCidrs":{"privateB":"10.1.3.0/24"}}'),
    /outside the VPC's 10\.0\.0\.0\/16/,
  ],
  ['a malformed config file', ['--config', 'CONFIG'], writeConfig('{"region": "us-west-2",'), /is not valid JSON/],
  ['an unknown config key', ['--config', 'CONFIG'], writeConfig('{"vpc_cidr":"10.0.0.0/16"}'), /Unrecognized key.*vpc_cidr/],
  ['a corrupted state file', [], writeState('{"schemaVersion": 1, "deploy'), /state file .*gitlab\.json is corrupted/],
  ['a state file from a newer version', [], writeState('{"schemaVersion": 7, "future": true}'), /written by a newer gitlab-aws \(schema 7/],
  ['an invalid deployment name', ['--deployment', 'Prod_1'], undefined, /deployment name 'Prod_1' is invalid/],
];

describe('bad input', () => {
  it.each(cases)('%s: one line, exit 2, nothing created, state untouched', async (_label, args, prepare, message) => {
    const dirArgs = async (dir: string) => prepare?.(dir);
    const { run, before, after, lines } = await refuse(args, dirArgs);
    expect(run.code).toBe(2);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^error: /);
    expect(lines[0]).toMatch(message);
    expect(lines[0]).toContain('(fix: ');
    // No sandbox world, no lock, no state: the directory is exactly as it was.
    expect(after).toEqual(before);
  });

  it('refuses to act without confirmation when nobody can answer', async () => {
    const dir = await tempDir();
    const run = await runCli(['install', '--sandbox', '--state-dir', dir]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/refusing to change AWS without confirmation: no terminal to ask confirm-install .*--yes/);
    expect(await readdir(dir)).toEqual([]);
  });

  it('refuses a real-AWS state file in sandbox mode and the other way round', async () => {
    const dir = await tempDir();
    expect((await runCli(['install', '--sandbox', '--yes', '--state-dir', dir])).code).toBe(0);
    const sandboxState = await snapshot(dir);
    const real = await runCli(['install', '--yes', '--state-dir', dir]);
    expect(real.code).toBe(2);
    expect(real.stderr).toMatch(/^error: deployment 'gitlab' in \S+ was built in the sandbox \(fix: add --sandbox\)\n$/);
    expect(await snapshot(dir)).toEqual(sandboxState);

    // The same deployment as if it had been built in a real account: the sandbox must refuse it.
    const other = await tempDir();
    const state = JSON.parse(sandboxState['gitlab.json']!) as { sandbox: boolean };
    await writeFile(join(other, 'gitlab.json'), JSON.stringify({ ...state, sandbox: false }, null, 2));
    const before = await snapshot(other);
    const sandboxed = await runCli(['install', '--sandbox', '--yes', '--state-dir', other]);
    expect(sandboxed.code).toBe(2);
    expect(sandboxed.stderr).toMatch(/^error: deployment 'gitlab' in \S+ was built in a real AWS account \(fix: drop --sandbox\)\n$/);
    // No sandbox world appeared beside it, and the state file is as it was.
    expect(await snapshot(other)).toEqual(before);
  });

  it('an unknown command or option exits 2 with usage help', async () => {
    const run = await runCli(['instal']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/unknown command 'instal'/);
    const option = await runCli(['install', '--regoin', 'x']);
    expect(option.code).toBe(2);
  });
});
