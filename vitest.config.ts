import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    // End-to-end tests spawn the built CLI; the crash sweeps (crash-sweep-*.test.ts) set longer timeouts of their own.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Most files spend their time in the CLI processes they spawn, not in the worker: two files at
    // once keep both cores of a CI machine busy (vitest's default on two cores is one at a time).
    maxWorkers: Math.max(2, availableParallelism() - 1),
  },
});
