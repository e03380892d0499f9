import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BIN, ROOT, runCli, tempDir } from './helpers.js';
import { heldAndPlanned, planFor } from './plan-helpers.js';

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
});
