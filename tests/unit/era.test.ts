import { PassThrough } from 'node:stream';
import * as sdk from '@modelcontextprotocol/server';
import { McpServer } from '@modelcontextprotocol/server';
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as z from 'zod';
import { standaloneCluster } from '../../src/cluster/cluster.ts';
import type { HttpApp } from '../../src/http/http-app.ts';
import { InFlightCalls } from '../../src/http/in-flight.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { MODERN_REVISION, surelyModern } from '../../src/transports/era.ts';
import { mountStreamableHttp } from '../../src/transports/streamable-http.ts';
import { quietHttpApp } from '../helpers/http-app.ts';

/**
 * The Streamable HTTP route tells a 2026-07-28 request from a 2025-era one without the SDK's
 * classification when the answer is certain (era.ts). Wherever it says "modern", the SDK's own
 * predicate must say "not legacy": a corpus of requests of every shape holds the two to that.
 */

vi.mock('@modelcontextprotocol/server', async importOriginal => {
  const original = await importOriginal<typeof sdk>();
  return { ...original, isLegacyRequest: vi.fn(original.isLegacyRequest) };
});

const ENVELOPE = {
  'io.modelcontextprotocol/protocolVersion': MODERN_REVISION,
  'io.modelcontextprotocol/clientInfo': { name: 'era-test', version: '1' },
  'io.modelcontextprotocol/clientCapabilities': {}
};
const call = (params: Record<string, unknown>) => ({ jsonrpc: '2.0', id: 1, method: 'tools/call', params });
const modernHeader = { 'mcp-protocol-version': MODERN_REVISION };

interface Case {
  name: string;
  method?: string;
  headers: Record<string, string>;
  body: unknown;
}

const CASES: Case[] = [
  { name: 'a tools/call with its envelope', headers: modernHeader, body: call({ name: 'echo', _meta: ENVELOPE }) },
  {
    name: 'a notification with its envelope',
    headers: modernHeader,
    body: { jsonrpc: '2.0', method: 'notifications/cancelled', params: { _meta: ENVELOPE } }
  },
  { name: 'a request without its envelope', headers: modernHeader, body: call({ name: 'echo' }) },
  {
    name: 'a request whose envelope names another revision',
    headers: modernHeader,
    body: call({ name: 'echo', _meta: { ...ENVELOPE, 'io.modelcontextprotocol/protocolVersion': '2025-11-25' } })
  },
  {
    name: 'an initialize under the modern header',
    headers: modernHeader,
    body: {
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'x', version: '1' } }
    }
  },
  {
    name: 'a result response under the modern header',
    headers: modernHeader,
    body: { jsonrpc: '2.0', id: 3, result: {} }
  },
  {
    name: 'an error response under the modern header',
    headers: modernHeader,
    body: { jsonrpc: '2.0', id: 3, error: { code: -1, message: 'no' } }
  },
  {
    name: 'a response that also names a method',
    headers: modernHeader,
    body: { jsonrpc: '2.0', id: 3, method: 'tools/call', result: {} }
  },
  {
    name: 'a batch under the modern header',
    headers: modernHeader,
    body: [call({ name: 'echo' }), call({ name: 'echo', _meta: ENVELOPE })]
  },
  { name: 'a 2025 batch under the modern header', headers: modernHeader, body: [call({ name: 'echo' })] },
  { name: 'a body that is not JSON-RPC', headers: modernHeader, body: { hello: 'world' } },
  { name: 'a method that is not a string', headers: modernHeader, body: { jsonrpc: '2.0', id: 1, method: 7 } },
  { name: 'a JSON string as the body', headers: modernHeader, body: 'tools/call' },
  { name: 'a 2025 tools/call', headers: { 'mcp-protocol-version': '2025-11-25' }, body: call({ name: 'echo' }) },
  {
    name: 'a 2025 initialize without a header',
    headers: {},
    body: {
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } }
    }
  },
  { name: 'an envelope without the header', headers: {}, body: call({ name: 'echo', _meta: ENVELOPE }) },
  {
    name: 'a later revision in the header',
    headers: { 'mcp-protocol-version': '2027-01-01' },
    body: call({ name: 'echo', _meta: ENVELOPE })
  },
  { name: 'a GET under the modern header', method: 'GET', headers: modernHeader, body: undefined },
  { name: 'a DELETE under the modern header', method: 'DELETE', headers: modernHeader, body: undefined }
];

function webRequest(testCase: Case): Request {
  const method = testCase.method ?? 'POST';
  return new Request('http://localhost/env/mcp', {
    method,
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...testCase.headers },
    ...(method === 'POST' ? { body: JSON.stringify(testCase.body) } : {})
  });
}

const answered = (testCase: Case): boolean => surelyModern(testCase.method ?? 'POST', testCase.headers, testCase.body);
const sdkSaysLegacy = (testCase: Case): Promise<boolean> =>
  sdk.isLegacyRequest(webRequest(testCase), (testCase.method ?? 'POST') === 'POST' ? testCase.body : undefined);

describe('surelyModern', () => {
  it('answers the everyday 2026-07-28 requests and leaves every other shape to the SDK', () => {
    expect(CASES.filter(answered).map(testCase => testCase.name)).toEqual([
      'a tools/call with its envelope',
      'a notification with its envelope',
      'a request without its envelope',
      'a request whose envelope names another revision',
      'an initialize under the modern header'
    ]);
  });

  it.each(CASES.filter(answered))('the SDK routes it to its modern handler too: $name', async testCase => {
    expect(await sdkSaysLegacy(testCase)).toBe(false);
  });

  it.each([
    'a result response under the modern header',
    'a 2025 batch under the modern header',
    'a GET under the modern header'
  ])('leaves out %s, which the SDK serves as a 2025-era request', async name => {
    const testCase = CASES.find(c => c.name === name)!;
    expect(answered(testCase)).toBe(false);
    expect(await sdkSaysLegacy(testCase)).toBe(true);
  });
});

const apps: HttpApp[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map(app => app.close()));
});

async function echoEndpoint(): Promise<HttpApp> {
  const app = await quietHttpApp({ bodyLimit: 65_536 });
  apps.push(app);
  const factory = () => {
    const server = new McpServer({ name: 'era-test', version: '1' });
    server.registerTool('echo', { inputSchema: z.object({ text: z.string() }) }, async ({ text }) => ({
      content: [{ type: 'text', text }]
    }));
    return server;
  };
  mountStreamableHttp(app, {
    environment: 'env',
    path: '/env/mcp',
    cluster: standaloneCluster(),
    factory,
    maxSessions: 10,
    sessionIdleTimeoutMs: 60_000,
    keepAliveMs: 30_000,
    inFlight: new InFlightCalls(),
    logger: createLogger('silent', new PassThrough())
  });
  await app.ready();
  return app;
}

const JSON_HEADERS = {
  host: 'localhost',
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream'
};

describe('the Streamable HTTP route', () => {
  it('serves a 2026-07-28 tools/call without the SDK predicate, and a 2025 initialize through it', async () => {
    const app = await echoEndpoint();
    const predicate = vi.mocked(sdk.isLegacyRequest);
    predicate.mockClear();

    const modern = await app.inject({
      method: 'POST',
      url: '/env/mcp',
      headers: { ...JSON_HEADERS, ...modernHeader, 'mcp-method': 'tools/call', 'mcp-name': 'echo' },
      payload: call({ name: 'echo', arguments: { text: 'hello' }, _meta: ENVELOPE })
    });
    expect(modern.statusCode).toBe(200);
    expect(modern.json()).toMatchObject({ id: 1, result: { content: [{ type: 'text', text: 'hello' }] } });
    expect(predicate).not.toHaveBeenCalled();

    const initialize = await app.inject({
      method: 'POST',
      url: '/env/mcp',
      headers: JSON_HEADERS,
      payload: {
        jsonrpc: '2.0',
        id: 0,
        method: 'initialize',
        params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'x', version: '1' } }
      }
    });
    expect(initialize.statusCode).toBe(200);
    expect(initialize.headers['mcp-session-id']).toEqual(expect.any(String));
    expect(predicate).toHaveBeenCalledTimes(1);
  });
});
