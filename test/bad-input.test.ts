import { describe, expect, it } from 'vitest';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildInstallConfig, LONGEST_BUCKET_TYPE } from '../src/config/schema.js';
import { newStateDoc } from '../src/state/store.js';
import { ROOT, runCli, sandboxAnswersFile, tempDir } from './helpers.js';

/** S3's 63 characters less '-<the longest bucket type>'. */
const PREFIX_MAX = 63 - `-${LONGEST_BUCKET_TYPE}`.length;

/**
 * Bad input is refused before anything happens: one line saying what is wrong and how to fix
 * it, exit 2, no resource created, the state file byte for byte as it was.
 */
async function refuse(args: string[], prepare?: (dir: string) => Promise<void>, env: Record<string, string> = {}) {
  const dir = await tempDir();
  await prepare?.(dir);
  const before = await snapshot(dir);
  const cwdBefore = await readdir(ROOT);
  const run = await runCli(
    [
      'install',
      '--sandbox',
      '--yes',
      '--state-dir',
      dir,
      // CONFIG is the answers file in the test's directory; DIR/... a path in it.
      ...args.map((a) => (a === 'CONFIG' ? join(dir, 'answers.json') : a.replace(/^DIR\//, `${dir}/`))),
    ],
    env,
  );
  const after = await snapshot(dir);
  // Nothing landed in the working directory either (an empty --state-dir once put it there).
  expect(await readdir(ROOT)).toEqual(cwdBefore);
  return { run, before, after, lines: run.stderr.trim().split('\n') };
}

/** Every file and folder under `dir`, with the files' text: what "untouched" is compared on. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const name of await readdir(dir)) {
    const path = join(dir, name);
    if ((await stat(path)).isDirectory()) {
      files[`${name}/`] = '(folder)';
      for (const [inner, text] of Object.entries(await snapshot(path))) files[`${name}/${inner}`] = text;
    } else files[name] = await readFile(path, 'utf8');
  }
  return files;
}

const writeConfig = (content: string) => async (dir: string) => writeFile(join(dir, 'answers.json'), content);
const writeState = (content: string) => async (dir: string) => writeFile(join(dir, 'gitlab.json'), content);

const aFile = (name: string) => async (dir: string) => writeFile(join(dir, name), 'not a directory\n');

const cases: Array<[string, string[], ((dir: string) => Promise<void>) | undefined, RegExp, Record<string, string>?]> = [
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
  [
    'an Availability Zone the region does not offer',
    ['--config', 'CONFIG'],
    writeConfig('{"availabilityZones":["us-west-2a","us-west-2z"]}'),
    /region us-west-2 offers no Availability Zone us-west-2z .*\(fix: choose two of us-west-2a, us-west-2b, /,
  ],
  [
    'a bucket prefix starting xn--',
    ['--bucket-prefix', 'xn--gitlab'],
    undefined,
    /bucketPrefix 'xn--gitlab' .*S3 reserves names starting with 'xn--'/,
  ],
  ['a bucket prefix starting sthree-', ['--bucket-prefix', 'sthree-gl'], undefined, /S3 reserves names starting with 'sthree-'/],
  ['a bucket prefix starting amzn-s3-demo-', ['--bucket-prefix', 'amzn-s3-demo-gl'], undefined, /starting with 'amzn-s3-demo-'/],
  ['a bucket prefix ending -s3alias', ['--bucket-prefix', 'gl-s3alias'], undefined, /S3 reserves '-s3alias' at the end/],
  ['a bucket prefix ending --x-s3', ['--config', 'CONFIG'], writeConfig('{"bucketPrefix":"gl--x-s3"}'), /S3 reserves '--x-s3' at the end/],
  [
    'a bucket prefix too long for the longest bucket',
    ['--bucket-prefix', 'a'.repeat(PREFIX_MAX + 1)],
    undefined,
    new RegExp(`${PREFIX_MAX + 1} characters; .*at most ${PREFIX_MAX}`),
  ],
  ['a bucket prefix with capitals', ['--bucket-prefix', 'GitLab'], undefined, /lowercase letters, digits and hyphens only/],
  ['a bucket prefix with dots', ['--bucket-prefix', 'gl.example'], undefined, /\(no dots\)/],
  ['a bucket prefix ending in a hyphen', ['--bucket-prefix', 'gl-'], undefined, /ending with a letter or digit/],
  [
    '--ssh-cidr together with --ssh-from-anywhere',
    ['--ssh-cidr', '203.0.113.0/24', '--ssh-from-anywhere'],
    undefined,
    /sshCidr 203\.0\.113\.0\/24 \(--ssh-cidr\) and sshFromAnywhere \(--ssh-from-anywhere\) .*\(fix: give only one/,
  ],
  ['an empty --state-dir', ['--state-dir', ''], undefined, /--state-dir is empty \(fix: give a directory/],
  ['a --state-dir that is a file', ['--state-dir', 'DIR/afile'], aFile('afile'), /--state-dir \S+afile is a file, not a directory/],
  [
    'a --state-dir under a file',
    ['--state-dir', 'DIR/afile/state'],
    aFile('afile'),
    /--state-dir \S+afile\/state lies under \S+afile, which is a file/,
  ],
  // Root passes every mode check, so this is a place nobody may create files in: /sys.
  [
    'a --state-dir nobody can write to',
    ['--state-dir', '/sys/gitlab-aws-state'],
    undefined,
    /cannot write to --state-dir \/sys\/gitlab-aws-state \(EPERM|EACCES/,
  ],
  [
    'a state file that is a folder',
    [],
    async (dir) => mkdir(join(dir, 'gitlab.json')),
    /cannot read state file \S+gitlab\.json \(it is a directory\)/,
  ],
  [
    // Frozen into a state file before zones were checked: every resume failed at the subnets.
    'an installed deployment whose zones the region does not offer',
    [],
    writeState(
      JSON.stringify(
        newStateDoc({
          deployment: 'gitlab',
          installId: '0123456789abcdef',
          sandbox: true,
          config: {
            ...buildInstallConfig({ deployment: 'gitlab', region: 'us-west-2', sandbox: true }),
            availabilityZones: ['us-west-2a', 'us-west-2z'],
          },
          writtenBy: 'gitlab-aws 0.0.9',
        }),
      ),
    ),
    /offers no Availability Zone us-west-2z .*\(fix: its zones cannot change: remove it with 'gitlab-aws teardown --state-dir \S+ --sandbox', then install again\)/,
  ],
  [
    'a lock file that names no process',
    [],
    async (dir) => writeFile(join(dir, 'gitlab.lock'), '{}'),
    /the lock file \S+gitlab\.lock is unreadable \(it names no process\) \(fix: if no gitlab-aws run is using this deployment, delete /,
  ],
  [
    'an invalid GITLAB_AWS_SANDBOX_FAULTS',
    [],
    undefined,
    /GITLAB_AWS_SANDBOX_FAULTS is invalid \(throttleRate/,
    { GITLAB_AWS_SANDBOX_FAULTS: '{"throttleRate":7}' },
  ],
  [
    'an SSH public key file that does not exist',
    ['--ssh-public-key', 'DIR/missing.pub'],
    undefined,
    /cannot read the SSH public key \S+missing\.pub: no such file \(fix: pass an existing \.pub file/,
  ],
  [
    'a private key given as the SSH public key',
    ['--ssh-public-key', 'DIR/id_ed25519'],
    async (dir) => writeFile(join(dir, 'id_ed25519'), '-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl\n-----END OPENSSH PRIVATE KEY-----\n'),
    /\S+id_ed25519 is a private key \(fix: pass the public half/,
  ],
  [
    'a Gitaly volume with more IOPS than io1 allows for its size',
    ['--config', 'CONFIG'],
    writeConfig('{"gitaly":{"volumeSize":10,"iops":1000}}'),
    /gitaly\.iops 1000 is out of range for 10 GiB of io1/,
  ],
];

describe('bad input', () => {
  it.each(cases)('%s: one line, exit 2, nothing created, state untouched', async (_label, args, prepare, message, env) => {
    const dirArgs = async (dir: string) => prepare?.(dir);
    const { run, before, after, lines } = await refuse(args, dirArgs, env);
    expect(run.code).toBe(2);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^error: /);
    expect(lines[0]).toMatch(message);
    expect(lines[0]).toContain('(fix: ');
    // No sandbox world, no lock, no state: the directory is exactly as it was.
    expect(after).toEqual(before);
  });

  it('a config file starting with a UTF-8 BOM (as Windows editors write it) is read like any other', async () => {
    const dir = await tempDir();
    const config = join(dir, 'answers.json');
    await writeFile(
      config,
      '\uFEFF{"vpcCidr":"10.8.0.0/16","subnetCidrs":{"publicA":"10.8.0.0/24","privateA":"10.8.1.0/24","publicB":"10.8.2.0/24","privateB":"10.8.3.0/24"}}',
    );
    const run = await runCli(['plan', '--sandbox', '--state-dir', dir, '--config', config]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('10.8.0.0/16');
  });

  it.each([
    ['resume', /start one with 'gitlab-aws install --deployment poc --state-dir (\S+) --sandbox'\)$/],
    ['root-password', /install it with 'gitlab-aws install --deployment poc --state-dir (\S+) --sandbox'\)$/],
    ['teardown', /without a state file: gitlab-aws teardown --discover --deployment poc --state-dir (\S+) --region us-west-2 --sandbox\)$/],
  ])('%s of a deployment that does not exist names the command to run next, for this state directory', async (verb, hint) => {
    const dir = await tempDir();
    const run = await runCli([verb, '--sandbox', '--yes', '--deployment', 'poc', '--state-dir', dir]);
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(hint.exec(run.stderr.trim())?.[1]).toBe(dir);
    expect(await readdir(dir)).toEqual([]);
  });

  it('refuses to act without confirmation when nobody can answer', async () => {
    const dir = await tempDir();
    const run = await runCli(['install', '--sandbox', '--state-dir', dir, '--config', await sandboxAnswersFile()]);
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
