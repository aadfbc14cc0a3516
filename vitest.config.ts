import { defineConfig } from 'vitest/config';

/**
 * Two projects: `main`, everything that can run in parallel; `recovery`, which stops and starts the
 * machine's database servers and so runs alone, after `main` (npm test runs them in that order).
 */
export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default'],
    globalSetup: ['tests/setup/global-setup.ts'],
    setupFiles: ['tests/setup/zod.ts'],
    projects: [
      { extends: true, test: { name: 'main', include: ['tests/**/*.test.ts'], exclude: ['tests/recovery/**'] } },
      { extends: true, test: { name: 'recovery', include: ['tests/recovery/**/*.test.ts'], fileParallelism: false } }
    ]
  }
});
