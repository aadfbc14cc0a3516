import { execFile } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { demoDataDir } from '../helpers/data-dir.ts';
import { PROJECT_ROOT } from '../helpers/server-process.ts';

const run = promisify(execFile);

/**
 * The published package runs compiled JavaScript (package.json "bin": dist/main.js), not the
 * TypeScript sources the other tests run. Build it (beside package.json, as dist/ is) and use it.
 */
describe('compiled package', () => {
  const outDir = join(PROJECT_ROOT, '.test-build');
  afterAll(() => rmSync(outDir, { recursive: true, force: true }));

  it('builds, and the built CLI serves the demo with its SQLite worker', async () => {
    const tsc = join(PROJECT_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    await run(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', outDir], { cwd: PROJECT_ROOT });
    expect(existsSync(join(outDir, 'db', 'dialects', 'sqlite', 'sqlite-worker.js'))).toBe(true);
    const version = await run(process.execPath, [join(outDir, 'main.js'), '--version']);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    const check = await run(
      process.execPath,
      [join(outDir, 'main.js'), 'check', '--demo', '--data-dir', demoDataDir()],
      {
        env: { PATH: process.env['PATH'] ?? '' }
      }
    );
    expect(check.stdout).toMatch(/^ok {4}demo {2}demo {6}connected in \d+ ms; 10 tables, 2 views/m);
  }, 120_000);
});
