import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * sqlbridge as its image runs it (see the Dockerfile): compiled by `npm run build` into `dist/`,
 * started with `node dist/main.js` and the ENV it sets. The bench builds it afresh before it
 * measures, so that the figures are those of the code in the working tree.
 */

export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST = join(PROJECT_ROOT, 'dist');
export const SQLBRIDGE_MAIN = join(DIST, 'main.js');
/** The environment the image sets for Node (the Dockerfile's ENV): production mode and its V8 heap setting. */
export const SQLBRIDGE_ENV = { NODE_ENV: 'production', NODE_OPTIONS: '--max-semi-space-size=16' };

/** Builds the server into `outDir` (inside the project, where its dependencies resolve); returns its main.js. */
export function buildSqlbridge(outDir: string = DIST): string {
  rmSync(outDir, { recursive: true, force: true });
  const tsc = join(PROJECT_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', outDir], {
    cwd: PROJECT_ROOT,
    stdio: 'inherit'
  });
  return join(outDir, 'main.js');
}
