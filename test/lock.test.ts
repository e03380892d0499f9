import { afterEach, describe, expect, it, vi } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { access, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { main } from '../src/cli.js';
import type { Progress } from '../src/ui/host.js';
import { RecorderHost } from '../src/ui/recorder.js';
import { BIN, ROOT, runCli, tempDir } from './helpers.js';
import { heldAndPlanned, planFor } from './plan-helpers.js';

afterEach(() => {
  vi.restoreAllMocks();
});

/** The arguments of a command line the CLI printed, as a shell would split it (our paths have no spaces). */
function pasted(line: string): string[] {
  const [program, ...args] = line.trim().split(/\s+/);
  expect(program).toBe('gitlab-aws');
  return args;
}

/** A dead process's PID: what a kill -9 leaves in the names of its temp files. */
async function deadPid(): Promise<number> {
  const dead = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await new Promise((r) => dead.on('close', r));
  return dead.pid!;
}

/** A slow sandbox (one AWS minute = 6 s) keeps the first run busy while the test acts. */
function startSlowInstall(dir: string) {
  const child = spawn(process.execPath, [BIN, 'install', '--sandbox', '--yes', '--state-dir', dir], {
    cwd: ROOT,
    env: { ...process.env, GITLAB_AWS_SANDBOX_SPEED: '10' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, exited, output: () => ({ stdout, stderr }) };
}

async function until(condition: () => Promise<boolean>) {
  for (let i = 0; i < 400; i++) {
    if (await condition()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('condition never held');
}

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

describe('one run at a time', () => {
  it('a second run on the same deployment stops at once naming the PID; Ctrl-C stops the first at a safe point; resume finishes', async () => {
    const dir = await tempDir();
    const plan = await planFor(dir);
    const first = startSlowInstall(dir);
    let firstDone = false;
    void first.exited.then(() => (firstDone = true));
    await until(() => exists(join(dir, 'gitlab.lock')));

    const second = await runCli(['install', '--sandbox', '--yes', '--state-dir', dir]);
    expect(second.code).toBe(2);
    expect(second.stderr).toContain(`locked by PID ${first.child.pid}`);
    expect(firstDone).toBe(false); // the second did not wait for the first

    // Wait until the first has recorded something, then interrupt it like Ctrl-C does.
    await until(async () => (await readFile(join(dir, 'gitlab.json'), 'utf8').catch(() => '')).includes('"resources": [\n    {'));
    first.child.kill('SIGINT');
    expect(await first.exited).toBe(130);
    expect(first.output().stderr).toMatch(/Continue with: gitlab-aws resume --state-dir \S+ --sandbox/);
    expect(await exists(join(dir, 'gitlab.lock'))).toBe(false);

    const resumed = await runCli(['resume', '--sandbox', '--yes', '--state-dir', dir]);
    expect(resumed.code, resumed.stderr).toBe(0);
    const { held, planned } = await heldAndPlanned(dir, plan);
    expect(held).toEqual(planned);
  }, 60_000);

  it('a lock left by a dead process is taken over with a notice', async () => {
    const dir = await tempDir();
    const { writeFile, mkdir } = await import('node:fs/promises');
    const { hostname } = await import('node:os');
    const dead = spawn(process.execPath, ['-e', '']);
    await new Promise((r) => dead.on('close', r));
    await mkdir(dir, { recursive: true });
    await writeFile(
      join(dir, 'gitlab.lock'),
      JSON.stringify({ pid: dead.pid, host: hostname(), command: 'gitlab-aws install', startedAt: new Date().toISOString() }),
    );
    const run = await runCli(['install', '--sandbox', '--yes', '--state-dir', dir]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain(`stale lock left by PID ${dead.pid}`);
  });

  it('two Ctrl-Cs: the run still prints the continue command, releases the lock, and the pasted command finishes', async () => {
    const dir = await tempDir();
    const plan = await planFor(dir);
    const first = startSlowInstall(dir);
    await until(async () => (await readFile(join(dir, 'gitlab.json'), 'utf8').catch(() => '')).includes('"resources": [\n    {'));
    first.child.kill('SIGINT');
    // The second once the first was taken (signals sent together may arrive as one). Whether the
    // run was still stopping or had already stopped, the operator sees the same ending.
    await until(async () => first.output().stderr.includes('Stopping at a safe point'));
    first.child.kill('SIGINT');
    expect(await first.exited).toBe(130);
    const continueWith = /Continue with: (.+)/.exec(first.output().stderr)?.[1];
    expect(continueWith).toBe(`gitlab-aws resume --state-dir ${dir} --sandbox`);
    expect(await exists(join(dir, 'gitlab.lock'))).toBe(false);

    // Pasted as printed; --yes answers the confirmation a terminal would ask.
    const resumed = await runCli([...pasted(continueWith!), '--yes']);
    expect(resumed.code, resumed.stderr).toBe(0);
    const { held, planned } = await heldAndPlanned(dir, plan);
    expect(held).toEqual(planned);
  }, 60_000);
});

/** A recorder that presses Ctrl-C twice, at once, when the run records its first resource. */
class DoubleCtrlC extends RecorderHost {
  private pressed = false;

  override progress(): Progress {
    const inner = super.progress();
    return {
      sink: (event) => {
        inner.sink(event);
        if (event.type !== 'resource' || this.pressed) return;
        this.pressed = true;
        process.emit('SIGINT');
        process.emit('SIGINT');
      },
      close: inner.close,
    };
  }
}

describe('quitting at once (a second Ctrl-C)', () => {
  it('says how to continue and releases the lock before the process exits', async () => {
    const dir = await tempDir();
    const host = new DoubleCtrlC({ 'confirm-install': true }, { otherwise: 'yes' });
    const lock = join(dir, 'gitlab.lock');
    let atExit: { code: unknown; lockHeld: boolean; said: string[] } | undefined;
    // Kept from ending the test process; what matters is what had happened when it was called.
    vi.spyOn(process, 'exit').mockImplementation(((code?: number) => {
      atExit ??= { code, lockHeld: existsSync(lock), said: host.messages.map((m) => m.text) };
    }) as typeof process.exit);

    await main(['install', '--sandbox', '--yes', '--state-dir', dir], host);

    expect(atExit?.code).toBe(130);
    expect(atExit?.lockHeld).toBe(false);
    expect(atExit?.said.at(-1)).toBe(
      `State saved in ${join(dir, 'gitlab.json')}. Continue with: gitlab-aws resume --state-dir ${dir} --sandbox`,
    );
    const quit = host.messages.find((m) => m.code === 'run.stopped');
    expect(quit?.data).toMatchObject({ stoppedBy: 'quit' });
  });
});

describe('what the CLI prints for the operator to run works when pasted', () => {
  it("the success message's status and teardown commands carry --deployment, --state-dir and --sandbox", async () => {
    const dir = await tempDir();
    const installed = await runCli(['install', '--sandbox', '--yes', '--state-dir', dir, '--deployment', 'poc']);
    expect(installed.code, installed.stderr).toBe(0);
    const done = /See them with '([^']+)'; remove them with '([^']+)'/.exec(installed.stdout + installed.stderr);
    expect(done?.[1]).toBe(`gitlab-aws status --deployment poc --state-dir ${dir} --sandbox`);

    const status = await runCli([...pasted(done![1]!), '--json']);
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ deployment: 'poc', exists: true, sandbox: true });

    const teardown = await runCli([...pasted(done![2]!), '--yes']);
    expect(teardown.code, teardown.stderr).toBe(0);
    expect(await exists(join(dir, 'poc.json'))).toBe(false);
  }, 60_000);
});

describe('temp files left by a kill -9', () => {
  it("are removed by the next run; a live writer's stay", async () => {
    const dir = await tempDir();
    expect((await runCli(['install', '--sandbox', '--yes', '--state-dir', dir])).code).toBe(0);
    const uuid = '0f8fad5b-d9cb-469f-a165-70867728950e';
    const dead = await deadPid();
    const leftovers = [`gitlab.json.${dead}.${uuid}.tmp`, `sandbox-world.json.${dead}.${uuid}.tmp`];
    const live = `sandbox-world.json.${process.pid}.${uuid}.tmp`;
    for (const name of [...leftovers, live]) await writeFile(join(dir, name), '{"half": ');

    const resumed = await runCli(['resume', '--sandbox', '--yes', '--state-dir', dir]);
    expect(resumed.code, resumed.stderr).toBe(0);
    const tmp = (await readdir(dir)).filter((name) => name.endsWith('.tmp'));
    expect(tmp).toEqual([live]);
  }, 60_000);
});
