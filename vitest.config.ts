import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    // End-to-end tests spawn the built CLI; the crash sweeps (crash-sweep-*.test.ts) set longer timeouts of their own.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
