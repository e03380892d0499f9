import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, statfsSync } from 'node:fs';
import { expect } from 'vitest';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { readState, statePaths } from '../src/state/store.js';
import { readWorld, ROOT, sandboxInventory, shape } from './helpers.js';

/**
 * The crash sweep's tools. Instead of killing a process at every mutating call (five process
 * start-ups per crash point), one run records what the state directory holds at each mutating
 * call, and each of those snapshots is then resumed, or torn down, as a new process would find it.
 * The runs go to a few long-lived lanes (processes running the built CLI's main()) so both cores
 * work and no run pays for loading the SDK.
 */

/** Above any PID Linux (2^22) or macOS (99999) hands out: a lock naming it is one a dead process left. */
export const DEAD_PID = 2 ** 22 + 1;

export interface RunResult {
  code: number;
  stderr: string;
  /** With `snapshotsTo`: the mutating-call counts at which a snapshot was kept. */
  snapshots: number[];
  /** CPU time the run took in its lane (what the sweep's cost grows with, unlike wall time on a busy machine). */
  cpuMs: number;
}

/** The sandbox runs as fast as the machine can: its waits are paced for the eye, not for the test. */
const LANE_ENV = { GITLAB_AWS_SANDBOX_SPEED: '1e9' };

/** One process running the CLI in-process, one command at a time. */
export class Lane {
  private readonly child: ChildProcess;
  private readonly pending = new Map<number, { command: string; resolve: (r: RunResult) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private stderr = '';
  private exited?: Error;
  /** CPU time of every run so far, by command. */
  readonly cpuMs: Record<string, number> = {};

  constructor() {
    const env: NodeJS.ProcessEnv = { ...process.env, ...LANE_ENV };
    delete env.GITLAB_AWS_SANDBOX_FAULTS;
    this.child = fork(join(ROOT, 'test', 'crash-sweep-worker.js'), [], { env, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    this.child.stderr?.on('data', (d) => (this.stderr += d));
    this.child.on('message', (m: RunResult & { id: number; error?: string }) => {
      const waiting = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (m.error) return waiting?.reject(new Error(m.error));
      if (waiting) this.cpuMs[waiting.command] = (this.cpuMs[waiting.command] ?? 0) + m.cpuMs;
      waiting?.resolve(m);
    });
    const fail = (why: string) => {
      // The lane imports the built CLI: a missing export or module means dist/ is older than src/.
      this.exited ??= new Error(`crash sweep lane ${why} (is dist/ built? run npm run build): ${this.stderr}`);
      for (const { reject } of this.pending.values()) reject(this.exited);
      this.pending.clear();
    };
    this.child.on('error', (err) => fail(`failed: ${err.message}`));
    this.child.on('exit', (code, signal) => fail(`exited (${signal ?? code})`));
  }

  /** `gitlab-aws <command> --sandbox --yes --state-dir <dir>`, in the lane's process. */
  cli(command: 'install' | 'teardown', stateDir: string, snapshotsTo?: string): Promise<RunResult> {
    if (this.exited) return Promise.reject(this.exited);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { command, resolve, reject });
      this.child.send({ id, argv: [command, '--sandbox', '--yes', '--state-dir', stateDir], snapshotsTo });
    });
  }

  stop(): void {
    this.child.kill();
  }
}

/**
 * One lane per core, plus one: a run idles about a third of its time (a timer tick per sandbox
 * call, file I/O), which the extra lane fills. Each snapshot's runs stay on one lane.
 */
export class Lanes {
  readonly lanes: Lane[];
  constructor(count = Math.min(availableParallelism(), 4) + 1) {
    this.lanes = Array.from({ length: count }, () => new Lane());
  }

  get first(): Lane {
    return this.lanes[0]!;
  }

  /** Runs `work` for every item, each lane taking the next item as soon as it is free. */
  async each<T>(items: readonly T[], work: (item: T, lane: Lane) => Promise<void>): Promise<void> {
    let next = 0;
    await Promise.all(
      this.lanes.map(async (lane) => {
        while (next < items.length) await work(items[next++]!, lane);
      }),
    );
  }

  /** "install 12.3 s, teardown 4.5 s": the CPU the lanes' runs took, by command. */
  cpu(): string {
    const total: Record<string, number> = {};
    for (const lane of this.lanes) for (const [command, ms] of Object.entries(lane.cpuMs)) total[command] = (total[command] ?? 0) + ms;
    return Object.entries(total)
      .map(([command, ms]) => `${command} ${(ms / 1000).toFixed(1)} s`)
      .join(', ');
  }

  stop(): void {
    for (const lane of this.lanes) lane.stop();
  }
}

export interface CrashPoint {
  /** A SIGKILL right after this many mutating calls (GITLAB_AWS_SANDBOX_FAULTS={"crashAfter":n}) ... */
  n: number;
  /** ... leaves this directory's files behind. */
  snapshot: string;
}

/**
 * One command of a sweep (an install, or a teardown of a clean install), recorded once and then
 * replayed from each of its crash points, on lanes that share the machine's cores.
 */
export class CrashSweep {
  private started = 0;
  private running?: Lanes;
  points: CrashPoint[] = [];
  private root = '';
  private scratch = '';

  constructor(private readonly name: string) {}

  get lanes(): Lanes {
    if (!this.running) throw new Error('start() the crash sweep first');
    return this.running;
  }

  /** Starts the lanes; returns a state directory for the recorded run (and whatever precedes it). */
  async start(): Promise<string> {
    this.started = Date.now();
    expect(() => process.kill(DEAD_PID, 0), `PID ${DEAD_PID} must not exist for the restored locks to be stale`).toThrow();
    this.running = new Lanes();
    this.root = await mkdtemp(join(tmpdir(), `gitlab-aws-sweep-${this.name}-`));
    this.scratch = await scratchDir(`gitlab-aws-sweep-${this.name}-`);
    return join(this.root, 'recorded');
  }

  /**
   * Runs `command` on `stateDir` once, keeping the state directory at each of its mutating calls,
   * and checks that the snapshots are what a kill would leave: one for every call, 1 to the last,
   * each world holding exactly the calls made until then, each with the deployment's lock held.
   */
  async record(command: 'install' | 'teardown', stateDir: string): Promise<void> {
    const snapshotsTo = join(this.root, 'snapshots');
    const callsBefore = (await readWorld(stateDir))?.mutations ?? 0;
    const run = await this.lanes.first.cli(command, stateDir, snapshotsTo);
    expect(run.code, run.stderr).toBe(0);
    const calls = (await readWorld(stateDir))!.mutations - callsBefore;
    expect(calls).toBeGreaterThan(10);
    expect(run.snapshots).toEqual(Array.from({ length: calls }, (_, i) => i + 1));
    this.points = run.snapshots.map((n) => ({ n, snapshot: join(snapshotsTo, String(n)) }));
    for (const { n, snapshot } of this.points) {
      expect((await readWorld(snapshot))!.mutations, `world in snapshot ${n}`).toBe(callsBefore + n);
      expect(existsSync(statePaths(snapshot, 'gitlab').lock), `lock in snapshot ${n}`).toBe(true);
    }
  }

  /**
   * Runs `check` from every crash point, each in a fresh copy of its snapshot, and returns what it
   * found wrong, each problem prefixed with its N. Prints how many points it swept and how long
   * that took (with the lanes' CPU time, which unlike the wall time does not depend on what else
   * the machine is doing).
   */
  async fromEveryPoint(label: string, check: (stateDir: string, lane: Lane) => Promise<string[]>): Promise<string[]> {
    const started = Date.now();
    const problems: string[] = [];
    await this.lanes.each(this.points, async ({ n, snapshot }, lane) => {
      const dir = join(this.scratch, `${label}-${n}`);
      await restoreSnapshot(snapshot, dir);
      for (const p of await check(dir, lane)) problems.push(`N=${n}: ${p}`);
      await rm(dir, { recursive: true, force: true });
    });
    const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    console.log(
      `crash sweep (${this.name}, then ${label}): ${this.points.length} crash points on ${this.lanes.lanes.length} lanes ` +
        `in ${seconds(Date.now() - started)} (${seconds(Date.now() - this.started)} since the sweep began; lane CPU so far: ${this.lanes.cpu()})`,
    );
    if (problems.length) console.log(`crash sweep (${this.name}, then ${label}) problems:\n${problems.join('\n')}`);
    return problems;
  }

  /**
   * Crashes twice: from each of `firsts` crash points (spread over the sweep's), a resume runs and
   * its own mutating calls are kept as snapshots; from `seconds` of those (spread over them) a
   * crash of the resume is replayed, and `check` runs on it. Problems are prefixed "N=.. M=.."; `pairs` says how many were
   * swept (a resume after the last mutating call has none).
   * The pairs are the same on every run: the spread is fixed, not drawn.
   */
  async fromCrashedResumes(
    label: string,
    { firsts, seconds }: { firsts: number; seconds: number },
    check: (stateDir: string, lane: Lane) => Promise<string[]>,
  ): Promise<{ problems: string[]; pairs: number }> {
    const started = Date.now();
    const problems: string[] = [];
    let pairs = 0;
    await this.lanes.each(spread(this.points, firsts), async ({ n, snapshot }, lane) => {
      const dir = join(this.scratch, `${label}-${n}`);
      const resumeSnapshots = join(this.root, `${label}-${n}-snapshots`);
      await restoreSnapshot(snapshot, dir);
      const resumed = await lane.cli('install', dir, resumeSnapshots);
      if (resumed.code !== 0) problems.push(`N=${n}: the resume exited ${resumed.code}: ${firstError(resumed.stderr)}`);
      // A resume that makes no mutating call (the crash came after the last one) has nothing to crash.
      for (const m of spread(resumed.snapshots, seconds)) {
        const again = join(this.scratch, `${label}-${n}-${m}`);
        await restoreSnapshot(join(resumeSnapshots, String(m)), again);
        for (const p of await check(again, lane)) problems.push(`N=${n} M=${m}: ${p}`);
        pairs++;
        await rm(again, { recursive: true, force: true });
      }
      await rm(dir, { recursive: true, force: true });
      await rm(resumeSnapshots, { recursive: true, force: true });
    });
    console.log(
      `crash sweep (${this.name}, resumed and crashed again, then ${label}): ${pairs} (N, M) pairs in ${((Date.now() - started) / 1000).toFixed(1)} s ` +
        `(lane CPU so far: ${this.lanes.cpu()})`,
    );
    if (problems.length) console.log(`crash sweep (${this.name}, crashed twice, then ${label}) problems:\n${problems.join('\n')}`);
    return { problems, pairs };
  }

  async close(): Promise<void> {
    this.running?.stop();
    for (const dir of [this.root, this.scratch]) if (dir) await rm(dir, { recursive: true, force: true });
  }
}

/** `count` items evenly spread over `items`, from the first to the last (all of them if fewer). */
export function spread<T>(items: readonly T[], count: number): T[] {
  if (items.length <= count) return [...items];
  if (count === 1) return [items[Math.floor(items.length / 2)]!];
  return Array.from({ length: count }, (_, i) => items[Math.round((i * (items.length - 1)) / (count - 1))]!);
}

/**
 * Copies a snapshot into a fresh state directory as the killed process would have left it: every
 * lock it held (the deployment's, and any other `*.lock` naming a PID) now names a process that
 * is gone, so the next run takes it over as stale.
 */
async function restoreSnapshot(snapshot: string, into: string): Promise<void> {
  await mkdir(into, { recursive: true, mode: 0o700 });
  for (const name of await readdir(snapshot)) {
    const from = join(snapshot, name);
    const holder = name.endsWith('.lock') ? lockHolder(await readFile(from, 'utf8')) : undefined;
    if (holder) await writeFile(join(into, name), JSON.stringify({ ...holder, pid: DEAD_PID }), { mode: 0o600 });
    else await copyFile(from, join(into, name));
  }
}

function lockHolder(text: string): { pid: number } | undefined {
  try {
    const lock = JSON.parse(text) as { pid?: unknown };
    return typeof lock.pid === 'number' ? (lock as { pid: number }) : undefined;
  } catch {
    return undefined; // not a lock of the kind that names its holder: copied as it is
  }
}

/**
 * Where the runs from snapshots work: a memory file system when the machine has one with room
 * (the state file's fsync per write is then free, a fifth of a run's cost on a disk), else the
 * temp dir. Snapshots stay in the temp dir; only the few directories in use at once live here.
 */
async function scratchDir(prefix: string): Promise<string> {
  const shm = '/dev/shm';
  try {
    const { bavail, bsize } = statfsSync(shm);
    if (bavail * bsize > 256 * 2 ** 20) return await mkdtemp(join(shm, prefix));
  } catch {
    // no memory file system here (or not writable): the temp dir it is
  }
  return mkdtemp(join(tmpdir(), prefix));
}

/**
 * What is wrong with a deployment that should be completely installed: not the clean run's
 * inventory (same types, same counts), something the state file does not record, or a record twice.
 */
export async function installedProblems(stateDir: string, cleanShape: Record<string, number>): Promise<string[]> {
  const problems: string[] = [];
  const held = await sandboxInventory(stateDir);
  const recorded = (await readState(statePaths(stateDir, 'gitlab').file))?.resources ?? [];
  const heldShape = shape(held);
  const differing = [...new Set([...Object.keys(heldShape), ...Object.keys(cleanShape)])]
    .sort()
    .filter((type) => heldShape[type] !== cleanShape[type])
    .map((type) => `${type} x${heldShape[type] ?? 0} (clean: x${cleanShape[type] ?? 0})`);
  if (differing.length) problems.push(`inventory differs from the clean one: ${differing.join(', ')}`);
  const untracked = held.filter((h) => !recorded.some((r) => r.type === h.type && r.id === h.id));
  if (untracked.length) problems.push(`untracked ${untracked.map((u) => `${u.type} ${u.id}`).join(', ')}`);
  if (new Set(recorded.map((r) => `${r.type} ${r.id}`)).size !== recorded.length) problems.push('duplicate records in the state file');
  return problems;
}

/** What a deployment that should be gone still holds in the sandbox, recorded or not. */
export async function leftOver(stateDir: string): Promise<string[]> {
  // No world to read would look like an empty account: say so instead.
  if (!(await readWorld(stateDir))) return ['(the sandbox world file is missing or unreadable)'];
  return (await sandboxInventory(stateDir)).map((r) => `${r.type} ${r.id}`);
}

/** Tears the deployment in `dir` down on `lane`: the problems if anything is left, or if it failed. */
export async function tearsDownToNothing(dir: string, lane: Lane): Promise<string[]> {
  const torn = await lane.cli('teardown', dir);
  const left = await leftOver(dir);
  return torn.code !== 0 || left.length ? [`teardown exited ${torn.code} leaving ${left.join(', ')}: ${firstError(torn.stderr)}`] : [];
}

/** The first line of what a failed run printed, enough to tell one defect from another. */
export function firstError(stderr: string): string {
  return (
    stderr
      .split('\n')
      .find((l) => /✖|error/i.test(l))
      ?.trim() ?? stderr.trim().slice(0, 200)
  );
}

/** Generous: a full sweep of ~300 crash points on a loaded two-core machine, with room to spare. */
export const SWEEP_TIMEOUT = 900_000;
