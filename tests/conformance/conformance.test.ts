import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoDataDir, emptyDir } from '../helpers/data-dir.ts';
import { startServer, type RunningServer } from '../helpers/server-process.ts';
import { APPLICABLE, SKIPPED } from './expectations.ts';

/** The pinned MCP conformance suite against a running demo server. */

const CONFORMANCE_CLI = fileURLToPath(
  new URL('../../node_modules/@modelcontextprotocol/conformance/dist/index.js', import.meta.url)
);

interface Check {
  id: string;
  status: 'SUCCESS' | 'FAILURE' | 'WARNING' | 'SKIPPED' | 'INFO';
  errorMessage?: string;
}

describe('MCP conformance suite', () => {
  let server: RunningServer;
  const results = new Map<string, Check[]>();

  beforeAll(async () => {
    server = await startServer({ args: ['demo', '--no-auth', '--data-dir', demoDataDir()] });
    const output = emptyDir('conformance-');
    const child = spawn(
      process.execPath,
      [CONFORMANCE_CLI, 'server', '--url', `${server.baseUrl}/demo/mcp`, '--suite', 'all', '-o', output],
      {
        stdio: 'ignore'
      }
    );
    await once(child, 'exit');
    for (const entry of readdirSync(output)) {
      const scenario = /^server-(.+)-\d{4}-\d{2}-\d{2}T/.exec(entry)?.[1];
      if (scenario === undefined) continue;
      results.set(scenario, JSON.parse(readFileSync(join(output, entry, 'checks.json'), 'utf8')) as Check[]);
    }
  }, 120_000);

  afterAll(async () => {
    await server.stop();
  });

  it('classifies every scenario of the suite as applicable or skipped with a reason', () => {
    expect(results.size).toBeGreaterThan(40);
    const unclassified = [...results.keys()].filter(s => !(s in APPLICABLE) && !(s in SKIPPED));
    expect(unclassified).toEqual([]);
    const missing = Object.keys(APPLICABLE).filter(s => !results.has(s));
    expect(missing).toEqual([]);
  });

  it('exercises the resource, prompt and caching checks on the demo tables rather than skipping them', () => {
    const status = (scenario: string, id: string) => results.get(scenario)?.find(c => c.id === id)?.status;
    expect(status('resources-list', 'resources-list')).toBe('SUCCESS');
    expect(status('prompts-list', 'prompts-list')).toBe('SUCCESS');
    for (const id of [
      'sep-2549-tools-list-caching-hints',
      'sep-2549-prompts-list-caching-hints',
      'sep-2549-resources-list-caching-hints',
      'sep-2549-resources-templates-list-caching-hints',
      'sep-2549-resources-read-caching-hints'
    ]) {
      expect(status('caching', id), id).toBe('SUCCESS');
    }
  });

  for (const [scenario, expectation] of Object.entries(APPLICABLE)) {
    it(`passes ${scenario}`, () => {
      const checks = results.get(scenario) ?? [];
      const notTestable = expectation.notTestable ?? {};
      const failed = checks.filter(c => c.status === 'FAILURE').map(c => `${c.id}: ${c.errorMessage ?? ''}`);
      const unexpected = failed.filter(f => !Object.keys(notTestable).some(id => f.startsWith(`${id}:`)));
      expect(unexpected).toEqual([]);
      const stale = Object.keys(notTestable).filter(id => !checks.some(c => c.id === id && c.status === 'FAILURE'));
      expect(stale, 'listed as not testable but no longer failing: remove from expectations.ts').toEqual([]);
    });
  }
});
