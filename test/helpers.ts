import { gunzipSync } from 'node:zlib';
import { spawn } from 'node:child_process';
import type { Clock } from '../src/aws/clock.js';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { main } from '../src/cli.js';
import type { Io } from '../src/ui/io.js';
import { RecorderHost } from '../src/ui/recorder.js';
import { inventory, type SandboxResource } from '../src/sandbox/inventory.js';
import { parseWorld, worldFile, type World } from '../src/sandbox/world.js';
import { completeConfigFile, configFrom, mergeAnswers, withDefaults, type Facts } from '../src/config/answers.js';
import type { ConfigFile } from '../src/config/schema.js';

export const ROOT = resolve(import.meta.dirname, '..');
export const BIN = join(ROOT, 'bin', 'gitlab-aws.js');

export async function tempDir(prefix = 'gitlab-aws-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  pid: number;
}

/**
 * Runs the built CLI in its own process, as an operator would (no TTY: stdin closed, pipes out).
 * The environment is the test setup's (fake credentials, closed endpoint) plus `env`.
 */
export function runCli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolvePromise({ code, signal, stdout, stderr, pid: child.pid ?? -1 }));
  });
}

/**
 * Runs the CLI in this process with recorded streams; `tty` makes stdout behave like a terminal.
 * `type` makes stdin a terminal too, the operator typing: each entry is typed once `after` appears
 * on stdout (a prompt), so the keystrokes answer the question they were meant for.
 */
export async function runInProcess(args: string[], { tty = false, type = [] as Array<{ after: string; keys: string }> } = {}) {
  // What ora needs of a terminal stream, as no-ops: the test reads the bytes, not the cursor.
  const terminal = { cursorTo: () => true, moveCursor: () => true, clearLine: () => true, clearScreenDown: () => true };
  // Like process.stdout, it outlives whoever pipes into it (a prompt ends its own stream, not this).
  const stdout: PassThrough = Object.assign(
    new PassThrough(),
    { isTTY: tty, columns: 100, rows: 40, end: () => stdout },
    tty ? terminal : {},
  );
  const stderr = Object.assign(new PassThrough(), { isTTY: false });
  const stdin = Object.assign(new PassThrough(), { isTTY: type.length > 0, setRawMode: () => stdin });
  let out = '';
  let err = '';
  const pending = [...type];
  stdout.on('data', (d) => {
    out += d;
    while (pending[0] && out.includes(pending[0].after)) {
      const { keys } = pending.shift()!;
      setImmediate(() => stdin.write(keys));
    }
  });
  stderr.on('data', (d) => (err += d));
  const io: Io = { stdin, stdout, stderr, interactive: type.length > 0 && tty, color: false };
  const code = await main(args, io);
  return { code, stdout: out, stderr: err, unanswered: pending.map((p) => p.after) };
}

/** Runs the CLI in this process on a recorder host: questions answered by id, every message kept. */
export async function runRecorded(args: string[], answers: Record<string, boolean | string> = {}) {
  const host = new RecorderHost(answers);
  const code = await main(args, host);
  return { code, host };
}

/**
 * What the sandbox account holds for a deployment, read straight from its world file. The world
 * must exist: a test expecting "nothing left" must not pass because nothing was ever written.
 */
export async function sandboxInventory(stateDir: string, deployment = 'gitlab'): Promise<SandboxResource[]> {
  const world = await readWorld(stateDir);
  if (!world) throw new Error(`no sandbox world in ${stateDir}: the sandbox account was never written`);
  return inventory(world, world.simNow).filter((r) => r.deployment === deployment);
}

/**
 * What an inventory can attribute to a deployment: everything but DNS records, which take no
 * tags (test/edge.e2e.test.ts reads those from Route 53).
 */
export function inInventory(resource: { type: string }): boolean {
  return resource.type !== 'AWS::Route53::RecordSet';
}

/** The sandbox world of a state directory, or undefined when none was written; any other failure throws. */
export async function readWorld(stateDir: string): Promise<World | undefined> {
  const file = worldFile(stateDir);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return parseWorld(file, text);
}

/** "AWS::EC2::Subnet x4, AWS::EC2::VPC x1": the shape of an inventory, independent of IDs. */
export function shape(resources: Array<{ type: string }>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of resources) counts[r.type] = (counts[r.type] ?? 0) + 1;
  return Object.fromEntries(Object.entries(counts).sort());
}

export function statusJson(stdout: string) {
  return JSON.parse(stdout) as {
    deployment: string;
    exists: boolean;
    steps: Array<{ id: string; title: string; status: string }>;
    resources: Array<{ type: string; id: string; step: string }>;
  };
}

/**
 * A complete answers file for a sandbox install (what --save-config writes), the guide's defaults
 * under `answers`: with it `install --config <file>` asks only its confirmation. Written to `file`,
 * or beside the state directories when none is named, so a state directory stays empty.
 */
export async function sandboxAnswersFile(answers: ConfigFile = {}, file?: string): Promise<string> {
  const facts: Facts = { sandbox: true, deployment: answers.deployment ?? 'gitlab', zones: ['us-west-2a', 'us-west-2b'] };
  const given = mergeAnswers({ region: 'us-west-2' }, answers);
  const path = file ?? join(await tempDir('gitlab-aws-answers-'), 'answers.json');
  await writeFile(path, JSON.stringify(completeConfigFile(configFrom(withDefaults(given, facts), facts)), null, 2));
  return path;
}

/** A clock whose time moves only by waiting (each wait at once), for tests of the polling helpers. */
export function instantClock(): Clock {
  let now = 0;
  return { simulated: true, now: () => now, sleep: async (ms) => void (now += ms), timeline: (_at, work) => work() };
}

/** The user-data text cloud-init reads from what EC2 holds (base64, gzip-compressed by the install). */
export function userDataText(encoded: string): string {
  const raw = Buffer.from(encoded, 'base64');
  return (raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw) : raw).toString('utf8');
}
