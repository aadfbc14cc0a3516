import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoDataDir } from '../helpers/data-dir.ts';
import { startServer, type RunningServer } from '../helpers/server-process.ts';
import { headOnRawSocket, openEventStream, requestStream } from '../helpers/sse.ts';

/**
 * HTTP edge cases on the real process, seen as raw HTTP: JSON-RPC batches the SDK cannot answer call
 * by call still get one answer per call; HEAD never opens a stream or sends a body; a 2025-11-25
 * session's GET stream shows its headers at once; capabilities are honest; the Origin guard.
 */

const MEDIA = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
const MODERN_META = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientInfo': { name: 'http-edge', version: '1' },
  'io.modelcontextprotocol/clientCapabilities': {}
};

let server: RunningServer;

beforeAll(async () => {
  server = await startServer({ args: ['demo', '--no-auth', '--data-dir', demoDataDir()] });
});

afterAll(async () => {
  await server.stop();
});

const at = (path: string): string => `${server.baseUrl}${path}`;

async function post(body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(at('/demo/mcp'), { method: 'POST', headers: { ...MEDIA, ...headers }, body: JSON.stringify(body) });
}

const initialize = (protocolVersion: string, id: number | string = 1) => ({
  jsonrpc: '2.0',
  id,
  method: 'initialize',
  params: { protocolVersion, capabilities: {}, clientInfo: { name: 'http-edge', version: '1' } }
});

/** The JSON-RPC message of an answer sent as JSON or as one event. */
async function answerOf(response: Response): Promise<Record<string, unknown>> {
  const text = await response.text();
  const data = text.trimStart().startsWith('{') ? text : /^data: (.*)$/m.exec(text)?.[1];
  return JSON.parse(data ?? 'null') as Record<string, unknown>;
}

/** Opens a session by hand (initialize, then notifications/initialized); its headers for later requests. */
async function openSession(protocolVersion: string): Promise<Record<string, string>> {
  const response = await post(initialize(protocolVersion));
  expect(response.status).toBe(200);
  const sessionId = response.headers.get('mcp-session-id') ?? '';
  expect(sessionId).not.toBe('');
  await response.text();
  const headers = { 'mcp-session-id': sessionId, 'mcp-protocol-version': protocolVersion };
  const initialized = await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, headers);
  expect(initialized.status).toBe(202);
  await initialized.text();
  return headers;
}

type ErrorAnswer = { jsonrpc: string; id: unknown; error: { code: number; message: string } };

/** Waits (bounded) for the request log line of the latest request to a path with a status. */
async function logged(path: string, status: number, from: number): Promise<void> {
  await server.logLine(entry => entry['path'] === path && entry['status'] === status, { from });
}

describe('JSON-RPC batches and refusals', () => {
  it.each([
    ['in a 2025-03-26 session', true],
    ['from a 2025-03-26 client without a session', false]
  ])(
    'answers a batch with a duplicated id %s: 400, one error per call with its id, no error logged',
    async (_name, inSession) => {
      const headers = inSession ? await openSession('2025-03-26') : { 'mcp-protocol-version': '2025-03-26' };
      const from = server.logs.length;
      const response = await post(
        [
          { jsonrpc: '2.0', id: 1, method: 'tools/list' },
          { jsonrpc: '2.0', id: 1, method: 'ping' },
          { jsonrpc: '2.0', id: 'b', method: 'ping' },
          { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'x' } }
        ],
        headers
      );
      expect(response.status).toBe(400);
      const answers = (await response.json()) as ErrorAnswer[];
      expect(answers.map(answer => answer.id)).toEqual([1, 1, 'b']);
      for (const answer of answers) {
        expect(answer).toMatchObject({ jsonrpc: '2.0', error: { code: -32600 } });
        expect(answer.error.message).toContain('the batch uses the id 1 more than once');
      }
      await logged('/demo/mcp', 400, from);
      const errors = server.logs.slice(from).filter(entry => entry['level'] === 'error' || entry['level'] === 'fatal');
      expect(errors).toEqual([]);
    }
  );

  it.each([
    [
      'initialize together with another request',
      [initialize('2025-11-25', 1), { jsonrpc: '2.0', id: 2, method: 'ping' }],
      {}
    ],
    [
      'requests of protocol revision 2026-07-28',
      [
        { jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: MODERN_META } },
        { jsonrpc: '2.0', id: 2, method: 'server/discover', params: { _meta: MODERN_META } }
      ],
      { 'mcp-protocol-version': '2026-07-28' }
    ]
  ])('answers a batch the SDK refuses as a whole (%s) with one error per call', async (_name, batch, headers) => {
    const from = server.logs.length;
    const response = await post(batch, headers);
    expect(response.status).toBe(400);
    const answers = (await response.json()) as ErrorAnswer[];
    expect(answers.map(answer => answer.id)).toEqual([1, 2]);
    for (const answer of answers) expect(answer).toMatchObject({ jsonrpc: '2.0', error: { code: -32600 } });
    await logged('/demo/mcp', 400, from);
    expect(server.logs.slice(from).filter(entry => entry['level'] === 'error')).toEqual([]);
  });

  it.each([
    ['in a 2025-06-18 session', '2025-06-18', true, {}],
    ['in a 2025-11-25 session', '2025-11-25', true, {}],
    ['in a 2025-11-25 session declaring 2025-03-26', '2025-11-25', true, { 'mcp-protocol-version': '2025-03-26' }],
    ['from a 2025-06-18 client without a session', '2025-06-18', false, {}]
  ])(
    'refuses a JSON-RPC batch %s (MCP 2025-06-18 removed batching): 400, one -32600 per call, nothing run',
    async (_name, version, inSession, override) => {
      const headers = {
        ...(inSession ? await openSession(version) : { 'mcp-protocol-version': version }),
        ...override
      };
      const from = server.logs.length;
      const response = await post(
        [
          { jsonrpc: '2.0', id: 'a', method: 'ping' },
          {
            jsonrpc: '2.0',
            id: 'b',
            method: 'tools/call',
            params: { name: 'execute_sql', arguments: { query: 'SELECT 1 AS batched' } }
          }
        ],
        headers
      );
      expect(response.status).toBe(400);
      const answers = (await response.json()) as ErrorAnswer[];
      expect(answers.map(answer => answer.id)).toEqual(['a', 'b']);
      for (const answer of answers) {
        expect(answer).toMatchObject({ jsonrpc: '2.0', error: { code: -32600 } });
        expect(answer.error.message).toContain(`JSON-RPC batches are not part of MCP ${version}`);
      }
      await logged('/demo/mcp', 400, from);
      expect(server.logs.slice(from).filter(entry => entry['tool'] === 'execute_sql')).toEqual([]);
    }
  );

  it('leaves a batch declaring a revision it does not know to the SDK, which refuses the revision', async () => {
    const response = await post(
      [
        { jsonrpc: '2.0', id: 'a', method: 'ping' },
        { jsonrpc: '2.0', id: 'b', method: 'ping' }
      ],
      { 'mcp-protocol-version': '2099-01-01' }
    );
    expect(response.status).toBe(400);
    const text = await response.text();
    expect(text).toContain('Unsupported protocol version');
    expect(text).not.toContain('batches are not part of MCP');
  });

  it.each([
    ['in a 2025-03-26 session', true],
    ['from a 2025-03-26 client without a session', false]
  ])('serves a JSON-RPC batch %s, each call answered under its id', async (_name, inSession) => {
    const headers = inSession ? await openSession('2025-03-26') : { 'mcp-protocol-version': '2025-03-26' };
    const response = await post(
      [
        { jsonrpc: '2.0', id: 'a', method: 'ping' },
        { jsonrpc: '2.0', id: 'b', method: 'tools/list' }
      ],
      { ...headers, accept: 'application/json, text/event-stream' }
    );
    expect(response.status).toBe(200);
    const text = await response.text();
    const messages = text.trimStart().startsWith('[')
      ? (JSON.parse(text) as Record<string, unknown>[])
      : [...text.matchAll(/^data: (.*)$/gm)].flatMap((match): unknown => JSON.parse(match[1] ?? 'null'));
    // One event per answer, or one event holding the array of answers.
    const answers = messages as Record<string, unknown>[];
    expect(answers.map(message => message['id']).sort()).toEqual(['a', 'b']);
    for (const message of answers) expect(message).toHaveProperty('result');
  });

  it('answers single requests the SDK refuses, with the request id when there is one', async () => {
    const noSession = await fetch(at('/demo/mcp'), {
      headers: { accept: 'text/event-stream', 'mcp-protocol-version': '2025-11-25' }
    });
    expect(noSession.status).toBe(405);
    expect(await noSession.json()).toMatchObject({ jsonrpc: '2.0', error: { code: -32000 }, id: null });
    const notAcceptable = await fetch(at('/demo/mcp'), {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(initialize('2025-11-25', 'init-7'))
    });
    expect(notAcceptable.status).toBe(406);
    expect(await notAcceptable.json()).toMatchObject({ jsonrpc: '2.0', error: { code: -32000 }, id: 'init-7' });
  });

  it('logs a failed tool call once, each field once (a JSON line with a repeated key reads differently per parser)', async () => {
    const from = server.logs.length;
    const call = {
      jsonrpc: '2.0',
      id: 'bad',
      method: 'tools/call',
      params: { name: 'execute_sql', arguments: { query: 'SELECT no_such_column FROM orders' }, _meta: MODERN_META }
    };
    const modern = { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': 'execute_sql' };
    const answer = await answerOf(await post(call, modern));
    expect(answer).toMatchObject({ id: 'bad', result: { isError: true } });
    await server.logLine(entry => typeof entry['errorClass'] === 'string' && entry['tool'] === 'execute_sql', {
      from
    });
    const lines = server
      .stderr()
      .split('\n')
      .filter(line => line.includes('"errorClass"') && line.includes('"tool":"execute_sql"'));
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line.match(/"environment":/g)).toHaveLength(1);
  });

  it('refuses a message nested deeper than 64 levels with -32600, at /mcp and /messages, logging no error', async () => {
    const from = server.logs.length;
    // 10,000 levels fit the body limit easily, and overflowed the stack where the SDK's adapter serializes the body.
    const call = (levels: number): string =>
      JSON.stringify({
        jsonrpc: '2.0',
        id: 'deep',
        method: 'tools/call',
        params: { name: 'list_tables', arguments: { nested: 'NESTED' }, _meta: MODERN_META }
      }).replace('"NESTED"', `${'{"a":'.repeat(levels)}"x"${'}'.repeat(levels)}`);
    const modern = { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': 'list_tables' };
    const send = (body: string) => fetch(at('/demo/mcp'), { method: 'POST', headers: { ...MEDIA, ...modern }, body });
    const deep = await send(call(10_000));
    expect(deep.status).toBe(400);
    expect(await deep.json()).toMatchObject({
      jsonrpc: '2.0',
      error: { code: -32600, message: expect.stringContaining('more than 64 levels deep') as unknown }
    });
    const messages = await fetch(at('/demo/messages?sessionId=none'), {
      method: 'POST',
      headers: MEDIA,
      body: call(10_000)
    });
    expect(messages.status).toBe(400);
    // 60 levels of arguments (63 in all) is a message like any other: list_tables answers.
    const within = await send(call(60));
    expect(within.status).toBe(200);
    expect(await answerOf(within)).toMatchObject({ id: 'deep', result: {} });
    await logged('/demo/mcp', 400, from);
    expect(server.logs.slice(from).filter(entry => entry['level'] === 'error')).toEqual([]);
  });
});

describe('HEAD', () => {
  it.each(['/', '/healthz', '/demo/mcp', '/demo/sse', '/demo/messages', '/no/such/path'])(
    'answers HEAD %s without body bytes and without holding the connection',
    async path => {
      const { head, after } = await headOnRawSocket(server.baseUrl, path);
      expect(head).toMatch(/^HTTP\/1\.1 \d{3} /);
      expect(head.toLowerCase()).not.toContain('text/event-stream');
      // The pipelined GET's answer starts right where the HEAD's headers end.
      expect(after).toMatch(/^HTTP\/1\.1 200 /);
      // The pipelined GET /healthz answered in full: its JSON body is the last thing on the socket.
      expect(after).toMatch(/\r\n\r\n\{"status":"ok","audit":\{.*\}\}$/);
    }
  );

  it("answers HEAD /demo/mcp with a 2025-11-25 session's headers without opening its stream", async () => {
    const session = await openSession('2025-11-25');
    const { head, after } = await headOnRawSocket(server.baseUrl, '/demo/mcp', {
      accept: 'text/event-stream',
      ...session
    });
    expect(head).toMatch(/^HTTP\/1\.1 405 /);
    expect(head.toLowerCase()).not.toContain('text/event-stream');
    expect(after).toMatch(/^HTTP\/1\.1 200 /);
  });
});

describe('streams and capabilities', () => {
  it('sends the headers of a 2025-11-25 session GET stream within 1 s', async () => {
    const headers = await openSession('2025-11-25');
    const { stream, headersMs } = await openEventStream(at('/demo/mcp'), headers);
    try {
      expect(headersMs).toBeLessThan(1000);
      expect(stream.response.headers.get('content-type')).toMatch(/^text\/event-stream/);
      expect(stream.response.headers.get('x-accel-buffering')).toBe('no');
      expect(await stream.next(1000)).toMatchObject({ comment: 'stream opened' });
    } finally {
      await stream.close();
    }
  });

  it('declares tools without list-change notifications, to 2025 and 2026-07-28 clients alike', async () => {
    const response = await post(initialize('2025-11-25'));
    expect(response.status).toBe(200);
    const answer = (await answerOf(response)) as { result: { capabilities: { tools?: { listChanged?: unknown } } } };
    expect(answer.result.capabilities.tools?.listChanged).toBe(false);
    const client = new Client(
      { name: 'http-edge', version: '1' },
      { versionNegotiation: { mode: { pin: '2026-07-28' } } }
    );
    await client.connect(new StreamableHTTPClientTransport(new URL(at('/demo/mcp'))));
    try {
      expect(client.getProtocolEra()).toBe('modern');
      expect(client.getServerCapabilities()?.tools?.listChanged).toBe(false);
    } finally {
      await client.close();
    }
  });
});

describe('Origin guard', () => {
  it('refuses a foreign Origin at /demo/mcp, /demo/sse and /demo/messages with 403', async () => {
    const origin = { origin: 'https://evil.example' };
    expect((await post(initialize('2025-11-25'), origin)).status).toBe(403);
    const stream = await requestStream(at('/demo/sse'), origin);
    expect(stream.stream.response.status).toBe(403);
    expect(await stream.stream.response.json()).toMatchObject({
      error: { message: expect.stringContaining('Origin') }
    });
    await stream.stream.close();
    const messages = await fetch(at(`/demo/messages?sessionId=${crypto.randomUUID()}`), {
      method: 'POST',
      headers: { ...MEDIA, ...origin },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' })
    });
    expect(messages.status).toBe(403);
  });

  it('lets an allowed Origin through to /demo/mcp and /demo/sse', async () => {
    const origin = { origin: 'http://localhost:6274' };
    const response = await post(initialize('2025-11-25'), origin);
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe('http://localhost:6274');
    expect(response.headers.get('access-control-expose-headers')).toContain('mcp-session-id');
    expect(await answerOf(response)).toMatchObject({ result: { protocolVersion: '2025-11-25' } });
    const { stream } = await openEventStream(at('/demo/sse'), origin);
    try {
      expect(stream.response.headers.get('access-control-allow-origin')).toBe('http://localhost:6274');
      expect((await stream.nextEvent())?.event).toBe('endpoint');
    } finally {
      await stream.close();
    }
  });
});
