import { copyFileSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';
import { DEMO_FILE } from '../../src/demo/demo-database.ts';

/** A fresh data directory holding a copy of the demo database built by the global setup. */
export function demoDataDir(): string {
  const dir = mkdtempSync(join(inject('testRoot'), 'data-'));
  copyFileSync(inject('demoTemplate'), join(dir, DEMO_FILE));
  return dir;
}

export function emptyDir(prefix = 'tmp-'): string {
  return mkdtempSync(join(inject('testRoot'), prefix));
}
