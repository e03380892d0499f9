import { readdir } from 'node:fs/promises';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ExitError } from '../src/errors.js';
import type { Question } from '../src/ui/host.js';
import type { Io } from '../src/ui/io.js';
import { NdjsonHost } from '../src/ui/ndjson.js';
import { TerminalHost } from '../src/ui/terminal.js';
import { readWorld, runInProcess, runRecorded, sandboxAnswersFile, tempDir } from './helpers.js';

/** Streams a host writes to, read back as text. */
function streams(): { io: Io; out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => (out += d));
  stderr.on('data', (d) => (err += d));
  return { io: { stdout, stderr, interactive: false, color: false }, out: () => out, err: () => err };
}

const confirmInstall: Question<boolean> = { id: 'confirm-install', message: 'Create these resources?', default: false, withYes: true };
const bucketPrefix: Question<string> = {
  id: 'bucket-prefix',
  message: 'Prefix for the S3 bucket names',
  default: 'gl-gitlab',
  validate: (answer) => (/^[a-z0-9-]+$/.test(answer) ? undefined : 'lowercase letters, digits and hyphens only'),
};

function refusal(act: () => void): ExitError {
  try {
    act();
  } catch (err) {
    expect(err).toBeInstanceOf(ExitError);
    return err as ExitError;
  }
  throw new Error('it did not refuse');
}

describe('the terminal host', () => {
  it('asks the confirmation on the terminal and an operator typing y installs', async () => {
    const dir = await tempDir();
    // Every answer given (the wizard's own tests are test/wizard.test.ts): only the confirmation is asked.
    const run = await runInProcess(['install', '--sandbox', '--state-dir', dir, '--config', await sandboxAnswersFile()], {
      tty: true,
      type: [{ after: 'Create these resources?', keys: 'y\r' }],
    });
    expect(run.unanswered).toEqual([]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain("Deployment 'gitlab' is up");
    expect((await readWorld(dir))!.mutations).toBeGreaterThan(0);
  });

  it('an operator pressing enter takes the default, no, and nothing is created', async () => {
    const dir = await tempDir();
    const run = await runInProcess(['install', '--sandbox', '--state-dir', dir, '--config', await sandboxAnswersFile()], {
      tty: true,
      type: [{ after: 'Create these resources?', keys: '\r' }],
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toBe('error: cancelled: nothing was changed\n');
    expect(await readdir(dir)).toEqual([]);
  });

  it('steps the live list aside while a question is open, and draws it again once answered', async () => {
    const stdin = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => stdin });
    const stdout: PassThrough = Object.assign(new PassThrough(), {
      isTTY: true,
      columns: 100,
      rows: 40,
      end: () => stdout,
      cursorTo: () => true,
      moveCursor: () => true,
      clearLine: () => true,
    });
    let written = '';
    stdout.on('data', (d) => {
      written += d;
      if (written.includes('Keep going?') && !written.includes('Keep going? (y/N) y')) setImmediate(() => stdin.write('y\r'));
    });
    const io: Io = { stdin, stdout, stderr: new PassThrough(), interactive: true, color: false };
    const host = new TerminalHost(io, { answering: 'prompt', verbose: false });
    const progress = host.progress({ simulated: true });
    progress.sink({
      type: 'run-started',
      operation: 'install',
      deployment: 'gitlab',
      steps: [{ id: 'vpc', title: 'VPC', needs: [], minutes: 1 }],
      simulated: true,
    });
    expect(await host.ask({ id: 'keep-going', message: 'Keep going?', default: false })).toBe(true);
    const answeredAt = written.length;
    progress.sink({ type: 'step-started', operation: 'install', step: 'vpc', title: 'VPC', atMs: 0 });
    progress.sink({
      type: 'step-finished',
      operation: 'install',
      step: 'vpc',
      title: 'VPC',
      outcome: 'done',
      elapsedMs: 20_000,
      atMs: 20_000,
    });
    progress.sink({ type: 'run-finished', operation: 'install', ok: true, elapsedMs: 20_000 });
    progress.close();
    await new Promise((resolve) => setImmediate(resolve));
    // eslint-disable-next-line no-control-regex
    const after = written.slice(answeredAt).replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
    expect(written.indexOf('Keep going?')).toBeGreaterThan(written.indexOf('Installing gitlab'));
    expect(after).toContain('Installing gitlab: finished in 20s (sandbox; times simulated)');
    expect(after).toMatch(/✔ VPC\s+20s/);
  });

  it('puts results and information on stdout, warnings and errors on stderr, debug only when verbose', () => {
    const quiet = streams();
    const host = new TerminalHost(quiet.io, { answering: 'yes', verbose: false });
    host.notify({ level: 'info', code: 'plan', text: 'the plan' });
    host.notify({ level: 'warn', code: 'warn.ssh-open', text: 'warning: open' });
    host.notify({ level: 'error', code: 'step.failed', text: '✖ vpc' });
    host.notify({ level: 'debug', code: 'wait', text: 'waiting' });
    expect(quiet.out()).toBe('the plan\n');
    expect(quiet.err()).toBe('warning: open\n✖ vpc\n');

    const verbose = streams();
    new TerminalHost(verbose.io, { answering: 'yes', verbose: true }).notify({ level: 'debug', code: 'wait', text: 'waiting' });
    expect(verbose.out()).toBe('waiting\n');
  });
});

describe('the non-interactive host', () => {
  it('refuses without --yes, listing every question it could not ask, in one line', () => {
    const host = new TerminalHost(streams().io, { answering: 'refuse', verbose: false });
    void host.ask(bucketPrefix);
    void host.ask(confirmInstall);
    const err = refusal(() => host.settle());
    expect(err.code).toBe(2);
    expect(err.message).not.toContain('\n');
    expect(err.message).toContain('bucket-prefix ("Prefix for the S3 bucket names")');
    expect(err.message).toContain('confirm-install ("Create these resources?")');
    expect(err.hint).toContain('--yes');
  });

  it('an install without a terminal and without --yes is refused, naming the confirmation, and creates nothing', async () => {
    const dir = await tempDir();
    const run = await runInProcess(['install', '--sandbox', '--state-dir', dir, '--config', await sandboxAnswersFile()]);
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toEqual([
      'error: refusing to change AWS without confirmation: no terminal to ask confirm-install ("Create these resources?") (fix: run it in a terminal to answer, or pass --yes to take the defaults)',
    ]);
    expect(await readdir(dir)).toEqual([]);
  });

  it('with --yes takes every default, says yes to a confirmation, and still checks the default', async () => {
    const host = new TerminalHost(streams().io, { answering: 'yes', verbose: false });
    expect(await host.ask(bucketPrefix)).toBe('gl-gitlab');
    expect(await host.ask(confirmInstall)).toBe(true);
    expect(await host.ask({ ...confirmInstall, withYes: undefined })).toBe(false);
    await expect(host.ask({ ...bucketPrefix, default: 'GL_Gitlab' })).rejects.toThrow(/--yes cannot answer 'bucket-prefix'.*lowercase/);
    expect(() => host.settle()).not.toThrow();
  });
});

describe('the NDJSON host', () => {
  it('writes every message as one JSON line, a result as its document, and errors to stderr as well', async () => {
    const { io, out, err } = streams();
    const host = new NdjsonHost(io, { yes: true });
    host.notify({ level: 'info', code: 'plan', text: 'line one\nline two', data: { steps: 10 } });
    host.notify({ level: 'result', code: 'status', text: 'Deployment gitlab', data: { deployment: 'gitlab' } });
    host.notify({ level: 'error', code: 'refused', text: 'error: no (fix: yes)' });
    const progress = host.progress({ simulated: true });
    progress.sink({ type: 'step-progress', step: 'vpc', message: 'waiting', atMs: 0 });
    progress.close();
    expect(
      out()
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l)),
    ).toEqual([
      { type: 'message', level: 'info', code: 'plan', text: 'line one\nline two', data: { steps: 10 } },
      { deployment: 'gitlab' },
      { type: 'message', level: 'error', code: 'refused', text: 'error: no (fix: yes)' },
      { type: 'step-progress', step: 'vpc', message: 'waiting', atMs: 0 },
    ]);
    expect(err()).toBe('error: no (fix: yes)\n');
    expect(await host.ask(confirmInstall)).toBe(true);
  });

  it('never prompts on the stream scripts parse: without --yes it refuses', () => {
    const host = new NdjsonHost(streams().io, { yes: false });
    void host.ask(confirmInstall);
    expect(refusal(() => host.settle()).message).toContain('confirm-install');
  });

  it('status --json stays one document', async () => {
    const dir = await tempDir();
    const run = await runInProcess(['status', '--sandbox', '--json', '--state-dir', dir]);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ deployment: 'gitlab', exists: false, source: 'state' });
  });
});

describe('the recorder host', () => {
  it('answers the install confirmation by id and records the messages and events in order', async () => {
    const dir = await tempDir();
    const answers = await sandboxAnswersFile();
    const { code, host } = await runRecorded(['install', '--sandbox', '--state-dir', dir, '--config', answers], {
      'confirm-install': true,
    });
    expect(code).toBe(0);
    expect(host.asked).toEqual(['confirm-install']);
    expect(host.codes()).toEqual(['preflight.identity', 'plan', 'report.written', 'install.done', 'install.summary']);
    expect(host.messages[3]!.data).toMatchObject({ deployment: 'gitlab', resources: expect.any(Number) });
    expect(host.events[0]).toMatchObject({ type: 'run-started', operation: 'install' });
    expect(host.events.at(-1)).toMatchObject({ type: 'run-finished', ok: true });

    const again = await runRecorded(['resume', '--sandbox', '--state-dir', dir], { 'confirm-resume': true });
    expect(again.code).toBe(0);
    expect(again.host.asked).toEqual(['confirm-resume']);

    const down = await runRecorded(['teardown', '--sandbox', '--state-dir', dir], { 'confirm-teardown': 'gitlab' });
    expect(down.code).toBe(0);
    expect(down.host.codes()).toEqual([
      'preflight.identity',
      'teardown.extent',
      'report.written',
      'teardown.final-snapshot',
      'teardown.done',
    ]);
  });

  it('a no to the confirmation cancels with exit 2 and creates nothing', async () => {
    const dir = await tempDir();
    const answers = await sandboxAnswersFile();
    const { code, host } = await runRecorded(['install', '--sandbox', '--state-dir', dir, '--config', answers], {
      'confirm-install': false,
    });
    expect(code).toBe(2);
    expect(host.messages.at(-1)).toMatchObject({ level: 'error', code: 'refused', text: 'error: cancelled: nothing was changed' });
    expect(host.events).toEqual([]);
    expect(await readdir(dir)).toEqual([]);
  });
});
