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
 * A teardown may die at any moment too: from wherever it stopped, another teardown must end with
 * nothing left, and an install must end with exactly the clean inventory. Every mutating call of
 * a full teardown of a clean install is a crash point.
 */
describe('crash sweep over a teardown', () => {
  const lanes = new Lanes();
  let root: string;
  let points: CrashPoint[];
  let cleanShape: Record<string, number>;

  beforeAll(async () => {
    root = await tempDir('gitlab-aws-sweep-teardown-');
    const dir = join(root, 'clean');
    const installed = await lanes.first.cli('install', dir);
    expect(installed.code, installed.stderr).toBe(0);
    cleanShape = shape(await sandboxInventory(dir));
    points = (await recordCrashPoints(lanes.first, 'teardown', dir, join(root, 'snapshots'))).points;
    expect(points.length).toBeGreaterThan(10);
    expect(await leftOver(dir)).toEqual([]);
  }, SWEEP_TIMEOUT);

  afterAll(async () => {
    lanes.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  /** Runs `check` from every crash point, each in a fresh copy of its snapshot; returns the problems. */
  async function sweep(label: string, check: (dir: string, lane: Lanes['first']) => Promise<string[]>): Promise<string[]> {
    const started = Date.now();
    const problems: string[] = [];
    await lanes.each(points, async ({ n, snapshot }, lane) => {
      const dir = join(root, `${label}-${n}`);
      await restoreSnapshot(snapshot, dir);
      for (const p of await check(dir, lane)) problems.push(`N=${n}: ${p}`);
      await rm(dir, { recursive: true, force: true });
    });
    console.log(
      `crash sweep (teardown, then ${label}): ${points.length} crash points on ${lanes.lanes.length} lanes in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    if (problems.length) console.log(`crash sweep (teardown, then ${label}) problems:\n${problems.join('\n')}`);
    return problems;
  }

  it(
    'tears down to nothing after a crash at every mutating call of a teardown',
    async () => {
      const problems = await sweep('teardown', async (dir, lane) => {
        const torn = await lane.cli('teardown', dir);
        const left = await leftOver(dir);
        return torn.code !== 0 || left.length
          ? [`teardown exited ${torn.code} leaving ${left.join(', ')}: ${firstError(torn.stderr)}`]
          : [];
      });
      expect(problems).toEqual([]);
    },
    SWEEP_TIMEOUT,
  );

  // Known open defect, fixed by the issue "Ownership and recovery": an install after an interrupted
  // teardown fails in public-route-table with "Cannot read properties of undefined (reading 'id')"
  // (crash points 8-43 of 44 today) or "The client token ... was used with different parameters"
  // (crash point 44). When this starts passing, make it an ordinary `it`.
  it.fails(
    'installs to the clean inventory after a crash at every mutating call of a teardown',
    async () => {
      const problems = await sweep('install', async (dir, lane) => {
        const installed = await lane.cli('install', dir);
        const wrong = await installedProblems(dir, cleanShape);
        return [...(installed.code !== 0 ? [`install exited ${installed.code}: ${firstError(installed.stderr)}`] : []), ...wrong];
      });
      expect(problems).toEqual([]);
    },
    SWEEP_TIMEOUT,
  );
});
