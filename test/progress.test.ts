import { clearLine, cursorTo, moveCursor } from 'node:readline';
import { PassThrough } from 'node:stream';
import { describe, expect, test } from 'vitest';
import type { EngineEvent, StepOutcome } from '../src/engine/events.js';
import type { Io } from '../src/ui/io.js';
import { paceFor, poll, type Wait } from '../src/aws/poll.js';
import { createRenderer } from '../src/ui/progress.js';
import { GUIDE_STEPS } from '../src/steps/index.js';
import { criticalPathMinutes } from '../src/engine/graph.js';
import { RunTimeline } from '../src/engine/timeline.js';
import { instantClock, runInProcess, tempDir } from './helpers.js';

/** The guide's steps, in its order, as the program lists them. */
const GUIDE = GUIDE_STEPS.map(({ id, title }) => ({ id, title }));
/** ... and as a run announces them: with what each needs and its typical minutes. */
const RUN_STEPS = GUIDE_STEPS.map(({ id, title, needs, minutes }) => ({ id, title, needs: [...needs], minutes }));

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;
const plain = (text: string) => text.replace(ANSI, '');

/**
 * The block a terminal shows last: everything from the final heading on. ora redraws the whole
 * block on every frame, so earlier copies of it are frames the operator saw only briefly.
 */
function finalBlock(output: string, heading: RegExp): string[] {
  const text = plain(output);
  const starts = [...text.matchAll(new RegExp(heading, 'g'))].map((m) => m.index);
  expect(starts.length, `no '${heading.source}' in:\n${text}`).toBeGreaterThan(0);
  return text.slice(starts.at(-1)).split('\n');
}

describe('install --sandbox, as an operator sees it', () => {
  test('piped output: a plain line per step, with simulated times, each finish after its start', async () => {
    const dir = await tempDir();
    const { code, stdout, stderr } = await runInProcess(['install', '--sandbox', '--yes', '--state-dir', dir]);

    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).not.toMatch(ANSI);
    const lines = stdout.split('\n');
    const at = (pattern: RegExp) => lines.findIndex((l) => pattern.test(l));
    for (const { title } of GUIDE) {
      const escaped = title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      const started = at(new RegExp(`^→ ${escaped}$`));
      const finished = at(new RegExp(`^✔ ${escaped}: done \\((\\d+m)?\\d+s simulated\\)$`));
      expect(started, `start line of ${title}`).toBeGreaterThanOrEqual(0);
      expect(finished, `finish line of ${title}`).toBeGreaterThan(started);
    }
    // Subnets need the VPC, and the log must not suggest otherwise.
    expect(at(/^→ Subnets$/)).toBeGreaterThan(at(/^✔ VPC: done/));
    expect(stdout).toMatch(/^Finished after (\d+m)?\d+s simulated$/m);
    expect(stdout).toContain("Deployment 'gitlab' is up");
  });

  test('--json: only NDJSON lines: the plan message, the events from run-started to run-finished ok, then install.done and the summary', async () => {
    const dir = await tempDir();
    const { code, stdout } = await runInProcess(['install', '--sandbox', '--yes', '--json', '--state-dir', dir]);

    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    const parsed = lines.map((text) => {
      const line = JSON.parse(text) as EngineEvent | { type: 'message'; level: string; code: string; text: string; data?: unknown };
      expect(typeof line.type, text).toBe('string');
      return line;
    });
    // The commands' messages are JSON lines too, before and after the run's events.
    const messages = parsed.filter((l) => l.type === 'message');
    expect(messages.map((m) => [m.level, m.code])).toEqual([
      ['info', 'plan'],
      ['info', 'report.written'],
      ['info', 'install.done'],
      ['info', 'install.summary'],
    ]);
    expect(parsed[0]).toMatchObject({ code: 'plan', data: { steps: expect.any(Array) } });
    expect(parsed.at(-2)).toMatchObject({ code: 'install.done', data: { deployment: 'gitlab', resources: expect.any(Number) } });
    expect(parsed.at(-1)).toMatchObject({ code: 'install.summary', data: { url: 'https://gitlab.example.com' } });
    const events = parsed.filter((l): l is EngineEvent => l.type !== 'message');

    expect(events[0]).toEqual({ type: 'run-started', operation: 'install', deployment: 'gitlab', steps: RUN_STEPS, simulated: true });
    expect(events.at(-1)).toMatchObject({ type: 'run-finished', operation: 'install', ok: true });
    for (const { id, title } of GUIDE) {
      const started = events.findIndex((e) => e.type === 'step-started' && e.step === id);
      const finished = events.findIndex((e) => e.type === 'step-finished' && e.step === id);
      expect(started, id).toBeGreaterThan(0);
      expect(finished, id).toBeGreaterThan(started);
      expect(events[finished]).toMatchObject({ title, outcome: 'done', elapsedMs: expect.any(Number) });
      // Start and end on the step's timeline, as offsets from the run's start: the end is the start plus its time.
      const start = events[started] as Extract<EngineEvent, { type: 'step-started' }>;
      const end = events[finished] as Extract<EngineEvent, { type: 'step-finished' }>;
      expect(end.atMs, id).toBe(start.atMs + end.elapsedMs);
    }
    // A step starts when the last step it needs ends, on AWS's (simulated) time.
    const endOf = (id: string) => (events.find((e) => e.type === 'step-finished' && e.step === id) as { atMs: number }).atMs;
    const startOf = (id: string) => (events.find((e) => e.type === 'step-started' && e.step === id) as { atMs: number }).atMs;
    expect(startOf('rds-postgres')).toBe(Math.max(endOf('subnets'), endOf('security-groups'), endOf('secrets')));
    // Waits are data as well as words: the database's says what, its state, how long and how long it typically takes.
    const rdsWaits = events.flatMap((e) =>
      e.type === 'step-progress' && e.step === 'rds-postgres' && e.wait?.until === 'available' ? [e] : [],
    );
    expect(rdsWaits.length).toBeGreaterThan(0);
    expect(rdsWaits[0]).toMatchObject({
      message: expect.stringMatching(/^waiting for RDS instance gitlab-db-ha to become available: /),
      wait: { what: 'RDS instance gitlab-db-ha', until: 'available', state: 'creating', typicalMs: 15 * 60_000 },
    });
    const waited = rdsWaits.map((e) => e.wait!.waitedMs);
    expect(waited).toEqual([...waited].sort((a, b) => a - b));
    expect(waited.at(-1)).toBeGreaterThan(waited[0]!);
    const recorded = events.filter((e) => e.type === 'resource');
    expect(recorded.length).toBeGreaterThan(0);
    expect(recorded.map((e) => e.type === 'resource' && e.resource.type)).toEqual(
      expect.arrayContaining(['AWS::EC2::VPC', 'AWS::EC2::Subnet', 'AWS::IAM::Role']),
    );
  });

  test('terminal: the live list ends with every step ticked, in the guide order', async () => {
    const dir = await tempDir();
    const { code, stdout, stderr } = await runInProcess(['install', '--sandbox', '--yes', '--state-dir', dir], { tty: true });

    expect(stderr).toBe('');
    expect(code).toBe(0);
    const block = finalBlock(stdout, /Installing gitlab/);
    expect(block[0]).toMatch(/^Installing gitlab: finished in (\d+m)?\d+s \(sandbox; times simulated\)/);
    const rows = block.slice(1, 1 + GUIDE.length);
    expect(rows.map((r) => r.trim().replace(/\s{2,}.*$/, ''))).toEqual(GUIDE.map((s) => `✔ ${s.title}`));
    for (const row of rows) expect(row).toMatch(/\d+s$/);
    // The first estimate is the plan's critical path; it shrinks as the install goes.
    const left = minutesLeft(stdout);
    expect(left[0]).toBe(Math.ceil(criticalPathMinutes(GUIDE_STEPS)));
    expect(left.at(-1)!).toBeLessThan(left[0]! / 4);
    // The database's row said what AWS said of it, in words, on the way.
    expect(plain(stdout)).toMatch(/PostgreSQL with RDS\s+\d+m\d\ds {2}RDS instance gitlab-db-ha: creating, \d+ of ~15 min/);
  });
});

/** A terminal as ora drives it: what it draws is kept, cursor movements are written as escapes. */
function terminal(size: { columns?: number; rows?: number } = {}): { io: Io; output: () => string } {
  const stream = new PassThrough();
  let written = '';
  stream.on('data', (d) => (written += d));
  const tty = Object.assign(stream, {
    isTTY: true,
    columns: size.columns ?? 100,
    rows: size.rows ?? 40,
    cursorTo: (x: number) => cursorTo(stream, x),
    moveCursor: (dx: number, dy: number) => moveCursor(stream, dx, dy),
    clearLine: (dir: -1 | 0 | 1) => clearLine(stream, dir),
  });
  return { io: { stdout: tty, stderr: new PassThrough(), interactive: false, color: false }, output: () => written };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

/** Events as the engine sends them, each at `atMs` on its step's timeline (minutes, for reading). */
const MIN = 60_000;
const titleOf = (step: string) => GUIDE.find((s) => s.id === step)?.title ?? step;
const at = {
  run: (steps = RUN_STEPS): EngineEvent => ({ type: 'run-started', operation: 'install', deployment: 'gitlab', steps, simulated: true }),
  start: (step: string, atMs: number): EngineEvent => ({ type: 'step-started', operation: 'install', step, title: titleOf(step), atMs }),
  finish: (step: string, startMs: number, endMs: number, outcome: StepOutcome = 'done', error?: string): EngineEvent => ({
    type: 'step-finished',
    operation: 'install',
    step,
    title: titleOf(step),
    outcome,
    elapsedMs: endMs - startMs,
    atMs: endMs,
    ...(error ? { error } : {}),
  }),
  wait: (
    step: string,
    startedMs: number,
    atMs: number,
    wait: { what: string; until?: string; state: string; typicalMs?: number },
  ): EngineEvent => ({
    type: 'step-progress',
    step,
    message: `waiting for ${wait.what}${wait.until ? ` to become ${wait.until}` : ''}: ${wait.state}`,
    atMs,
    wait: { ...wait, waitedMs: atMs - startedMs },
  }),
};

/** Every heading the terminal drew, in order ("Installing gitlab: 1m00s so far, about 20 min left ..."). */
function headings(output: string): string[] {
  return [...plain(output).matchAll(/Installing gitlab: [^\n]*/g)].map((m) => m[0]);
}

/** The minutes left the headings said, in order, each change once (a frame may be drawn again unchanged). */
function minutesLeft(output: string): number[] {
  const said = headings(output).flatMap((h) => {
    const left = /about (\d+) min left/.exec(h);
    return left ? [Number(left[1])] : [];
  });
  return said.filter((n, i) => n !== said[i - 1]);
}

describe('renderers fed events directly', () => {
  test('the live list keeps the guide order when steps finish in another order', async () => {
    const { io, output } = terminal();
    const renderer = createRenderer('tty', io, { simulated: true, verbose: false });
    const send = (e: EngineEvent) => renderer.sink(e);

    send(at.run());
    send(at.start('iam-role', 0));
    send(at.start('vpc', 0));
    send(at.finish('vpc', 0, 20_000));
    send(at.start('subnets', 20_000));
    send(at.finish('subnets', 20_000, 28_000));
    send(at.finish('iam-role', 0, 31_000, 'verified'));
    send({ type: 'run-finished', operation: 'install', ok: true, elapsedMs: 31_000 });
    renderer.close();
    await flush();

    const block = finalBlock(output(), /Installing gitlab/);
    expect(block[0]).toBe('Installing gitlab: finished in 31s (sandbox; times simulated)');
    expect(block.slice(1, 4).map((l) => l.trimEnd())).toEqual([
      '  ✔ IAM policy, role and instance profile  31s',
      '  ✔ VPC                                    20s',
      '  ✔ Subnets                                8s',
    ]);
  });

  test('the live list marks a failed step and shows why', async () => {
    const { io, output } = terminal();
    const renderer = createRenderer('tty', io, { simulated: true, verbose: false });
    renderer.sink(at.run());
    renderer.sink(at.start('iam-role', 0));
    renderer.sink(at.start('vpc', 0));
    renderer.sink(at.finish('vpc', 0, 1_000, 'failed', 'VpcLimitExceeded: too many VPCs'));
    renderer.sink(at.finish('iam-role', 0, 1_000, 'stopped'));
    renderer.sink({ type: 'run-finished', operation: 'install', ok: false, elapsedMs: 1_000, stoppedBy: 'failure' });
    renderer.close();
    await flush();

    const block = finalBlock(output(), /Installing gitlab/);
    expect(block[0]).toMatch(/^Installing gitlab: stopped/);
    expect(block[1]).toMatch(/^ {2}■ IAM policy, role and instance profile {2}1s$/);
    expect(block[2]).toMatch(/^ {2}✖ VPC\s+1s {2}VpcLimitExceeded: too many VPCs$/);
    expect(block[3]).toMatch(/^ {2}· Subnets\s*$/);
  });

  test('the live list says the time left, shrinking as steps finish, and what a running step waits for in words', async () => {
    // A chain of three: the VPC (1 min), the database on it (15 min), the cache after it (12 min).
    const steps = [
      { id: 'vpc', title: 'VPC', needs: [], minutes: 1 },
      { id: 'rds-postgres', title: 'PostgreSQL with RDS', needs: ['vpc'], minutes: 15 },
      { id: 'elasticache', title: 'Redis with ElastiCache', needs: ['rds-postgres'], minutes: 12 },
    ];
    const { io, output } = terminal();
    const renderer = createRenderer('tty', io, { simulated: true, verbose: false });
    const rds = { what: 'RDS instance gitlab-db-ha', until: 'available', typicalMs: 15 * MIN };
    renderer.sink(at.run(steps));
    renderer.sink(at.start('vpc', 0));
    renderer.sink(at.finish('vpc', 0, 1 * MIN));
    renderer.sink(at.start('rds-postgres', 1 * MIN));
    renderer.sink(at.wait('rds-postgres', 1 * MIN, 7 * MIN, { ...rds, state: 'creating' }));
    const waiting = plain(output());
    renderer.sink(at.wait('rds-postgres', 1 * MIN, 13 * MIN, { ...rds, state: 'backing-up' }));
    renderer.sink(at.finish('rds-postgres', 1 * MIN, 16 * MIN));
    renderer.sink(at.start('elasticache', 16 * MIN));
    renderer.sink(at.finish('elasticache', 16 * MIN, 28 * MIN));
    renderer.sink({ type: 'run-finished', operation: 'install', ok: true, elapsedMs: 28 * MIN });
    renderer.close();
    await flush();

    // 28 min of typical time, then less at every step: the database's typical 15 min, then what it had left.
    expect(minutesLeft(output())).toEqual([28, 27, 21, 15, 12]);
    expect(headings(output())).toContain('Installing gitlab: 7m00s so far, about 21 min left (sandbox; times simulated)');
    // The running row says what AWS last said of the database, and how far into its typical time it is.
    expect(waiting).toMatch(/\S PostgreSQL with RDS\s+6m00s {2}RDS instance gitlab-db-ha: creating, 6 of ~15 min/);
    expect(plain(output())).toContain('RDS instance gitlab-db-ha: backing-up, 12 of ~15 min');
    const block = finalBlock(output(), /Installing gitlab/);
    expect(block.slice(0, 4).map((l) => l.trimEnd())).toEqual([
      'Installing gitlab: finished in 28m00s (sandbox; times simulated)',
      '  ✔ VPC                     1m00s',
      '  ✔ PostgreSQL with RDS     15m00s',
      '  ✔ Redis with ElastiCache  12m00s',
    ]);
  });

  test('a step running past its typical time: the heading says so rather than promising a minute', async () => {
    const steps = [{ id: 'rds-postgres', title: 'PostgreSQL with RDS', needs: [], minutes: 15 }];
    const { io, output } = terminal();
    const renderer = createRenderer('tty', io, { simulated: true, verbose: false });
    renderer.sink(at.run(steps));
    renderer.sink(at.start('rds-postgres', 0));
    renderer.sink(
      at.wait('rds-postgres', 0, 22 * MIN, {
        what: 'RDS instance gitlab-db-ha',
        until: 'available',
        state: 'modifying',
        typicalMs: 15 * MIN,
      }),
    );
    renderer.close();
    await flush();
    expect(headings(output())).toContain('Installing gitlab: 22m00s so far, taking longer than typical (sandbox; times simulated)');
    expect(plain(output())).toContain('RDS instance gitlab-db-ha: modifying, 22 of ~15 min');
  });

  test('a step already complete in the state counts no time in the estimate (a resume verifies it)', async () => {
    const steps = [
      { id: 'vpc', title: 'VPC', needs: [], minutes: 1 },
      { id: 'rds-postgres', title: 'PostgreSQL with RDS', needs: ['vpc'], minutes: 15, complete: true as const },
    ];
    const { io, output } = terminal();
    const renderer = createRenderer('tty', io, { simulated: true, verbose: false });
    renderer.sink(at.run(steps));
    renderer.close();
    await flush();
    expect(minutesLeft(output())[0]).toBe(1);
  });

  test('a terminal shorter than the list shows the running steps and what comes next, and the whole list at the end', async () => {
    const { io, output } = terminal({ rows: 10 });
    const renderer = createRenderer('tty', io, { simulated: true, verbose: false });
    renderer.sink(at.run());
    for (const id of ['iam-role', 'vpc', 'subnets', 'internet-gateway']) {
      renderer.sink(at.start(id, 0));
      renderer.sink(at.finish(id, 0, 10_000));
    }
    renderer.sink(at.start('rds-postgres', 10_000));
    const frame = plain(output()).split('Installing gitlab').at(-1)!.split('\n');
    expect(frame.length).toBeLessThanOrEqual(9);
    expect(frame.some((l) => /PostgreSQL with RDS/.test(l))).toBe(true);
    expect(frame.at(-1)).toMatch(/… \d+ to come, \d+ finished \(a taller terminal shows every step\)/);
    renderer.sink({ type: 'run-finished', operation: 'install', ok: false, elapsedMs: 10_000, stoppedBy: 'interrupt' });
    renderer.close();
    await flush();
    expect(
      finalBlock(output(), /Installing gitlab/)
        .slice(1, 1 + GUIDE.length)
        .map((l) => l.trim().replace(/\s{2,}.*$/, '')),
    ).toEqual(GUIDE.map((s) => expect.stringContaining(s.title)));
  });

  test('a terminal of 0 columns and 0 rows gets plain lines, not a live list it cannot redraw', () => {
    const { io, output } = terminal({ columns: 0, rows: 0 });
    const renderer = createRenderer('tty', io, { simulated: true, verbose: false });
    renderer.sink(at.run());
    renderer.sink(at.start('vpc', 0));
    renderer.sink(at.finish('vpc', 0, 20_000));
    renderer.close();
    expect(output()).toBe(['→ VPC', '✔ VPC: done (20s simulated)', ''].join('\n'));
  });

  test('plain lines report a failure with its message and say the run stopped', () => {
    const { stdout, written } = pipe();
    const renderer = createRenderer(
      'plain',
      { stdout, stderr: new PassThrough(), interactive: false, color: false },
      { simulated: true, verbose: false },
    );
    renderer.sink(at.run());
    renderer.sink(at.start('vpc', 0));
    renderer.sink({ type: 'step-progress', step: 'vpc', message: 'creating the VPC', atMs: 1_000 });
    renderer.sink(at.finish('vpc', 0, 65_000, 'failed', 'VpcLimitExceeded: too many VPCs'));
    renderer.sink({ type: 'run-finished', operation: 'install', ok: false, elapsedMs: 65_000, stoppedBy: 'failure' });
    renderer.close();

    // Progress chatter is for --verbose only; the failure and its reason always show.
    expect(written()).toBe(
      ['→ VPC', '✖ VPC: FAILED (1m05s simulated)', '  VpcLimitExceeded: too many VPCs', 'Stopped after 1m05s simulated', ''].join('\n'),
    );
  });

  test('plain lines show a wait every few minutes of it, not at every look', () => {
    const { stdout, written } = pipe();
    const renderer = createRenderer(
      'plain',
      { stdout, stderr: new PassThrough(), interactive: false, color: false },
      { simulated: true, verbose: false },
    );
    const rds = { what: 'RDS instance gitlab-db-ha', until: 'available', typicalMs: 15 * MIN };
    renderer.sink(at.run());
    renderer.sink(at.start('rds-postgres', 0));
    // Looked at every 30 s from the start: 28 looks in 14 minutes.
    for (let t = 0.5 * MIN; t <= 14 * MIN; t += 0.5 * MIN) renderer.sink(at.wait('rds-postgres', 0, t, { ...rds, state: 'creating' }));
    renderer.sink(at.finish('rds-postgres', 0, 15 * MIN));
    renderer.close();

    expect(written().split('\n')).toEqual([
      '→ PostgreSQL with RDS',
      '  RDS instance gitlab-db-ha: creating, 3 of ~15 min',
      '  RDS instance gitlab-db-ha: creating, 6 of ~15 min',
      '  RDS instance gitlab-db-ha: creating, 9 of ~15 min',
      '  RDS instance gitlab-db-ha: creating, 12 of ~15 min',
      '✔ PostgreSQL with RDS: done (15m00s simulated)',
      '',
    ]);
  });
});

function pipe() {
  const stdout = new PassThrough();
  let written = '';
  stdout.on('data', (d) => (written += d));
  return { stdout, written: () => written };
}

describe('the one poll helper', () => {
  test('says what it waits for as data: the subject, the goal, what AWS said, the time waited and the typical time', async () => {
    const clock = instantClock();
    const waits: Wait[] = [];
    const states = ['creating', 'creating', 'backing-up', 'available'];
    await poll({ clock, what: 'RDS instance gitlab-db-ha to become available', ...paceFor(15), onWait: (w) => waits.push(w) }, async () => {
      const state = states.shift()!;
      return state === 'available' ? { done: true, value: undefined } : { done: false, seen: state };
    });
    // Looked at 0, 7.5, 10 and 12.5 minutes (paceFor's half, then sixths): three answers not yet.
    expect(waits).toEqual([
      { what: 'RDS instance gitlab-db-ha', until: 'available', state: 'creating', waitedMs: 0, typicalMs: 15 * MIN },
      { what: 'RDS instance gitlab-db-ha', until: 'available', state: 'creating', waitedMs: 7.5 * MIN, typicalMs: 15 * MIN },
      { what: 'RDS instance gitlab-db-ha', until: 'available', state: 'backing-up', waitedMs: 10 * MIN, typicalMs: 15 * MIN },
    ]);
  });
});

describe('the estimate of what is left', () => {
  test('on AWS a running step ages with the wall clock between polls, and past its typical time it holds the finish back', () => {
    const steps = [
      { id: 'vpc', title: 'VPC', needs: [], minutes: 1 },
      { id: 'rds-postgres', title: 'PostgreSQL with RDS', needs: ['vpc'], minutes: 15 },
    ];
    const run = RunTimeline.of([
      { ...(at.run(steps) as Extract<EngineEvent, { type: 'run-started' }>), simulated: false },
      at.start('vpc', 0),
      at.finish('vpc', 0, 1 * MIN),
      at.start('rds-postgres', 1 * MIN),
    ]);
    expect(run.remainingMs()).toBe(15 * MIN);
    // No event for four minutes: the wall clock says where the run is.
    expect(run.remainingMs(5 * MIN)).toBe(11 * MIN);
    // Twenty minutes in, the database is late: it is still what the finish waits for, with no time promised.
    expect(run.remainingMs(21 * MIN)).toBe(0);
  });
});
