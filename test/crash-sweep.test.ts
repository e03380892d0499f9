import { describe, expect, it } from 'vitest';
import { readState } from '../src/state/store.js';
import { readWorld, runCli, sandboxInventory, shape, statusJson, tempDir } from './helpers.js';
import { join } from 'node:path';

/**
 * The promise of the state file: whatever moment the process dies, a resume ends with exactly
 * the inventory of an uninterrupted install, and a teardown leaves nothing. The sandbox kills the
 * CLI (SIGKILL, no clean-up) right after its Nth mutating call, for every N an install makes.
 */
const install = (dir: string, env: Record<string, string> = {}) => runCli(['install', '--sandbox', '--yes', '--state-dir', dir], env);
const teardown = (dir: string) => runCli(['teardown', '--sandbox', '--yes', '--state-dir', dir]);
const crashAfter = (n: number) => ({ GITLAB_AWS_SANDBOX_FAULTS: JSON.stringify({ crashAfter: n }) });

async function recorded(dir: string) {
  return (await readState(join(dir, 'gitlab.json')))?.resources ?? [];
}

/** Runs `work` for 1..count with at most `width` at once (the machine has two cores). */
async function sweep(count: number, width: number, work: (n: number) => Promise<void>) {
  let next = 1;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next <= count) await work(next++);
    }),
  );
}

describe('crash sweep', () => {
  it('resumes to the clean inventory, and tears down to nothing, after a crash at every mutating call', async () => {
    const cleanDir = await tempDir();
    const clean = await install(cleanDir);
    expect(clean.code, clean.stderr).toBe(0);
    const cleanShape = shape(await sandboxInventory(cleanDir));
    const calls = (await readWorld(cleanDir))!.mutations;
    expect(calls).toBeGreaterThan(10);

    const problems: string[] = [];
    await sweep(calls, 2, async (n) => {
      // Crash at N, then resume: the inventory must be the clean one, all of it recorded.
      const dir = await tempDir(`crash-${n}-`);
      const crashed = await install(dir, crashAfter(n));
      if (crashed.signal !== 'SIGKILL') problems.push(`N=${n}: expected the crash, got exit ${crashed.code}`);
      const resumed = await install(dir);
      if (resumed.code !== 0) problems.push(`N=${n}: resume exited ${resumed.code}: ${resumed.stderr}`);
      const held = await sandboxInventory(dir);
      const state = await recorded(dir);
      if (JSON.stringify(shape(held)) !== JSON.stringify(cleanShape)) {
        problems.push(`N=${n}: inventory ${JSON.stringify(shape(held))} differs from ${JSON.stringify(cleanShape)}`);
      }
      const untracked = held.filter((h) => !state.some((s) => s.type === h.type && s.id === h.id));
      if (untracked.length) problems.push(`N=${n}: untracked ${untracked.map((u) => u.id).join(', ')}`);
      if (new Set(state.map((s) => `${s.type} ${s.id}`)).size !== state.length) problems.push(`N=${n}: duplicate records`);
      const gone = await teardown(dir);
      if (gone.code !== 0 || (await sandboxInventory(dir)).length) problems.push(`N=${n}: teardown after resume left resources`);

      // Crash at N, then tear down straight away: nothing may remain, recorded or not.
      const dir2 = await tempDir(`crash-td-${n}-`);
      await install(dir2, crashAfter(n));
      const torn = await teardown(dir2);
      const left = await sandboxInventory(dir2);
      if (torn.code !== 0 || left.length) {
        problems.push(
          `N=${n}: teardown after crash exited ${torn.code} leaving ${left.map((l) => `${l.type} ${l.id}`).join(', ')}: ${torn.stderr}`,
        );
      }
    });
    expect(problems).toEqual([]);
  }, 600_000);

  it('sees the sandbox empty through discovery after the sweep-style teardown', async () => {
    const dir = await tempDir();
    await install(dir, crashAfter(5));
    expect((await teardown(dir)).code).toBe(0);
    const discovered = await runCli(['status', '--sandbox', '--discover', '--json', '--state-dir', dir]);
    expect(statusJson(discovered.stdout).resources).toEqual([]);
  });
});
