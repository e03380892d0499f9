/**
 * Boot rehearsal: executes a rendered user-data script with the real bash, as root, in an isolated
 * root made for the test (docs/architecture.md, "Boot rehearsal"). The pieces:
 * - driver.sh: the machine, in `unshare --mount --net --pid`: an overlay of the machine's own /
 *   (read-only underneath, writes in a tmpfs), a fresh /run and /tmp, a minimal /dev whose console
 *   the test reads, loopback plus IMDS's address, a chroot for everything the image runs;
 * - machine.py: the image's first-boot state, cloud-init's part of a boot, /dev/log, the collection;
 * - stub.py: GitLab's and the system's commands (gitlab-ctl, apt-get, sleep, ...), recorded;
 * - fake-aws.mjs: IMDSv2 and SSM with Signature Version 4 checked, in the namespace only.
 *
 * Usage:
 *   const result = await rehearse({ image: 'gitlab-ami', userData: renderRailsUserData(input), parameters,
 *     addresses: [{ ip: gitalyIp, listen: [8075] }], collect: ['/etc/gitlab/**'] });
 *   result.exitCode; result.console; result.calls; result.aws.requests; result.sshd.test.stderr
 * or, to keep the root between runs:
 *   const node = await Rehearsal.open(options);
 *   await node.boot(); await node.reboot(); await node.runAgain({ fail: 'gitlab-ctl reconfigure' });
 *   const image = await node.bake(); await node.close();
 *   await rehearse({ image, userData: cloneUserData, parameters: node.store });
 */
import { execFileSync, spawn, type ChildProcessByStdio } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';

const ASSETS = dirname(fileURLToPath(import.meta.url));

/** A parameter in the fake SSM store. */
export interface SsmParameter {
  Name: string;
  Value: string;
  Type?: 'String' | 'StringList' | 'SecureString';
  Version?: number;
  Tier?: string;
  Tags?: Array<{ Key: string; Value: string }>;
  LastModifiedDate?: number;
}

/** A stub told to fail: `command` is an argv prefix (`'gitlab-ctl reconfigure'`, first word a basename or a full path). */
export interface StubFailure {
  command: string;
  /** Only the n-th matching call (1-based); every matching call when absent. */
  call?: number;
  exitCode?: number;
  /** On stderr; a default names the command. */
  message?: string;
}

/** A refusal by the fake SSM: AccessDeniedException naming `ssm:<operation>` on the parameter's ARN. */
export interface SsmDenial {
  operation?: 'GetParameter' | 'GetParameters' | 'GetParametersByPath' | 'PutParameter';
  name?: string;
  /** Only the first n matching requests; every one when absent. */
  times?: number;
}

/** What may change from one run to the next on the same root. */
export interface RunOptions {
  /** Stubs that fail, by argv prefix; a bare string is `{ command }`. */
  fail?: string | StubFailure | Array<string | StubFailure>;
  /** The n-th stub call of the run (1-based, any command) fails. */
  failOnCall?: number;
  /** Paths or globs in the root (`**` allowed) whose content, mode and owner the result carries. */
  collect?: string[];
  deny?: SsmDenial[];
  /** The role's credentials: the first set IMDS hands out already expired, or each set good for n SSM requests. */
  credentials?: { expiredFirst?: boolean; validForRequests?: number };
  /** The fake SSM store at the start of the run; by default the store as the previous run on this handle left it. */
  parameters?: SsmParameter[];
  /** Seconds before the run's processes are killed (a script that never ends, like an unbounded wait). */
  timeoutSeconds?: number;
}

export interface RehearsalOptions extends RunOptions {
  /**
   * `gitlab-ami`: the official GitLab AMI (the package installed, its first-boot script); `ubuntu`:
   * plain Ubuntu 24.04; or an image baked from another rehearsal's root (`Rehearsal.bake()`).
   */
  image: 'gitlab-ami' | 'ubuntu' | BakedImage;
  /** The user-data as EC2 received it (the base64-decoded UserData): a script, gzip, or a MIME multipart document. */
  userData: Buffer | string;
  region?: string;
  instanceId?: string;
  roleName?: string;
  accountId?: string;
  /** The package the GitLab AMI carries. */
  release?: { edition: 'ee' | 'ce'; version: string };
  /** Extra addresses of the instance's network, e.g. the Gitaly node's IP, listening on the given ports (or none: nothing answers). */
  addresses?: Array<{ ip: string; listen?: number[] }>;
  /** Files in the root before the first boot (after the image's own), e.g. a baked image's /etc/gitlab/gitlab-secrets.json. */
  files?: Record<string, { content: string | Buffer; mode?: number }>;
}

/** A root's disk as CreateImage keeps it (`Rehearsal.bake()`): a tar of the overlay's upper layer, until the test process ends. */
export interface BakedImage {
  baked: string;
}

export interface StubCall {
  /** argv[0] as the script called it (full path), then the arguments. */
  argv: string[];
  /** The command's whole environment. */
  env: Record<string, string>;
  cwd: string;
  /** Everything under /etc/gitlab, /run/sshd and /etc/ssh/sshd_config.d when it was called. */
  files: Record<string, { mode: string; uid: number; gid: number; type: 'file' | 'dir' | 'link' }>;
  exitCode: number;
  /** `gitlab-ctl reconfigure` only: /etc/gitlab/gitlab.rb as it read it (null when absent). */
  gitlabRb?: string | null;
}

export interface AwsRequest {
  time: string;
  service: 'imds' | 'ssm';
  /** SSM */
  operation?: string;
  name?: string;
  accessKeyId?: string;
  outcome: string;
  /** SSM refusals: AWS's error type and message. */
  error?: string;
  reason?: string;
  /** IMDS */
  method?: string;
  path?: string;
  status?: number;
}

export interface BootStep {
  stage: 'bootcmd' | 'per-boot' | 'per-instance' | 'user-data' | 'cloud-config';
  name: string;
  exitCode: number | null;
  seconds?: number;
  timedOut?: boolean;
  error?: string;
}

export interface CollectedFile {
  type: 'file' | 'dir' | 'link' | 'other';
  mode: number;
  uid: number;
  gid: number;
  content?: string;
  target?: string;
}

export interface SshdOutcome {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface BootResult {
  mode: 'boot' | 'reboot' | 'again';
  /** The user-data script's exit code (the last one when there are several; negative: killed by that signal, at the run's timeout); null when none ran. */
  exitCode: number | null;
  /** What cloud-init ran, in order, with each exit code. */
  steps: BootStep[];
  /** The instance's console (EC2's GetConsoleOutput) for this run. */
  console: string;
  /** What `logger` sent to /dev/log. */
  journal: string;
  calls: StubCall[];
  aws: { requests: AwsRequest[]; parameters: SsmParameter[] };
  files: Record<string, CollectedFile>;
  /** Regular files under /etc/gitlab and /var/log written during the run that anyone may read (mode & 004). */
  worldReadable: string[];
  sshd: { test: SshdOutcome; config: SshdOutcome & { hostKeys: string[] } };
  /** Processes of the root still running when the harness stopped waiting (killed). */
  leftovers: number[];
  timedOut: boolean;
  milliseconds: number;
}

interface Assets {
  dir: string;
  rdsBundle: string;
  /** The image's host keys; an instance of a baked image gets the second set (cloud-init regenerates them). */
  hostKeys: string[];
  instanceHostKeys: string[];
  caCert: string;
  tlsKey: string;
  tlsCert: string;
}

const REGIONS = [
  'us-east-1', 'us-east-2', 'us-west-1', 'us-west-2', 'ca-central-1', 'ca-west-1', 'eu-west-1', 'eu-west-2', 'eu-west-3',
  'eu-central-1', 'eu-central-2', 'eu-north-1', 'eu-south-1', 'eu-south-2', 'ap-south-1', 'ap-south-2', 'ap-northeast-1',
  'ap-northeast-2', 'ap-northeast-3', 'ap-southeast-1', 'ap-southeast-2', 'ap-southeast-3', 'ap-southeast-4', 'ap-east-1',
  'sa-east-1', 'me-south-1', 'me-central-1', 'af-south-1', 'il-central-1', 'mx-central-1',
]; // prettier-ignore

let assets: Assets | undefined;

/** What the rehearsal needs of the machine, checked before anything runs: one line saying what is missing. */
function preflight(): void {
  if (process.getuid?.() !== 0)
    throw new Error('boot rehearsal: run the tests as root (it mounts an overlay in its own namespaces with unshare)');
  const tools: Array<[string, string]> = [
    ['/usr/bin/unshare', 'util-linux'],
    ['/usr/sbin/chroot', 'coreutils'],
    ['/usr/bin/python3', 'python3'],
    ['/usr/sbin/sshd', 'openssh-server'],
    ['/usr/bin/ssh-keygen', 'openssh-client'],
    ['/usr/bin/openssl', 'openssl'],
    ['/usr/bin/logger', 'bsdutils'],
  ];
  const missing = tools.filter(([path]) => !existsSync(path)).map(([, pkg]) => pkg);
  if (!existsSync('/usr/sbin/ip') && !existsSync('/usr/bin/ip') && !existsSync('/sbin/ip')) missing.push('iproute2');
  if (missing.length)
    throw new Error(`boot rehearsal: install ${[...new Set(missing)].join(' ')} (apt-get install -y ${[...new Set(missing)].join(' ')})`);
}

/** Host keys and a test CA, made once per test process (key generation is the slow part). */
function prepareAssets(): Assets {
  if (assets) return assets;
  preflight();
  sweep();
  const dir = mkdtempSync(join(tmpdir(), `gitlab-aws-rehearsal-${process.pid}-assets-`));
  const keys = (set: string) =>
    (['rsa', 'ecdsa', 'ed25519'] as const).map((type) => {
      mkdirSync(join(dir, set), { recursive: true });
      const file = join(dir, set, `ssh_host_${type}_key`);
      execFileSync('/usr/bin/ssh-keygen', ['-q', '-t', type, '-N', '', '-C', `root@rehearsal`, '-f', file]);
      return file;
    });
  const hostKeys = keys('image');
  const instanceHostKeys = keys('instance');
  const ssl = (args: string[]) => execFileSync('/usr/bin/openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  ssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-keyout', 'ca.key', '-out', 'ca.crt',
    '-subj', '/CN=gitlab-aws boot rehearsal CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']); // prettier-ignore
  ssl([
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    'ssm.key',
    '-out',
    'ssm.csr',
    '-subj',
    '/CN=ssm.amazonaws.com',
  ]);
  writeFileSync(
    join(dir, 'ssm.ext'),
    [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature',
      'extendedKeyUsage=serverAuth',
      'subjectKeyIdentifier=hash',
      'authorityKeyIdentifier=keyid',
      `subjectAltName=${REGIONS.map((region) => `DNS:ssm.${region}.amazonaws.com`).join(',')}`,
    ].join('\n') + '\n',
  );
  ssl([
    'x509',
    '-req',
    '-in',
    'ssm.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    'ssm.ext',
    '-out',
    'ssm.crt',
  ]);
  // What truststore.pki.rds.amazonaws.com serves: a CA named as Amazon RDS names its own.
  ssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384', '-nodes', '-days', '2', '-keyout', 'rds.key', '-out', 'rds-bundle.pem',
    '-subj', '/C=US/O=Amazon Web Services, Inc./OU=Amazon RDS/CN=Amazon RDS us-west-2 Root CA ECC384 G1', '-addext', 'basicConstraints=critical,CA:TRUE']); // prettier-ignore
  assets = {
    dir,
    hostKeys,
    instanceHostKeys,
    rdsBundle: join(dir, 'rds-bundle.pem'),
    caCert: join(dir, 'ca.crt'),
    tlsKey: join(dir, 'ssm.key'),
    tlsCert: join(dir, 'ssm.crt'),
  };
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return assets;
}

/** Removes what rehearsals of test processes no longer running left behind (a test worker is often killed, not exited). */
function sweep(): void {
  for (const name of readdirSync(tmpdir())) {
    const pid = Number(/^gitlab-aws-rehearsal-(\d+)-/.exec(name)?.[1]);
    if (!pid || pid === process.pid) continue;
    try {
      process.kill(pid, 0);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ESRCH') rmSync(join(tmpdir(), name), { recursive: true, force: true });
    }
  }
}

const read = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8') : '');
const jsonLines = <T>(file: string): T[] =>
  read(file)
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as T);

/** The instance's ID: a fixed one by default, another for an instance of a baked image (a new instance to cloud-init). */
const instanceIdOf = (options: RehearsalOptions) =>
  options.instanceId ?? (typeof options.image === 'object' ? 'i-0fedcba9876543210' : 'i-0123456789abcdef0');

let bakes = 0;

/** One machine: its root is kept between runs (boot, reboot, a second run) until close(). */
export class Rehearsal {
  private runs = 0;
  private parameters: SsmParameter[];
  private lines: AsyncIterator<string>;
  private closed = false;
  private stderr = '';
  /** Rejects when the driver ends: no more answers will come. */
  private readonly exited: Promise<never>;

  private constructor(
    private readonly options: RehearsalOptions,
    /** The machine's directory holding each run's files (run-<n>/: requests.jsonl, console.txt, ...), for a test watching a run from outside. */
    readonly dir: string,
    private readonly driver: ChildProcessByStdio<Writable, Readable, Readable>,
    lines: Interface,
  ) {
    this.parameters = options.parameters ?? [];
    this.lines = lines[Symbol.asyncIterator]();
    driver.stderr.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.exited = new Promise<never>((_, reject) =>
      driver.once('close', (code) =>
        reject(new Error(this.stderr.trim().split('\n').filter(Boolean).pop() ?? `boot rehearsal: the driver exited with ${code}`)),
      ),
    );
    this.exited.catch(() => {}); // awaited only while a command is pending
  }

  /** Lays the image's first-boot state in a fresh root; nothing runs until boot(). */
  static async open(options: RehearsalOptions): Promise<Rehearsal> {
    const found = prepareAssets();
    const dir = mkdtempSync(join(tmpdir(), `gitlab-aws-rehearsal-${process.pid}-`));
    const release = options.release ?? { edition: 'ee', version: '19.5.1' };
    const baked = typeof options.image === 'object' ? options.image.baked : '';
    writeFileSync(
      join(dir, 'setup.json'),
      JSON.stringify({
        node: process.execPath,
        image: baked ? 'baked' : options.image,
        edition: release.edition,
        version: release.version,
        region: options.region ?? 'us-west-2',
        instanceId: instanceIdOf(options),
        hostKeys: baked ? found.instanceHostKeys : found.hostKeys,
        caCert: found.caCert,
        rdsBundle: found.rdsBundle,
        addresses: (options.addresses ?? []).map((a) => a.ip),
        files: Object.entries(options.files ?? {}).map(([path, { content, mode }]) => ({
          path,
          contentHex: Buffer.from(content).toString('hex'),
          mode: mode ?? 0o644,
        })),
      }),
    );
    const word = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;
    writeFileSync(
      join(dir, 'setup.sh'),
      `node=${word(process.execPath)}\naddresses=(${(options.addresses ?? []).map((a) => word(a.ip)).join(' ')})\nimage_tar=${word(baked)}\n`,
    );
    const driver = spawn(
      '/usr/bin/unshare',
      ['--mount', '--net', '--pid', '--fork', '--kill-child', '--mount-proc', '/bin/bash', join(ASSETS, 'driver.sh'), dir],
      {
        stdio: ['pipe', 'pipe', 'pipe'],
        env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8' },
      },
    );
    const lines = createInterface({ input: driver.stdout });
    const rehearsal = new Rehearsal(options, dir, driver, lines);
    try {
      await rehearsal.answer('ready');
    } catch (error) {
      rmSync(dir, { recursive: true, force: true });
      const line = (error as Error).message;
      throw new Error(
        line.startsWith('boot rehearsal:')
          ? line
          : `boot rehearsal: cannot make its machine (root, util-linux's unshare, overlayfs): ${line}`,
      );
    }
    return rehearsal;
  }

  private async answer(expected: string): Promise<void> {
    const next = await Promise.race([this.lines.next(), this.exited]);
    if (next.done || next.value !== expected) {
      throw new Error(this.stderr.trim().split('\n').pop() || `boot rehearsal: expected ${expected}, got ${String(next.value)}`);
    }
  }

  /** The first boot: bootcmd, the per-instance scripts (the AMI's), then the user-data scripts. */
  boot(options: RunOptions = {}): Promise<BootResult> {
    return this.run('boot', options);
  }

  /** A later boot: /run and /tmp empty again; bootcmd and per-boot scripts only, as cloud-init does. */
  reboot(options: RunOptions = {}): Promise<BootResult> {
    return this.run('reboot', options);
  }

  /** The user-data scripts once more on the same root, within the same boot. */
  runAgain(options: RunOptions = {}): Promise<BootResult> {
    return this.run('again', options);
  }

  private async run(mode: BootResult['mode'], override: RunOptions): Promise<BootResult> {
    if (this.closed) throw new Error('boot rehearsal: closed');
    const options = { ...this.options, ...override };
    const rd = join(this.dir, `run-${++this.runs}`);
    mkdirSync(rd);
    const found = prepareAssets();
    const region = options.region ?? 'us-west-2';
    const instanceId = instanceIdOf(options);
    const userData = typeof options.userData === 'string' ? Buffer.from(options.userData) : options.userData;
    if (userData.length > 16384) throw new Error(`boot rehearsal: EC2 refuses user data over 16 KB (this is ${userData.length} bytes)`);
    const fail = [options.fail ?? []].flat().map((rule) => (typeof rule === 'string' ? { command: rule } : rule));
    writeFileSync(join(rd, 'stubs.json'), JSON.stringify({ fail, failOnCall: options.failOnCall }));
    writeFileSync(
      join(rd, 'aws.json'),
      JSON.stringify({
        region,
        instanceId,
        roleName: options.roleName ?? 'gitlab-aws-instance-role',
        accountId: options.accountId ?? '123456789012',
        parameters: override.parameters ?? this.parameters,
        deny: options.deny ?? [],
        credentials: options.credentials ?? {},
        listeners: (options.addresses ?? []).flatMap(({ ip, listen }) => (listen ?? []).map((port) => ({ ip, port }))),
        tlsKey: found.tlsKey,
        tlsCert: found.tlsCert,
        storeOut: join(rd, 'store.json'),
        requestLog: join(rd, 'requests.jsonl'),
        readyFile: join(rd, 'aws.ready'),
      }),
    );
    const started = Date.now();
    writeFileSync(
      join(rd, 'run.json'),
      JSON.stringify({
        mode,
        instanceId,
        userDataHex: userData.toString('hex'),
        timeoutSeconds: options.timeoutSeconds ?? 30,
        collect: options.collect ?? [],
        console: '/dev/console',
        out: rd,
      }),
    );
    this.driver.stdin.write(`run ${rd} ${mode}\n`);
    await this.answer('done');
    return this.result(mode, rd, started);
  }

  private result(mode: BootResult['mode'], rd: string, started: number): BootResult {
    const outcome = JSON.parse(read(join(rd, 'steps.json')) || 'null') as {
      steps: BootStep[];
      leftovers: number[];
      sshd: { test: SshdOutcome; config: SshdOutcome };
    } | null;
    if (!outcome) throw new Error(`boot rehearsal: the run left no outcome: ${this.stderr.trim().split('\n').pop() ?? ''}`);
    const steps = outcome.steps;
    const scripts = steps.filter((step) => step.stage === 'user-data');
    const collected = JSON.parse(read(join(rd, 'collected.json'))) as {
      files: Record<string, Omit<CollectedFile, 'content'> & { contentHex?: string }>;
      worldReadable: string[];
    };
    const files: Record<string, CollectedFile> = {};
    for (const [path, { contentHex, ...entry }] of Object.entries(collected.files)) {
      files[path] = contentHex === undefined ? entry : { ...entry, content: Buffer.from(contentHex, 'hex').toString('utf8') };
    }
    const parameters = JSON.parse(read(join(rd, 'store.json')) || '[]') as SsmParameter[];
    this.parameters = parameters;
    const config = outcome.sshd.config;
    return {
      mode,
      exitCode: scripts.length ? scripts[scripts.length - 1]!.exitCode : null,
      steps,
      console: read(join(rd, 'console.txt')),
      journal: read(join(rd, 'journal.log')),
      calls: jsonLines<StubCall>(join(rd, 'calls.jsonl')),
      aws: { requests: jsonLines<AwsRequest>(join(rd, 'requests.jsonl')), parameters },
      files,
      worldReadable: collected.worldReadable,
      sshd: {
        test: outcome.sshd.test,
        config: { ...config, hostKeys: config.stdout.split('\n').filter((line) => line.startsWith('hostkey ')) },
      },
      leftovers: outcome.leftovers,
      timedOut: steps.some((step) => step.timedOut),
      milliseconds: Date.now() - started,
    };
  }

  /**
   * The root's disk as an image, as CreateImage would keep it after the runs so far (not /run, /tmp,
   * /dev or /proc): open a rehearsal with `image: <this>` to boot an instance of it, e.g. a clone
   * of the configured base instance.
   */
  async bake(): Promise<BakedImage> {
    if (this.closed) throw new Error('boot rehearsal: closed');
    const file = join(prepareAssets().dir, `image-${process.pid}-${++bakes}.tar`);
    this.driver.stdin.write(`bake ${file}\n`);
    await this.answer('done');
    return { baked: file };
  }

  /** The SSM store as the last run left it: a second node started on it sees what the first wrote. */
  get store(): SsmParameter[] {
    return this.parameters;
  }

  /** Ends the namespace (every process and mount in it) and removes the run files. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const exited = new Promise<void>((resolve) => (this.driver.exitCode !== null ? resolve() : this.driver.once('close', () => resolve())));
    if (this.driver.exitCode === null) this.driver.stdin.end('exit\n');
    const timer = setTimeout(() => this.driver.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** One first boot on a fresh root, then the root is gone. */
export async function rehearse(options: RehearsalOptions): Promise<BootResult> {
  const rehearsal = await Rehearsal.open(options);
  try {
    return await rehearsal.boot();
  } finally {
    await rehearsal.close();
  }
}
