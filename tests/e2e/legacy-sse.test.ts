import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_FILE } from '../../src/demo/demo-database.ts';
import { demoDataDir } from '../helpers/data-dir.ts';
import { q4Revenue2024, rowCount } from '../helpers/demo-truth.ts';
import { startServer, type RunningServer } from '../helpers/server-process.ts';
import {
  eventMessage,
  headOnRawSocket,
  legacySseTransport,
  openEventStream,
  type EventStreamReader
} from '../helpers/sse.ts';

/**
 * The HTTP+SSE transport of MCP 2024-11-05 on the real server process, without OAuth: the stream
 * and its first event as raw bytes and headers, keep-alive comments, the official SDK's SSE client
 * calling tools, and every refusal of the stream and message endpoints.
 */

const KEEP_ALIVE_MS = 300;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let server: RunningServer;
let dataDir: string;

beforeAll(async () => {
  dataDir = demoDataDir();
  server = await startServer({
    args: ['demo', '--no-auth', '--data-dir', dataDir],
    env: { SQLBRIDGE_KEEP_ALIVE_MS: String(KEEP_ALIVE_MS) }
  });
});

afterAll(async () => {
  await server.stop();
});

const at = (path: string): string => `${server.baseUrl}${path}`;

/** Opens /demo/sse; the stream, positioned after the endpoint event, and the path to post to. */
async function session(): Promise<{ stream: EventStreamReader; messages: string; sessionId: string }> {
  const { stream } = await openEventStream(at('/demo/sse'));
  const endpoint = await stream.nextEvent();
  expect(endpoint?.event).toBe('endpoint');
  const messages = endpoint?.data ?? '';
  return { stream, messages, sessionId: new URL(messages, server.baseUrl).searchParams.get('sessionId') ?? '' };
}

async function post(path: string, body: unknown): Promise<Response> {
  return fetch(at(path), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body)
  });
}

/** Posts a ping and reads the stream up to its answer; the messages that came before it. */
async function messagesBeforePing(stream: EventStreamReader, messages: string, id: string): Promise<unknown[]> {
  expect((await post(messages, { jsonrpc: '2.0', id, method: 'ping' })).status).toBe(202);
  const before: unknown[] = [];
  for (;;) {
    const message = eventMessage(await stream.nextEvent());
    if (message['id'] === id) return before;
    before.push(message);
  }
}

describe('the event stream', () => {
  it('answers 200 text/event-stream, unbuffered, with its headers and endpoint event within 1 s', async () => {
    const started = performance.now();
    const { stream, headersMs } = await openEventStream(at('/demo/sse'));
    try {
      expect(headersMs).toBeLessThan(1000);
      expect(stream.response.headers.get('content-type')).toMatch(/^text\/event-stream/);
      expect(stream.response.headers.get('x-accel-buffering')).toBe('no');
      const first = await stream.next(1000);
      expect(performance.now() - started).toBeLessThan(1000);
      expect(first?.event).toBe('endpoint');
      const [path, sessionId] = (first?.data ?? '').split('?sessionId=');
      expect(path).toBe('/demo/messages');
      expect(sessionId).toMatch(UUID);
    } finally {
      await stream.close();
    }
  });

  it('keeps sending keep-alive comments every server.keepAliveMs', async () => {
    const { stream } = await session();
    try {
      const frames = await stream.collect(1500);
      const keepAlives = frames.filter(frame => frame.comment === 'keep-alive');
      // 300 ms apart: five in 1.5 s, at least three however busy the machine.
      expect(keepAlives.length).toBeGreaterThanOrEqual(3);
      expect(stream.isDone).toBe(false);
    } finally {
      await stream.close();
    }
  });

  it('serves the SDK SSE client: four tools, execute_sql and get_table_sample answering the demo data', async () => {
    const client = new Client({ name: 'legacy-sse-e2e', version: '1' });
    await client.connect(legacySseTransport(at('/demo/sse')));
    try {
      const { tools } = await client.listTools();
      expect(tools.map(tool => tool.name)).toEqual([
        'list_tables',
        'describe_table',
        'execute_sql',
        'get_table_sample'
      ]);
      const truth = q4Revenue2024(join(dataDir, DEMO_FILE));
      const revenue = await client.callTool({
        name: 'execute_sql',
        arguments: {
          query: `SELECT pc.name, ROUND(SUM(oi.quantity * oi.unit_price - oi.discount_amount), 2)
                    FROM order_items oi
                    JOIN orders o ON o.order_id = oi.order_id
                    JOIN products p ON p.product_id = oi.product_id
                    JOIN product_categories pc ON pc.category_id = p.category_id
                   WHERE o.ordered_at >= '2024-10-01' AND o.ordered_at < '2025-01-01'
                     AND o.status IN ('paid', 'shipped', 'delivered')
                   GROUP BY pc.name`
        }
      });
      expect(revenue.isError, JSON.stringify(revenue.content)).toBeFalsy();
      const rows = (revenue.structuredContent as { rows: [string, string | number][] }).rows;
      expect(truth.size).toBeGreaterThanOrEqual(10);
      expect(new Map(rows.map(([category, total]) => [category, Math.round(Number(total) * 100)]))).toEqual(truth);
      const sample = await client.callTool({
        name: 'get_table_sample',
        arguments: { table_name: 'regions', limit: 3 }
      });
      expect(sample.isError, JSON.stringify(sample.content)).toBeFalsy();
      expect(sample.structuredContent).toMatchObject({ table: 'regions', rowCount: 3 });
      expect((sample.structuredContent as { rows: unknown[] }).rows).toHaveLength(3);
      expect(rowCount(join(dataDir, DEMO_FILE), 'regions')).toBeGreaterThan(3);
    } finally {
      await client.close();
    }
  });

  it('answers POST /demo/sse with 405 and Allow: GET', async () => {
    const response = await post('/demo/sse', { jsonrpc: '2.0', id: 1, method: 'ping' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET');
    expect(await response.json()).toMatchObject({ jsonrpc: '2.0', error: { code: -32000 }, id: null });
  });

  it('answers HEAD /demo/sse with 405 and no body, without holding the connection', async () => {
    // A HEAD, then a GET pipelined on the same connection: the GET's answer must follow the HEAD's
    // headers immediately (no body bytes between them), and the server must close after it.
    const { head, after } = await headOnRawSocket(server.baseUrl, '/demo/sse');
    expect(head).toMatch(/^HTTP\/1\.1 405 /);
    expect(head.toLowerCase()).toContain('\r\nallow: get');
    expect(head.toLowerCase()).not.toContain('text/event-stream');
    expect(after).toMatch(/^HTTP\/1\.1 200 /);
    // The pipelined GET /healthz answered in full: its JSON body is the last thing on the socket.
    expect(after).toMatch(/\r\n\r\n\{"status":"ok","audit":\{.*\}\}$/);
  });
});

describe('the message endpoint', () => {
  it('answers a made-up session id with 404 Session not found', async () => {
    const response = await post(`/demo/messages?sessionId=${crypto.randomUUID()}`, {
      jsonrpc: '2.0',
      id: 1,
      method: 'ping'
    });
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: { message: 'Session not found' } });
  });

  it('refuses a message that is not JSON-RPC with 400 and a JSON-RPC error that does not echo it', async () => {
    const { stream, messages } = await session();
    try {
      for (const body of [
        { hello: 'secret-marker-7f3a' },
        '{"jsonrpc": "2.0", "secret-marker-7f3a": ',
        '"secret-marker-7f3a"'
      ]) {
        const response = await post(messages, body);
        expect(response.status, JSON.stringify(body)).toBe(400);
        const text = await response.text();
        expect(text).not.toContain('secret-marker-7f3a');
        const error = JSON.parse(text) as { jsonrpc: string; error: { code: number; message: string } };
        expect(error.jsonrpc).toBe('2.0');
        expect([-32600, -32700]).toContain(error.error.code);
      }
      expect(await messagesBeforePing(stream, messages, 'after-garbage')).toEqual([]);
    } finally {
      await stream.close();
    }
  });

  it('refuses a batch with a repeated id as a whole: 400, one error per call, nothing delivered', async () => {
    const { stream, messages } = await session();
    try {
      const response = await post(messages, [
        { jsonrpc: '2.0', id: 1, method: 'ping' },
        { jsonrpc: '2.0', id: 1, method: 'tools/list' },
        { jsonrpc: '2.0', id: 2, method: 'ping' }
      ]);
      expect(response.status).toBe(400);
      const errors = (await response.json()) as { id: unknown; error: { code: number; message: string } }[];
      expect(errors.map(error => error.id)).toEqual([1, 1, 2]);
      for (const error of errors)
        expect(error.error).toMatchObject({ code: -32600, message: expect.stringContaining('id 1') });
      // A batch with one broken message delivers none of its good ones either.
      const broken = await post(messages, [{ jsonrpc: '2.0', id: 3, method: 'ping' }, { nonsense: true }]);
      expect(broken.status).toBe(400);
      expect(await messagesBeforePing(stream, messages, 'after-batches')).toEqual([]);
    } finally {
      await stream.close();
    }
  });

  it('ends the session when the client closes its stream', async () => {
    const { stream, messages } = await session();
    expect(await messagesBeforePing(stream, messages, 'while-open')).toEqual([]);
    await stream.close();
    // The server learns of the close from the socket: bounded polling.
    let status = 0;
    for (let attempt = 0; attempt < 50 && status !== 404; attempt++) {
      if (attempt > 0) await new Promise(resolve => setTimeout(resolve, 100));
      status = (await post(messages, { jsonrpc: '2.0', method: 'notifications/initialized' })).status;
    }
    expect(status).toBe(404);
  });
});
