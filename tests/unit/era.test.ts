import { PassThrough } from 'node:stream';
import * as sdk from '@modelcontextprotocol/server';
import { McpServer } from '@modelcontextprotocol/server';
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as z from 'zod';
import { standaloneCluster } from '../../src/cluster/cluster.ts';
import type { HttpApp } from '../../src/http/http-app.ts';
import { InFlightCalls } from '../../src/http/in-flight.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { MODERN_REVISION, surelyLegacy, surelyModern } from '../../src/transports/era.ts';
import { mountStreamableHttp } from '../../src/transports/streamable-http.ts';
import { quietHttpApp } from '../helpers/http-app.ts';

/**
 * The Streamable HTTP route tells a 2026-07-28 request from a 2025-era one without the SDK's
 * classification when the answer is certain (era.ts). Wherever it says "modern", the SDK's own
 * predicate must say "not legacy", and wherever it says "legacy", "legacy": a corpus of requests of
 * every shape holds the two to that.
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
const header2025 = { 'mcp-protocol-version': '2025-11-25' };

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
  { name: 'a DELETE under the modern header', method: 'DELETE', headers: modernHeader, body: undefined },
  { name: 'a 2025 GET', method: 'GET', headers: header2025, body: undefined },
  { name: 'a 2025 DELETE', method: 'DELETE', headers: {}, body: undefined },
  {
    name: 'a 2025 tools/call with a progress token',
    headers: header2025,
    body: call({ name: 'echo', arguments: { text: 'x' }, _meta: { progressToken: 'p-1' } })
  },
  {
    name: 'a 2025-06-18 tools/call with a numeric progress token',
    headers: { 'mcp-protocol-version': '2025-06-18' },
    body: { jsonrpc: '2.0', id: 'a', method: 'tools/call', params: { name: 'echo', _meta: { progressToken: 7 } } }
  },
  {
    name: 'a 2025-03-26 tools/list without params',
    headers: { 'mcp-protocol-version': '2025-03-26' },
    body: { jsonrpc: '2.0', id: 2, method: 'tools/list' }
  },
  {
    name: 'a 2025 initialize under its header',
    headers: header2025,
    body: {
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'x', version: '1' } }
    }
  },
  {
    name: 'a 2025 notification',
    headers: header2025,
    body: { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 1 } }
  },
  { name: 'a 2025 result response', headers: header2025, body: { jsonrpc: '2.0', id: 3, result: {} } },
  { name: 'a 2025 batch', headers: header2025, body: [call({ name: 'echo' })] },
  {
    name: 'a 2025 header over an envelope',
    headers: header2025,
    body: call({ name: 'echo', _meta: { ...ENVELOPE, 'io.modelcontextprotocol/protocolVersion': '2025-11-25' } })
  },
  {
    name: 'a 2025 header over a modern envelope',
    headers: header2025,
    body: call({ name: 'echo', _meta: ENVELOPE })
  },
  {
    name: 'a 2025 request with another _meta key',
    headers: header2025,
    body: call({ name: 'echo', _meta: { 'io.modelcontextprotocol/related-task': { taskId: 't' } } })
  },
  {
    name: 'a 2025 request with a progress token that is an object',
    headers: header2025,
    body: call({ name: 'echo', _meta: { progressToken: { a: 1 } } })
  },
  {
    name: 'a 2025 request with a fractional progress token',
    headers: header2025,
    body: call({ name: 'echo', _meta: { progressToken: 1.5 } })
  },
  { name: 'a 2025 request with _meta null', headers: header2025, body: call({ name: 'echo', _meta: null }) },
  { name: 'a 2025 request with a fractional id', headers: header2025, body: { ...call({ name: 'echo' }), id: 1.5 } },
  { name: 'a 2025 request with a null id', headers: header2025, body: { ...call({ name: 'echo' }), id: null } },
  { name: 'a 2025 request with params null', headers: header2025, body: { ...call({}), params: null } },
  { name: 'a 2025 request with params an array', headers: header2025, body: { ...call({}), params: [1] } },
  {
    name: 'a 2025 request with a member of its own',
    headers: header2025,
    body: { ...call({ name: 'echo' }), extra: 1 }
  },
  { name: 'a 2025 request of JSON-RPC 1.0', headers: header2025, body: { ...call({ name: 'echo' }), jsonrpc: '1.0' } },
  { name: 'a request without a header', headers: {}, body: call({ name: 'echo' }) },
  {
    name: 'a request under a 2024 header',
    headers: { 'mcp-protocol-version': '2024-11-05' },
    body: call({ name: 'echo' })
  }
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
const answeredLegacy = (testCase: Case): boolean =>
  surelyLegacy(testCase.method ?? 'POST', testCase.headers, testCase.body);
const sdkSaysLegacy = (testCase: Case): Promise<boolean> =>
  sdk.isLegacyRequest(webRequest(testCase), (testCase.method ?? 'POST') === 'POST' ? testCase.body : undefined);

/**
 * Each check answers a few everyday shapes itself (`answers`, exactly), and the SDK's predicate
 * agrees on every one of them; shapes close to those that the SDK routes the other way are left out.
 */
describe.each([
  {
    check: 'surelyModern',
    era: 'modern',
    answers: answered,
    sdkSaysLegacyToo: false,
    expected: [
      'a tools/call with its envelope',
      'a notification with its envelope',
      'a request without its envelope',
      'a request whose envelope names another revision',
      'an initialize under the modern header'
    ],
    leftOut: [
      'a result response under the modern header',
      'a 2025 batch under the modern header',
      'a GET under the modern header'
    ]
  },
  {
    check: 'surelyLegacy',
    era: '2025-era',
    answers: answeredLegacy,
    sdkSaysLegacyToo: true,
    expected: [
      'a 2025 tools/call',
      'a GET under the modern header',
      'a DELETE under the modern header',
      'a 2025 GET',
      'a 2025 DELETE',
      'a 2025 tools/call with a progress token',
      'a 2025-06-18 tools/call with a numeric progress token',
      'a 2025-03-26 tools/list without params',
      'a 2025 initialize under its header'
    ],
    leftOut: [
      'a 2025 header over an envelope',
      'a 2025 header over a modern envelope',
      'a 2025 request with a progress token that is an object',
      'a 2025 request with a fractional id',
      'a 2025 request with a member of its own'
    ]
  }
])('$check', ({ era, answers, sdkSaysLegacyToo, expected, leftOut }) => {
  it(`answers the everyday ${era} requests and leaves every other shape to the SDK`, () => {
    expect(CASES.filter(answers).map(testCase => testCase.name)).toEqual(expected);
  });

  it.each(CASES.filter(answers))('the SDK routes it to the same side: $name', async testCase => {
    expect(await sdkSaysLegacy(testCase)).toBe(sdkSaysLegacyToo);
  });

  it.each(leftOut)('leaves out %s, which the SDK routes to the other side', async name => {
    const testCase = CASES.find(c => c.name === name)!;
    expect(answers(testCase)).toBe(false);
    expect(await sdkSaysLegacy(testCase)).toBe(!sdkSaysLegacyToo);
  });
});

it('never answers "2025-era" where surelyModern answers "modern"', () => {
  expect(CASES.filter(c => answered(c) && answeredLegacy(c))).toEqual([]);
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
  it('serves a 2026-07-28 tools/call and a 2025 session call without the SDK predicate, and a 2025 initialize through it', async () => {
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
    const session = initialize.headers['mcp-session-id'];
    expect(session).toEqual(expect.any(String));
    expect(predicate).toHaveBeenCalledTimes(1);

    // The session's calls name their revision in the header: served without the predicate.
    const inSession = await app.inject({
      method: 'POST',
      url: '/env/mcp',
      headers: { ...JSON_HEADERS, ...header2025, 'mcp-session-id': String(session) },
      payload: call({ name: 'echo', arguments: { text: 'again' }, _meta: { progressToken: 1 } })
    });
    expect(inSession.statusCode).toBe(200);
    expect(inSession.body).toContain('"text":"again"');
    expect(predicate).toHaveBeenCalledTimes(1);
  });
});
