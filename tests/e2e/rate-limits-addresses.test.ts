import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptyDir } from '../helpers/data-dir.ts';
import { startServer, type RunningServer } from '../helpers/server-process.ts';
import { eventMessage, openEventStream } from '../helpers/sse.ts';
import { callToolRaw, postJson, toolResult } from '../helpers/tool-calls.ts';

/**
 * Tool-call limits keyed by client address, on a real server without OAuth behind a trusted proxy
 * (127.0.0.1): the address is the X-Forwarded-For the proxy sends, while a peer that is not a
 * trusted proxy (127.0.0.2) is counted by its own address whatever it forwards. And the legacy
 * HTTP+SSE transport: a limited `POST /messages` is answered 429 before anything is delivered.
 */

let server: RunningServer;

beforeAll(async () => {
  const dir = emptyDir('rate-limits-addresses-');
  const sqlite = (name: string): string => {
    const path = join(dir, `${name}.db`);
    const db = new DatabaseSync(path);
    db.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY)');
    db.close();
    return path;
  };
  const config = join(dir, 'sqlbridge.yaml');
  writeFileSync(
    config,
    [
      'server:',
      '  trustProxy: ["127.0.0.1"]',
      'environments:',
      '  addr:',
      `    database: { engine: sqlite, path: ${JSON.stringify(sqlite('addr'))} }`,
      '    rateLimits: { toolCalls: { perUser: null, perAddress: { limit: 2, windowSeconds: 600 } } }',
      '  legacy:',
      `    database: { engine: sqlite, path: ${JSON.stringify(sqlite('legacy'))} }`,
      '    rateLimits: { toolCalls: { perUser: { limit: 2, windowSeconds: 600 } } }',
      ''
    ].join('\n')
  );
  server = await startServer({ args: ['serve', '--no-auth', '--config', config, '--data-dir', dir] });
}, 60_000);

afterAll(async () => {
  await server.stop();
});

const call = (id: number, headers: Record<string, string>, localAddress?: string) =>
  callToolRaw(
    server.baseUrl,
    'addr',
    'execute_sql',
    { query: 'SELECT 1' },
    { id, headers, ...(localAddress === undefined ? {} : { localAddress }) }
  );

function expectAddressRefusal(answer: { status: number; retryAfter: string | undefined; message: unknown }): void {
  expect(answer.status, JSON.stringify(answer.message)).toBe(429);
  expect(Number(answer.retryAfter)).toBeGreaterThan(500);
  expect((answer.message as { error: { message: string } }).error.message).toMatch(
    /^Rate limit reached: at most 2 tool calls per 600 s per address in environment "addr"; retry in \d+ s$/
  );
}

describe('tool calls per address', () => {
  it('behind a trusted proxy, counts the address X-Forwarded-For names', async () => {
    const client = { 'x-forwarded-for': '203.0.113.5' };
    for (const id of [1, 2]) expect(toolResult((await call(id, client)).message).isError).toBe(false);
    expectAddressRefusal(await call(3, client));
    // Another client behind the same proxy has its own count.
    const other = await call(4, { 'x-forwarded-for': '203.0.113.6' });
    expect(other.status).toBe(200);
    expect(toolResult(other.message).isError).toBe(false);
  });

  it('from a peer that is not a trusted proxy, counts the peer and ignores what it forwards', async () => {
    const untrusted = '127.0.0.2';
    for (const [id, forwarded] of [
      [1, '203.0.113.7'],
      [2, '203.0.113.8']
    ] as const) {
      const answer = await call(id, { 'x-forwarded-for': forwarded }, untrusted);
      expect(answer.status).toBe(200);
    }
    expectAddressRefusal(await call(3, { 'x-forwarded-for': '203.0.113.9' }, untrusted));
    // The address it claimed to forward for is untouched: the trusted proxy's client there may call.
    const genuine = await call(4, { 'x-forwarded-for': '203.0.113.9' });
    expect(genuine.status).toBe(200);
  });
});

describe('legacy HTTP+SSE', () => {
  it('answers a limited POST /messages 429 with a JSON-RPC error and delivers nothing of it', async () => {
    const { stream } = await openEventStream(`${server.baseUrl}/legacy/sse`);
    try {
      const messages = `${server.baseUrl}${(await stream.nextEvent())?.data ?? ''}`;
      const post = (body: unknown) => postJson(messages, body, { headers: { 'mcp-protocol-version': '2024-11-05' } });
      const initialize = await post({
        jsonrpc: '2.0',
        id: 'init',
        method: 'initialize',
        params: { protocolVersion: '2024-11-05', capabilities: {}, clientInfo: { name: 'rate-limits', version: '1' } }
      });
      expect(initialize.status).toBe(202);
      expect(eventMessage(await stream.nextEvent())).toMatchObject({ id: 'init' });
      expect((await post({ jsonrpc: '2.0', method: 'notifications/initialized' })).status).toBe(202);

      const toolCall = (id: string) => ({
        jsonrpc: '2.0',
        id,
        method: 'tools/call',
        params: { name: 'execute_sql', arguments: { query: 'SELECT 1' } }
      });
      for (const id of ['c1', 'c2']) {
        expect((await post(toolCall(id))).status).toBe(202);
        const answer = eventMessage(await stream.nextEvent());
        expect(answer).toMatchObject({ id, result: { structuredContent: { rows: [[1]] } } });
        expect(toolResult(answer).isError).toBe(false);
      }
      const refused = await post(toolCall('c3'));
      expect(refused.status).toBe(429);
      expect(Number(refused.retryAfter)).toBeGreaterThan(500);
      expect(JSON.parse(refused.text)).toMatchObject({
        jsonrpc: '2.0',
        id: 'c3',
        error: {
          code: -32000,
          message: expect.stringMatching(
            /^Rate limit reached: at most 2 tool calls per 600 s per user in environment "legacy"/
          ),
          data: { reason: 'rate_limited', limit: 'user', maxCalls: 2, windowSeconds: 600 }
        }
      });
      // Messages other than tool calls still go through, and the stream's next answer is theirs: c3 never ran.
      expect((await post({ jsonrpc: '2.0', id: 'p', method: 'ping' })).status).toBe(202);
      expect(eventMessage(await stream.nextEvent())).toMatchObject({ id: 'p', result: {} });
    } finally {
      await stream.close();
    }
  });
});
