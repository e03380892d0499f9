import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandboxInventory, shape } from './helpers.js';
import { tearsDownToNothing, CrashSweep, firstError, installedProblems, leftOver, SWEEP_TIMEOUT } from './crash-sweep-helpers.js';

/**
 * A teardown may die at any moment too: from wherever it stopped, another teardown must end with
 * nothing left, and an install must end with exactly the clean inventory. Every mutating call of
 * a full teardown of a clean install is a crash point.
 */
describe('crash sweep over a teardown', () => {
  const sweep = new CrashSweep('teardown');
  let cleanShape: Record<string, number>;

  beforeAll(async () => {
    const dir = await sweep.start();
    const installed = await sweep.lanes.first.cli('install', dir);
    expect(installed.code, installed.stderr).toBe(0);
    cleanShape = shape(await sandboxInventory(dir));
    await sweep.record('teardown', dir);
    expect(await leftOver(dir)).toEqual([]);
  }, SWEEP_TIMEOUT);

  afterAll(() => sweep.close());

  it(
    'tears down to nothing after a crash at every mutating call of a teardown',
    async () => {
      const problems = await sweep.fromEveryPoint('teardown', tearsDownToNothing);
      expect(problems).toEqual([]);
    },
    SWEEP_TIMEOUT,
  );

  // Teardown advances a step's token generation before it deletes anything, so the install never
  // replays a token whose resource the teardown deleted (src/engine/tokens.ts).
  it(
    'installs to the clean inventory after a crash at every mutating call of a teardown',
    async () => {
      const problems = await sweep.fromEveryPoint('install', async (dir, lane) => {
        const installed = await lane.cli('install', dir);
        const wrong = await installedProblems(dir, cleanShape);
        return [...(installed.code !== 0 ? [`install exited ${installed.code}: ${firstError(installed.stderr)}`] : []), ...wrong];
      });
      expect(problems).toEqual([]);
    },
    SWEEP_TIMEOUT,
  );
});
