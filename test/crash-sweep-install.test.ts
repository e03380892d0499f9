import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { statePaths } from '../src/state/store.js';
import { sandboxInventory, shape } from './helpers.js';
import { tearsDownToNothing, CrashSweep, firstError, installedProblems, leftOver, SWEEP_TIMEOUT } from './crash-sweep-helpers.js';

/**
 * The promise of the state file: whatever moment the process dies during an install, a resume
 * ends with exactly the inventory of an uninterrupted install, and a teardown leaves nothing.
 * Every mutating call of a full install is a crash point (crash-sweep-helpers.ts replays a crash
 * from a snapshot of the state directory; crash-sweep.test.ts kills real processes at a few).
 */
describe('crash sweep over an install', () => {
  const sweep = new CrashSweep('install');
  let cleanShape: Record<string, number>;

  beforeAll(async () => {
    const dir = await sweep.start();
    await sweep.record('install', dir);
    cleanShape = shape(await sandboxInventory(dir));
    expect(await installedProblems(dir, cleanShape)).toEqual([]);
  }, SWEEP_TIMEOUT);

  afterAll(() => sweep.close());

  it(
    'resumes to the clean inventory, and then tears down to nothing, after a crash at every mutating call',
    async () => {
      const problems = await sweep.fromEveryPoint('resume', async (dir, lane) => {
        const found: string[] = [];
        const resumed = await lane.cli('install', dir);
        if (resumed.code !== 0) found.push(`resume exited ${resumed.code}: ${firstError(resumed.stderr)}`);
        for (const p of await installedProblems(dir, cleanShape)) found.push(`after resume, ${p}`);
        // The resume took over the dead process's lock, and let go of it when done.
        if (existsSync(statePaths(dir, 'gitlab').lock)) found.push('the lock is still there after the resume');
        const gone = await lane.cli('teardown', dir);
        const left = await leftOver(dir);
        if (gone.code !== 0 || left.length) found.push(`teardown after resume exited ${gone.code} leaving ${left.join(', ')}`);
        return found;
      });
      expect(problems).toEqual([]);
    },
    SWEEP_TIMEOUT,
  );

  it(
    'tears down to nothing, recorded or not, straight after a crash at every mutating call',
    async () => {
      const problems = await sweep.fromEveryPoint('teardown', tearsDownToNothing);
      expect(problems).toEqual([]);
    },
    SWEEP_TIMEOUT,
  );

  it(
    'resumes to the clean inventory after a crash of the install at N and of its resume at M (sampled pairs)',
    async () => {
      const { problems, pairs } = await sweep.fromCrashedResumes('resume', { firsts: 12, seconds: 3 }, async (dir, lane) => {
        const found: string[] = [];
        const resumed = await lane.cli('install', dir);
        if (resumed.code !== 0) found.push(`second resume exited ${resumed.code}: ${firstError(resumed.stderr)}`);
        for (const p of await installedProblems(dir, cleanShape)) found.push(`after the second resume, ${p}`);
        if (existsSync(statePaths(dir, 'gitlab').lock)) found.push('the lock is still there after the second resume');
        return found;
      });
      expect(problems).toEqual([]);
      expect(pairs).toBeGreaterThanOrEqual(30);
    },
    SWEEP_TIMEOUT,
  );
});
