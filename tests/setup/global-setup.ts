import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { DemoDatabase } from '../../src/demo/demo-database.ts';
import { createLogger } from '../../src/observability/logger.ts';

/** Builds the demo database once per test run; tests copy it into their own data directories. */
export default function setup(project: TestProject): () => void {
  const root = mkdtempSync(join(tmpdir(), 'sqlbridge-tests-'));
  const dataDir = join(root, 'demo-template');
  mkdirSync(dataDir, { recursive: true });
  const demo = DemoDatabase.open({ dataDir, logger: createLogger('warn'), liveFeed: false });
  demo.close();
  project.provide('demoTemplate', DemoDatabase.demoPath(dataDir));
  project.provide('testRoot', root);
  return () => rmSync(root, { recursive: true, force: true });
}

declare module 'vitest' {
  export interface ProvidedContext {
    demoTemplate: string;
    testRoot: string;
  }
}
