import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { specTypeSchemas } from '@modelcontextprotocol/server';
import { afterAll, describe, expect, it } from 'vitest';
import { zodReport } from '../fixtures/zod-probe.ts';
import { emptyDir } from '../helpers/data-dir.ts';
import { PROJECT_ROOT, startServer, type RunningServer } from '../helpers/server-process.ts';
import { killIfRunning } from '../helpers/shutdown.ts';
import { createSqliteFixture } from '../helpers/sqlite-fixture.ts';

/**
 * zod runs compiled and without its cycle support in the server process, for the MCP SDK's schemas
 * too, some of which are built as its modules load (see src/zod-setup.ts): main.ts must set zod up
 * before anything else is imported. A probe loaded ahead of the entry asks the process's own copy
 * of the SDK.
 */

const PROBE = fileURLToPath(new URL('../fixtures/zod-probe.ts', import.meta.url));

const servers: RunningServer[] = [];
afterAll(async () => {
  await Promise.allSettled(servers.map(killIfRunning));
});

describe('zod as the server process runs it', () => {
  it('compiles the MCP SDK’s schemas and parses its JSON values as trees in a serving sqlbridge', async () => {
    const dir = emptyDir('zod-setup-');
    const config = join(dir, 'sqlbridge.yaml');
    writeFileSync(
      config,
      `environments:\n  lite:\n    database: { engine: sqlite, path: ${JSON.stringify(createSqliteFixture())} }\n`
    );
    const server = await startServer({
      args: ['serve', '--no-auth', '--config', config, '--data-dir', dir],
      env: { NODE_OPTIONS: `--import ${PROBE}` }
    });
    servers.push(server);
    server.process.kill('SIGUSR2');
    expect(await server.logLine(entry => 'zodProbe' in entry)).toEqual({ zodProbe: 'trees', compiled: true });
  });

  it('would see neither in a process that loads the SDK without sqlbridge’s entry', async () => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        PROBE,
        '--input-type=module',
        '-e',
        "await import('@modelcontextprotocol/server'); process.stderr.write('loaded\\n'); setTimeout(() => {}, 10_000);"
      ],
      { cwd: PROJECT_ROOT, stdio: ['ignore', 'ignore', 'pipe'] }
    );
    try {
      const answer = await new Promise<string>((resolve, reject) => {
        let stderr = '';
        let asked = false;
        child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
          stderr += chunk;
          if (!asked && stderr.includes('loaded\n')) {
            asked = true;
            child.kill('SIGUSR2');
          }
          const line = stderr.split('\n').find(l => l.startsWith('{'));
          if (line !== undefined) resolve(line);
        });
        child.once('exit', code => reject(new Error(`probe process exited with ${String(code)}: ${stderr}`)));
      });
      expect(JSON.parse(answer)).toEqual({ zodProbe: 'memo', compiled: false });
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('is how the tests run it too (tests/setup/zod.ts)', () => {
    expect(zodReport(specTypeSchemas)).toEqual({ zodProbe: 'trees', compiled: true });
  });
});
