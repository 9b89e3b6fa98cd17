import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores here: run files in parallel on two workers; heavy suites
    // (Prometheus side-by-side, crash loops) serialise themselves with their own locks.
    pool: 'forks',
    // Memory-bound tests collect garbage before measuring (globalThis.gc).
    execArgv: ['--expose-gc'],
    maxWorkers: 2,
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
