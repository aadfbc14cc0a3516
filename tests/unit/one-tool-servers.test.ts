import { createMcpHandler, McpServer, type McpHttpHandler } from '@modelcontextprotocol/server';
import { afterEach, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { OneToolServers, type CallTracker } from '../../src/mcp/one-tool-servers.ts';
import { webToolCall } from '../helpers/web-tool-call.ts';

/**
 * The reuse of one-tool servers, through the SDK's own 2026-07-28 handler: a server goes back to
 * the pool only once its exchange has ended and its call with it, never while it serves.
 */

/** A tool that answers its argument once `release` lets it (at once unless a test holds it). */
function echoServer(calls: CallTracker, gate: { held?: Promise<void> }, built: McpServer[]): McpServer {
  const server = new McpServer(
    { name: 'pool-test', version: '1' },
    { capabilities: { tools: { listChanged: false } } }
  );
  server.registerTool('echo', { inputSchema: z.object({ text: z.string() }) }, async ({ text }) => {
    calls.started();
    try {
      await gate.held;
      return { content: [{ type: 'text', text }] };
    } finally {
      calls.ended();
    }
  });
  built.push(server);
  return server;
}

let handler: McpHttpHandler | undefined;

afterEach(async () => {
  await handler?.close();
  handler = undefined;
});

function setUp(maxIdle?: number): {
  pool: OneToolServers;
  built: McpServer[];
  gate: { held?: Promise<void> };
  call: (id: number, text: string, signal?: AbortSignal) => Promise<{ status: number; text: string }>;
} {
  const pool = new OneToolServers(maxIdle);
  const built: McpServer[] = [];
  const gate: { held?: Promise<void> } = {};
  const served = createMcpHandler(() => pool.take('echo', calls => echoServer(calls, gate, built)), {
    legacy: 'reject'
  });
  handler = served;
  const call = async (id: number, text: string, signal?: AbortSignal): Promise<{ status: number; text: string }> => {
    const { request, body } = webToolCall('echo', { text }, { id, ...(signal === undefined ? {} : { signal }) });
    const response = await served.fetch(request, { parsedBody: body });
    return { status: response.status, text: await response.text() };
  };
  return { pool, built, gate, call };
}

/** Holds every call of the tool until the returned function is called. */
function hold(gate: { held?: Promise<void> }): () => void {
  let release!: () => void;
  gate.held = new Promise(resolve => {
    release = resolve;
  });
  return release;
}

const settle = (): Promise<void> => new Promise(resolve => setTimeout(resolve, 20));

describe('one-tool servers', () => {
  it('serves the next call of a tool with the server of the last one, once its exchange has ended', async () => {
    const { pool, built, call } = setUp();
    for (let id = 1; id <= 5; id++) {
      const answer = await call(id, `call ${id}`);
      expect(answer.status).toBe(200);
      expect(answer.text).toContain(`call ${id}`);
      expect(answer.text).toContain(`"id":${id}`);
      await settle();
    }
    expect(built).toHaveLength(1);
    expect(pool.idleCount('echo')).toBe(1);
  });

  it('gives calls running at the same time a server each, and keeps at most maxIdle of them afterwards', async () => {
    const { pool, built, gate, call } = setUp(2);
    const release = hold(gate);
    const answers = [1, 2, 3, 4].map(id => call(id, `call ${id}`));
    await settle();
    // None of them is back in the pool while it serves.
    expect(pool.idleCount('echo')).toBe(0);
    release();
    const done = await Promise.all(answers);
    expect(done.map(answer => answer.status)).toEqual([200, 200, 200, 200]);
    done.forEach((answer, i) => expect(answer.text).toContain(`call ${i + 1}`));
    expect(new Set(built).size).toBe(4);
    await settle();
    expect(pool.idleCount('echo')).toBe(2);
  });

  it('keeps at most 32 idle servers per tool by default', async () => {
    const { pool, built, gate, call } = setUp();
    const release = hold(gate);
    const answers = Array.from({ length: 40 }, (_, i) => call(i + 1, `call ${i + 1}`));
    await settle();
    release();
    expect((await Promise.all(answers)).every(answer => answer.status === 200)).toBe(true);
    expect(built).toHaveLength(40);
    await settle();
    expect(pool.idleCount('echo')).toBe(32);
  });

  it('drops a server whose client went away while its call was still running', async () => {
    const { pool, built, gate, call } = setUp();
    const release = hold(gate);
    const controller = new AbortController();
    const abandoned = call(1, 'abandoned', controller.signal).catch(() => undefined);
    await settle();
    controller.abort();
    await abandoned;
    await settle();
    release();
    await settle();
    expect(pool.idleCount('echo')).toBe(0);
    gate.held = undefined;
    const next = await call(2, 'next');
    expect(next.text).toContain('next');
    expect(built).toHaveLength(2);
  });
});
