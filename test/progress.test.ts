import { clearLine, cursorTo, moveCursor } from 'node:readline';
import { PassThrough } from 'node:stream';
import { describe, expect, test } from 'vitest';
import type { EngineEvent } from '../src/engine/events.js';
import type { Io } from '../src/ui/io.js';
import { createRenderer } from '../src/ui/progress.js';
import { GUIDE_STEPS } from '../src/steps/index.js';
import { runInProcess, tempDir } from './helpers.js';

/** The guide's steps, in its order, as the program lists them. */
const GUIDE = GUIDE_STEPS.map(({ id, title }) => ({ id, title }));

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
      ['info', 'install.done'],
      ['info', 'install.summary'],
    ]);
    expect(parsed[0]).toMatchObject({ code: 'plan', data: { steps: expect.any(Array) } });
    expect(parsed.at(-2)).toMatchObject({ code: 'install.done', data: { deployment: 'gitlab', resources: expect.any(Number) } });
    expect(parsed.at(-1)).toMatchObject({ code: 'install.summary', data: { url: 'https://gitlab.example.com' } });
    const events = parsed.filter((l): l is EngineEvent => l.type !== 'message');

    expect(events[0]).toEqual({ type: 'run-started', operation: 'install', deployment: 'gitlab', steps: GUIDE });
    expect(events.at(-1)).toMatchObject({ type: 'run-finished', operation: 'install', ok: true });
    for (const { id, title } of GUIDE) {
      const started = events.findIndex((e) => e.type === 'step-started' && e.step === id);
      const finished = events.findIndex((e) => e.type === 'step-finished' && e.step === id);
      expect(started, id).toBeGreaterThan(0);
      expect(finished, id).toBeGreaterThan(started);
      expect(events[finished]).toMatchObject({ title, outcome: 'done', elapsedMs: expect.any(Number) });
    }
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
    expect(block[0]).toMatch(/^Installing gitlab: finished in (\d+m)?\d+s simulated/);
    const rows = block.slice(1, 1 + GUIDE.length);
    expect(rows.map((r) => r.trim().replace(/\s{2,}.*$/, ''))).toEqual(GUIDE.map((s) => `✔ ${s.title}`));
    for (const row of rows) expect(row).toMatch(/\d+s$/);
  });
});

/** A terminal as ora drives it: what it draws is kept, cursor movements are written as escapes. */
function terminal(): { io: Io; output: () => string } {
  const stream = new PassThrough();
  let written = '';
  stream.on('data', (d) => (written += d));
  const tty = Object.assign(stream, {
    isTTY: true,
    columns: 100,
    rows: 40,
    cursorTo: (x: number) => cursorTo(stream, x),
    moveCursor: (dx: number, dy: number) => moveCursor(stream, dx, dy),
    clearLine: (dir: -1 | 0 | 1) => clearLine(stream, dir),
  });
  return { io: { stdout: tty, stderr: new PassThrough(), interactive: false, color: false }, output: () => written };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('renderers fed events directly', () => {
  test('the live list keeps the guide order when steps finish in another order', async () => {
    const { io, output } = terminal();
    const renderer = createRenderer('tty', io, { simulated: true, verbose: false });
    const send = (e: EngineEvent) => renderer.sink(e);

    send({ type: 'run-started', operation: 'install', deployment: 'gitlab', steps: GUIDE });
    send({ type: 'step-started', operation: 'install', step: 'iam-role', title: GUIDE[0]!.title });
    send({ type: 'step-started', operation: 'install', step: 'vpc', title: 'VPC' });
    send({ type: 'step-finished', operation: 'install', step: 'vpc', title: 'VPC', outcome: 'done', elapsedMs: 20_000 });
    send({ type: 'step-started', operation: 'install', step: 'subnets', title: 'Subnets' });
    send({ type: 'step-finished', operation: 'install', step: 'subnets', title: 'Subnets', outcome: 'done', elapsedMs: 8_000 });
    send({ type: 'step-finished', operation: 'install', step: 'iam-role', title: GUIDE[0]!.title, outcome: 'verified', elapsedMs: 31_000 });
    send({ type: 'run-finished', operation: 'install', ok: true, elapsedMs: 31_000 });
    renderer.close();
    await flush();

    const block = finalBlock(output(), /Installing gitlab/);
    expect(block[0]).toBe('Installing gitlab: finished in 31s simulated (sandbox; times simulated)');
    expect(block.slice(1, 4).map((l) => l.trimEnd())).toEqual([
      '  ✔ IAM policy, role and instance profile  31s',
      '  ✔ VPC                                    20s',
      '  ✔ Subnets                                8s',
    ]);
  });

  test('the live list marks a failed step and shows why', async () => {
    const { io, output } = terminal();
    const renderer = createRenderer('tty', io, { simulated: true, verbose: false });
    renderer.sink({ type: 'run-started', operation: 'install', deployment: 'gitlab', steps: GUIDE });
    renderer.sink({ type: 'step-started', operation: 'install', step: 'iam-role', title: GUIDE[0]!.title });
    renderer.sink({ type: 'step-started', operation: 'install', step: 'vpc', title: 'VPC' });
    renderer.sink({
      type: 'step-finished',
      operation: 'install',
      step: 'vpc',
      title: 'VPC',
      outcome: 'failed',
      elapsedMs: 1_000,
      error: 'VpcLimitExceeded: too many VPCs',
    });
    renderer.sink({
      type: 'step-finished',
      operation: 'install',
      step: 'iam-role',
      title: GUIDE[0]!.title,
      outcome: 'stopped',
      elapsedMs: 1_000,
    });
    renderer.sink({ type: 'run-finished', operation: 'install', ok: false, elapsedMs: 1_000, stoppedBy: 'failure' });
    renderer.close();
    await flush();

    const block = finalBlock(output(), /Installing gitlab/);
    expect(block[0]).toMatch(/^Installing gitlab: stopped/);
    expect(block[1]).toMatch(/^ {2}■ IAM policy, role and instance profile {2}1s$/);
    expect(block[2]).toMatch(/^ {2}✖ VPC\s+1s {2}VpcLimitExceeded: too many VPCs$/);
    expect(block[3]).toMatch(/^ {2}· Subnets\s*$/);
  });

  test('plain lines report a failure with its message and say the run stopped', () => {
    const stdout = new PassThrough();
    let written = '';
    stdout.on('data', (d) => (written += d));
    const renderer = createRenderer(
      'plain',
      { stdout, stderr: new PassThrough(), interactive: false, color: false },
      { simulated: true, verbose: false },
    );
    renderer.sink({ type: 'run-started', operation: 'install', deployment: 'gitlab', steps: GUIDE });
    renderer.sink({ type: 'step-started', operation: 'install', step: 'vpc', title: 'VPC' });
    renderer.sink({ type: 'step-progress', step: 'vpc', message: 'waiting for VPC vpc-1: pending' });
    renderer.sink({
      type: 'step-finished',
      operation: 'install',
      step: 'vpc',
      title: 'VPC',
      outcome: 'failed',
      elapsedMs: 65_000,
      error: 'VpcLimitExceeded: too many VPCs',
    });
    renderer.sink({ type: 'run-finished', operation: 'install', ok: false, elapsedMs: 65_000, stoppedBy: 'failure' });
    renderer.close();

    // Progress chatter is for --verbose only; the failure and its reason always show.
    expect(written).toBe(
      ['→ VPC', '✖ VPC: FAILED (1m05s simulated)', '  VpcLimitExceeded: too many VPCs', 'Stopped after 1m05s simulated', ''].join('\n'),
    );
  });
});
