import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Prints the one SKIPPED line when the recorded exchange fixtures are absent.
    globalSetup: ['test/support/fixtures-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Most tests wait on sockets and timers, not the CPU: two files at a time on two cores.
    maxWorkers: 2,
    minWorkers: 1,
  },
});
