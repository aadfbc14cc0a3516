import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { request } from 'undici';
import { answerMessage, toolsListBody } from './mcp-messages.ts';
import { PROJECT_ROOT, SQLBRIDGE_ENV, SQLBRIDGE_MAIN } from './build.ts';
import { servingUrl } from './sqlbridge-server.ts';
import { childEnv, freePort, spawnServer } from './spawned-server.ts';

/**
 * Cold start of the demo with its data already generated: from the moment the process is spawned
 * to the first `tools/list` answered with the demo's tools, polled every 5 ms. The first start
 * (which generates the data) is not measured.
 */

/** node's arguments for the demo on `port`, with its data in `dataDir`: `nodeFlags` for node itself, then the script. */
export const demoArgs = (dataDir: string, port: number, nodeFlags: readonly string[]): string[] => [
  ...nodeFlags,
  SQLBRIDGE_MAIN,
  'demo',
  '--no-auth',
  '--data-dir',
  dataDir,
  '--port',
  String(port)
];

/** Starts the demo once so that its data exists. */
export async function prepareDemo(dataDir: string, nodeFlags: readonly string[] = []): Promise<void> {
  const server = await spawnServer(process.execPath, demoArgs(dataDir, 0, nodeFlags), {
    cwd: PROJECT_ROOT,
    env: SQLBRIDGE_ENV,
    readyWhen: servingUrl,
    timeoutMs: 300_000
  });
  await server.stop();
}

async function toolsListed(url: string): Promise<boolean> {
  try {
    const response = await request(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '2026-07-28',
        'mcp-method': 'tools/list'
      },
      body: toolsListBody(1)
    });
    const text = await response.body.text();
    if (response.statusCode !== 200) return false;
    const message = answerMessage(String(response.headers['content-type'] ?? ''), text, 1);
    const tools = (message['result'] as { tools?: unknown[] } | undefined)?.tools;
    return Array.isArray(tools) && tools.length > 0;
  } catch {
    return false;
  }
}

/** One cold start, `node` given `nodeFlags` before the script; milliseconds to the first tools/list. */
export async function coldStartMs(dataDir: string, nodeFlags: readonly string[] = []): Promise<number> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/demo/mcp`;
  const started = performance.now();
  const child = spawn(process.execPath, demoArgs(dataDir, port, nodeFlags), {
    cwd: PROJECT_ROOT,
    env: childEnv(SQLBRIDGE_ENV),
    stdio: ['ignore', 'ignore', 'ignore']
  });
  try {
    while (!(await toolsListed(url))) {
      if (child.exitCode !== null) throw new Error(`the demo exited with ${child.exitCode}`);
      if (performance.now() - started > 60_000) throw new Error('no tools/list within 60 s');
      await new Promise(resolve => setTimeout(resolve, 5));
    }
    return performance.now() - started;
  } finally {
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
  }
}
