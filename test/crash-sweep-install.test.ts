import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { sandboxInventory, shape, tempDir } from './helpers.js';
import {
  firstError,
  installedProblems,
  Lanes,
  leftOver,
  recordCrashPoints,
  restoreSnapshot,
  SWEEP_TIMEOUT,
  type CrashPoint,
} from './crash-sweep-helpers.js';

/**
 * The promise of the state file: whatever moment the process dies during an install, a resume
 * ends with exactly the inventory of an uninterrupted install, and a teardown leaves nothing.
 * Every mutating call of a full install is a crash point (see crash-sweep-helpers.ts for how a
 * crash is replayed from a snapshot; crash-sweep.test.ts kills real processes at a few).
 */
describe('crash sweep over an install', () => {
  const lanes = new Lanes();
  let root: string;
  let points: CrashPoint[];
  let cleanShape: Record<string, number>;
  const started = Date.now();

  beforeAll(async () => {
    root = await tempDir('gitlab-aws-sweep-install-');
    const clean = join(root, 'clean');
    points = (await recordCrashPoints(lanes.first, 'install', clean, join(root, 'snapshots'))).points;
    expect(points.length).toBeGreaterThan(10);
    cleanShape = shape(await sandboxInventory(clean));
    expect(await installedProblems(clean, cleanShape)).toEqual([]);
  }, SWEEP_TIMEOUT);

  afterAll(async () => {
    lanes.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it(
    'resumes to the clean inventory, and tears down to nothing, after a crash at every mutating call',
    async () => {
      const problems: string[] = [];
      await lanes.each(points, async ({ n, snapshot }, lane) => {
        // Crash at N, then resume: the inventory must be the clean one, all of it recorded; then teardown.
        const dir = join(root, `resume-${n}`);
        await restoreSnapshot(snapshot, dir);
        const resumed = await lane.cli('install', dir);
        if (resumed.code !== 0) problems.push(`N=${n}: resume exited ${resumed.code}: ${firstError(resumed.stderr)}`);
        for (const p of await installedProblems(dir, cleanShape)) problems.push(`N=${n}: after resume, ${p}`);
        const gone = await lane.cli('teardown', dir);
        const left = await leftOver(dir);
        if (gone.code !== 0 || left.length) problems.push(`N=${n}: teardown after resume exited ${gone.code} leaving ${left.join(', ')}`);

        // Crash at N, then tear down straight away: nothing may remain, recorded or not.
        const dir2 = join(root, `teardown-${n}`);
        await restoreSnapshot(snapshot, dir2);
        const torn = await lane.cli('teardown', dir2);
        const left2 = await leftOver(dir2);
        if (torn.code !== 0 || left2.length) {
          problems.push(`N=${n}: teardown after crash exited ${torn.code} leaving ${left2.join(', ')}: ${firstError(torn.stderr)}`);
        }
        await rm(dir, { recursive: true, force: true });
        await rm(dir2, { recursive: true, force: true });
      });
      console.log(
        `crash sweep (install): ${points.length} crash points on ${lanes.lanes.length} lanes in ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
      expect(problems).toEqual([]);
    },
    SWEEP_TIMEOUT,
  );
});
