import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { statePaths } from '../src/state/store.js';
import { readWorld, runCli, sandboxInventory, shape, statusJson, tempDir } from './helpers.js';
import { firstError, installedProblems, leftOver } from './crash-sweep-helpers.js';

/**
 * The crash sweeps (crash-sweep-install and crash-sweep-teardown) replay a crash from a snapshot
 * of the state directory; these few runs kill the real CLI instead (the sandbox SIGKILLs its own
 * process right after its Nth mutating call), so the real kill path, and the stale lock it leaves,
 * stay tested end to end.
 */
const install = (dir: string, env: Record<string, string> = {}) => runCli(['install', '--sandbox', '--yes', '--state-dir', dir], env);
const teardown = (dir: string, env: Record<string, string> = {}) => runCli(['teardown', '--sandbox', '--yes', '--state-dir', dir], env);
const crashAfter = (n: number) => ({ GITLAB_AWS_SANDBOX_FAULTS: JSON.stringify({ crashAfter: n }) });

/** A clean install and teardown: the inventory to hold resumes against, and each one's call count. */
async function cleanRun() {
  const dir = await tempDir();
  const installed = await install(dir);
  expect(installed.code, installed.stderr).toBe(0);
  const cleanShape = shape(await sandboxInventory(dir));
  const installCalls = (await readWorld(dir))!.mutations;
  const torn = await teardown(dir);
  expect(torn.code, torn.stderr).toBe(0);
  expect(await leftOver(dir)).toEqual([]);
  return { cleanShape, installCalls, teardownCalls: (await readWorld(dir))!.mutations - installCalls };
}

/** Runs the CLI until the sandbox kills it; a lock naming the dead process stays behind. */
async function killed(run: Promise<{ signal: NodeJS.Signals | null; code: number | null; stderr: string }>, dir: string) {
  const result = await run;
  expect(result.signal, `expected the crash, got exit ${result.code}: ${result.stderr}`).toBe('SIGKILL');
  expect(existsSync(statePaths(dir, 'gitlab').lock)).toBe(true);
}

describe('crash sweep: real kills', () => {
  it('resumes to the clean inventory, and tears down to nothing, after a real SIGKILL at the first, a middle and the last call of an install', async () => {
    const { cleanShape, installCalls } = await cleanRun();
    expect(installCalls).toBeGreaterThan(10);
    const problems: string[] = [];
    await Promise.all(
      [1, Math.ceil(installCalls / 2), installCalls].map(async (n) => {
        const dir = await tempDir(`crash-${n}-`);
        await killed(install(dir, crashAfter(n)), dir);
        const resumed = await install(dir);
        if (resumed.code !== 0) problems.push(`N=${n}: resume exited ${resumed.code}: ${firstError(resumed.stderr)}`);
        for (const p of await installedProblems(dir, cleanShape)) problems.push(`N=${n}: after resume, ${p}`);
        const gone = await teardown(dir);
        const left = await leftOver(dir);
        if (gone.code !== 0 || left.length) problems.push(`N=${n}: teardown after resume exited ${gone.code} leaving ${left.join(', ')}`);
      }),
    );
    expect(problems).toEqual([]);
  }, 300_000);

  it('tears down to nothing after a real SIGKILL in the middle of an install, and in the middle of a teardown', async () => {
    const { installCalls, teardownCalls } = await cleanRun();
    expect(teardownCalls).toBeGreaterThan(10);
    const [duringInstall, duringTeardown] = await Promise.all([tempDir('crash-install-'), tempDir('crash-teardown-')]);
    await Promise.all([
      killed(install(duringInstall, crashAfter(Math.ceil(installCalls / 2))), duringInstall),
      (async () => {
        expect((await install(duringTeardown)).code).toBe(0);
        await killed(teardown(duringTeardown, crashAfter(Math.ceil(teardownCalls / 2))), duringTeardown);
      })(),
    ]);
    for (const dir of [duringInstall, duringTeardown]) {
      const torn = await teardown(dir);
      expect(torn.code, torn.stderr).toBe(0);
      expect(await leftOver(dir)).toEqual([]);
    }
  }, 300_000);

  it('sees the sandbox empty through discovery after a teardown that followed a crash', async () => {
    const dir = await tempDir();
    await killed(install(dir, crashAfter(5)), dir);
    expect((await teardown(dir)).code).toBe(0);
    const discovered = await runCli(['status', '--sandbox', '--discover', '--json', '--state-dir', dir]);
    expect(statusJson(discovered.stdout).resources).toEqual([]);
  });
});
