import { PassThrough } from 'node:stream';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.ts';
import { loadConfig } from '../../src/config/load.ts';
import { createHttpServer, type HttpServer } from '../../src/http-server.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { demoDataDir } from '../helpers/data-dir.ts';

/** The HTTP layer in process (Fastify inject): guards, headers, malformed input, limits, logging. */

const MODERN_HEADERS = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  'mcp-protocol-version': '2026-07-28'
};
const LEGACY_HEADERS = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  'mcp-protocol-version': '2025-11-25'
};

function modernRequest(method: string, params: Record<string, unknown> = {}, id = 1) {
  return {
    jsonrpc: '2.0',
    id,
    method,
    params: {
      ...params,
      _meta: {
        'io.modelcontextprotocol/protocolVersion': '2026-07-28',
        'io.modelcontextprotocol/clientInfo': { name: 'inject', version: '1' },
        'io.modelcontextprotocol/clientCapabilities': {}
      }
    }
  };
}

/** The JSON-RPC message of a response, whether it came as JSON or as one SSE event. */
function message(body: string): { result?: Record<string, unknown>; error?: { code: number; message: string } } {
  const data = body.trimStart().startsWith('{')
    ? body
    : body
        .split('\n')
        .find(l => l.startsWith('data: '))
        ?.slice(6);
  return JSON.parse(data ?? '{}') as { result?: Record<string, unknown>; error?: { code: number; message: string } };
}

describe('HTTP server', () => {
  let app: App;
  let http: HttpServer;
  const logLines: string[] = [];

  beforeAll(async () => {
    const stream = new PassThrough();
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => logLines.push(...chunk.split('\n').filter(Boolean)));
    const { config } = loadConfig({ cli: { dataDir: demoDataDir() }, env: {}, cwd: process.cwd(), demo: true });
    const logger = createLogger('info', stream);
    app = createApp(config, logger);
    await app.connect();
    http = await createHttpServer(
      { ...config, server: { ...config.server, maxRequestBodyBytes: 4096, allowedHosts: ['db.internal'] } },
      app.environments,
      logger,
      '0.0.0-test'
    );
  });

  afterAll(async () => {
    await http.app.close();
    await app.close();
  });

  const inject = (options: InjectOptions): Promise<LightMyRequestResponse> => http.app.inject(options);

  it('answers health checks with protective headers', async () => {
    const response = await inject({ method: 'GET', url: '/healthz', headers: { host: '127.0.0.1:8008' } });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      status: 'ok',
      audit: { healthy: true, sinks: [{ name: 'file', healthy: true, pending: expect.any(Number), lost: 0 }] }
    });
    expect(response.headers).toMatchObject({
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer'
    });
  });

  it('lists the environments at the root', async () => {
    const response = await inject({ method: 'GET', url: '/', headers: { host: 'localhost' } });
    expect(response.json()).toEqual({
      name: 'sqlbridge',
      version: '0.0.0-test',
      environments: [{ name: 'demo', mcp: '/demo/mcp', sse: '/demo/sse' }]
    });
  });

  it.each(['evil.example', 'evil.example:8008', '127.0.0.1.evil.example', 'localhost.evil.example'])(
    'refuses a Host header naming another server (%s): DNS rebinding',
    async host => {
      const response = await inject({
        method: 'POST',
        url: '/demo/mcp',
        headers: { ...LEGACY_HEADERS, host },
        payload: modernRequest('tools/list')
      });
      expect(response.statusCode).toBe(403);
      expect(response.json()).toMatchObject({
        jsonrpc: '2.0',
        error: { code: -32000, message: 'Forbidden: the Host header does not name this server' }
      });
    }
  );

  it('refuses a browser Origin it does not know, and accepts a local one', async () => {
    const evil = await inject({
      method: 'POST',
      url: '/demo/mcp',
      headers: { ...MODERN_HEADERS, host: 'localhost:8008', origin: 'https://evil.example' },
      payload: modernRequest('tools/list')
    });
    expect(evil.statusCode).toBe(403);
    expect(evil.json()).toMatchObject({ error: { message: 'Forbidden: requests from this Origin are not allowed' } });
    const local = await inject({
      method: 'POST',
      url: '/demo/mcp',
      headers: {
        ...MODERN_HEADERS,
        host: 'localhost:8008',
        origin: 'http://localhost:6274',
        'mcp-method': 'tools/list'
      },
      payload: modernRequest('tools/list')
    });
    expect(local.statusCode).toBe(200);
  });

  it.each([
    ['another port of this host', 'db.internal:8008', 'http://db.internal:9999'],
    ['another scheme of this host', 'db.internal:8008', 'https://db.internal:8008'],
    ['the default port of this host', 'db.internal:8008', 'http://db.internal']
  ])('refuses an Origin on %s with 403, preflight included', async (_name, host, origin) => {
    const post = await inject({
      method: 'POST',
      url: '/demo/mcp',
      headers: { ...MODERN_HEADERS, host, origin, 'mcp-method': 'tools/list' },
      payload: modernRequest('tools/list')
    });
    expect(post.statusCode).toBe(403);
    const preflight = await inject({
      method: 'OPTIONS',
      url: '/demo/mcp',
      headers: { host, origin, 'access-control-request-method': 'POST' }
    });
    expect(preflight.statusCode).toBe(403);
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('lets its own Origin through, as the request reached it', async () => {
    const own = await inject({
      method: 'POST',
      url: '/demo/mcp',
      headers: {
        ...MODERN_HEADERS,
        host: 'db.internal:8008',
        origin: 'http://db.internal:8008',
        'mcp-method': 'tools/list'
      },
      payload: modernRequest('tools/list')
    });
    expect(own.statusCode).toBe(200);
  });

  it('serves a 2026-07-28 request statelessly, with security headers on the MCP response', async () => {
    const response = await inject({
      method: 'POST',
      url: '/demo/mcp',
      headers: { ...MODERN_HEADERS, host: 'localhost', 'mcp-method': 'tools/list' },
      payload: modernRequest('tools/list')
    });
    expect(response.statusCode).toBe(200);
    expect(response.headers['mcp-session-id']).toBeUndefined();
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    const tools = (message(response.body).result?.['tools'] as { name: string }[]).map(t => t.name);
    expect(tools).toEqual(['list_tables', 'describe_table', 'execute_sql', 'get_table_sample']);
  });

  it('answers a tool call over plain data in plain ASCII, server identity included', async () => {
    // One character beyond Latin-1 anywhere in an answer (the server's title is in every one) makes
    // V8 write the whole JSON text two bytes a character and encode it to UTF-8 the slow way.
    const response = await inject({
      method: 'POST',
      url: '/demo/mcp',
      headers: { ...MODERN_HEADERS, host: 'localhost', 'mcp-method': 'tools/call', 'mcp-name': 'execute_sql' },
      payload: modernRequest('tools/call', {
        name: 'execute_sql',
        arguments: { query: "SELECT 1 AS n, 'plain' AS word UNION ALL SELECT 2, 'text'" }
      })
    });
    expect(response.statusCode).toBe(200);
    const result = message(response.body).result ?? {};
    expect(result['isError']).toBeUndefined();
    expect(result['_meta']).toMatchObject({
      'io.modelcontextprotocol/serverInfo': { name: 'sqlbridge', title: 'sqlbridge: demo' }
    });
    expect(response.body).toMatch(/^[\x20-\x7e]+$/);
  });

  it.each(['2025-03-26', '2025-06-18', '2025-11-25'])(
    'initializes a %s client on the same URL, in a session',
    async version => {
      const response = await inject({
        method: 'POST',
        url: '/demo/mcp',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          host: 'localhost'
        },
        payload: {
          jsonrpc: '2.0',
          id: 1,
          method: 'initialize',
          params: { protocolVersion: version, capabilities: {}, clientInfo: { name: 'old', version: '1' } }
        }
      });
      expect(response.statusCode).toBe(200);
      const session = response.headers['mcp-session-id'];
      expect(session).toMatch(/^[0-9a-f-]{36}$/);
      const result = message(response.body).result as { protocolVersion: string; serverInfo: { name: string } };
      expect(result).toMatchObject({ protocolVersion: version, serverInfo: { name: 'sqlbridge' } });
      const headers = {
        ...LEGACY_HEADERS,
        'mcp-protocol-version': version,
        host: 'localhost',
        'mcp-session-id': String(session)
      };
      await inject({
        method: 'POST',
        url: '/demo/mcp',
        headers,
        payload: { jsonrpc: '2.0', method: 'notifications/initialized' }
      });
      const list = await inject({
        method: 'POST',
        url: '/demo/mcp',
        headers,
        payload: { jsonrpc: '2.0', id: 2, method: 'tools/list' }
      });
      expect((message(list.body).result?.['tools'] as unknown[]).length).toBe(4);
      const closed = await inject({ method: 'DELETE', url: '/demo/mcp', headers });
      expect(closed.statusCode).toBe(200);
      const after = await inject({
        method: 'POST',
        url: '/demo/mcp',
        headers,
        payload: { jsonrpc: '2.0', id: 3, method: 'tools/list' }
      });
      expect(after.statusCode).toBe(404);
    }
  );

  it('serves a 2025 request that carries no session, and refuses an unknown session', async () => {
    const list = await inject({
      method: 'POST',
      url: '/demo/mcp',
      headers: { ...LEGACY_HEADERS, host: 'localhost' },
      payload: { jsonrpc: '2.0', id: 2, method: 'tools/list' }
    });
    expect(list.statusCode).toBe(200);
    expect((message(list.body).result?.['tools'] as unknown[]).length).toBe(4);
    const unknown = await inject({
      method: 'POST',
      url: '/demo/mcp',
      headers: { ...LEGACY_HEADERS, host: 'localhost', 'mcp-session-id': '00000000-0000-4000-8000-000000000000' },
      payload: { jsonrpc: '2.0', id: 2, method: 'tools/list' }
    });
    expect(unknown.statusCode).toBe(404);
    expect(message(unknown.body).error?.code).toBe(-32001);
  });

  it('answers malformed JSON with a JSON-RPC parse error, not a crash', async () => {
    const response = await inject({
      method: 'POST',
      url: '/demo/mcp',
      headers: { ...LEGACY_HEADERS, host: 'localhost' },
      payload: '{"jsonrpc": "2.0", "method": '
    });
    expect(response.statusCode).toBe(400);
    expect(message(response.body).error?.code).toBe(-32700);
  });

  it('answers a body that is not a JSON-RPC message with an invalid-request error', async () => {
    const response = await inject({
      method: 'POST',
      url: '/demo/mcp',
      headers: { ...LEGACY_HEADERS, host: 'localhost' },
      payload: '[1, 2, 3]'
    });
    expect(response.statusCode).toBe(400);
    expect(message(response.body).error?.code).toBe(-32600);
  });

  it('answers an unknown method with -32601', async () => {
    const response = await inject({
      method: 'POST',
      url: '/demo/mcp',
      headers: { ...MODERN_HEADERS, host: 'localhost', 'mcp-method': 'tables/drop' },
      payload: modernRequest('tables/drop')
    });
    expect(message(response.body).error?.code).toBe(-32601);
  });

  it('answers invalid tool arguments with an isError result', async () => {
    const response = await inject({
      method: 'POST',
      url: '/demo/mcp',
      headers: { ...MODERN_HEADERS, host: 'localhost', 'mcp-method': 'tools/call', 'mcp-name': 'execute_sql' },
      payload: modernRequest('tools/call', { name: 'execute_sql', arguments: { sql: 'SELECT 1' } })
    });
    expect(response.statusCode).toBe(200);
    const result = message(response.body).result as { isError: boolean; content: { text: string }[] };
    expect(result.isError).toBe(true);
    expect(result.content[0]?.text).toMatch(/query/);
  });

  it('refuses a body over the size limit with 413', async () => {
    const big = modernRequest('tools/call', {
      name: 'execute_sql',
      arguments: { query: `SELECT '${'x'.repeat(8000)}'` }
    });
    const response = await inject({
      method: 'POST',
      url: '/demo/mcp',
      headers: { ...MODERN_HEADERS, host: 'localhost' },
      payload: big
    });
    expect(response.statusCode).toBe(413);
  });

  it('answers GET without a session with 405: only a session has a stream to open', async () => {
    const response = await inject({
      method: 'GET',
      url: '/demo/mcp',
      headers: { host: 'localhost', accept: 'text/event-stream' }
    });
    expect(response.statusCode).toBe(405);
  });

  it('answers unknown paths with 404', async () => {
    const response = await inject({ method: 'GET', url: '/production/mcp', headers: { host: 'localhost' } });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({ error: 'not_found' });
  });

  it('logs each request without its query string', async () => {
    await inject({ method: 'GET', url: '/healthz?access_token=very-secret-token', headers: { host: 'localhost' } });
    const line = logLines
      .map(l => JSON.parse(l) as Record<string, unknown>)
      .find(l => l['msg'] === 'request' && l['path'] === '/healthz');
    expect(line).toMatchObject({ method: 'GET', status: 200 });
    expect(logLines.join('\n')).not.toContain('very-secret-token');
  });
});
