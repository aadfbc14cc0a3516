import {
  Client,
  SSEClientTransport,
  StreamableHTTPClientTransport,
  UnauthorizedError,
  type Transport
} from '@modelcontextprotocol/client';
import { Agent, setGlobalDispatcher } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresDatabase } from '../dialects/engines/postgres.ts';
import { ALICE, deployBehindNginx, KEEP_ALIVE_MS, type Deployment } from '../helpers/behind-nginx.ts';
import { jwtClaims, signIn, TestOAuthProvider } from '../helpers/oauth-login.ts';
import { busyFor } from '../helpers/slow-postgres.ts';

/**
 * The production edge, end to end: MCP clients reach sqlbridge only through a real nginx with TLS,
 * configured by the shipped site file, in both of the original guide's layouts. The official MCP
 * client SDK registers, signs in through the real pages and calls tools; the legacy HTTP+SSE client
 * does the same; event streams are not held back by the proxy.
 */

let database: { name: string; drop: () => Promise<void> };

beforeAll(async () => {
  database = await createPostgresDatabase(
    "CREATE TABLE customers (id integer PRIMARY KEY, region text); INSERT INTO customers VALUES (1, 'EMEA'), (2, 'APAC'), (3, 'EMEA')"
  );
});

afterAll(async () => {
  await database.drop();
});

/** A client transport that can complete an OAuth sign-in. */
type AuthorizingTransport = Transport & { finishAuth(callback: URLSearchParams): Promise<void> };
type Connect = (url: URL, provider: TestOAuthProvider) => AuthorizingTransport;
const streamable: Connect = (url, provider) => new StreamableHTTPClientTransport(url, { authProvider: provider });
// The transport is deprecated for new clients; serving the clients that still use it is what is tested here.
// eslint-disable-next-line @typescript-eslint/no-deprecated
const legacySse: Connect = (url, provider) => new SSEClientTransport(url, { authProvider: provider });

/** Registers, signs in as alice through nginx and connects; the provider then holds the tokens. */
async function signedInClient(url: URL, connect: Connect): Promise<{ client: Client; provider: TestOAuthProvider }> {
  const provider = new TestOAuthProvider(authorization => signIn(authorization, ALICE));
  const first = connect(url, provider);
  await expect(new Client({ name: 'nginx-e2e', version: '1' }).connect(first)).rejects.toBeInstanceOf(
    UnauthorizedError
  );
  const callback = provider.callback;
  if (callback === undefined) throw new Error('the client was never sent to sign in');
  await first.finishAuth(callback.searchParams);
  const client = new Client({ name: 'nginx-e2e', version: '1' });
  await client.connect(connect(url, provider));
  return { client, provider };
}

function rows(result: Awaited<ReturnType<Client['callTool']>>): unknown[][] {
  expect(result.isError, JSON.stringify(result.content)).not.toBe(true);
  return (result.structuredContent as { rows: unknown[][] }).rows;
}

/** Reads an event stream until `enough` says so or the time is up; returns what arrived, with arrival times. */
async function readStream(
  response: Response,
  enough: (text: string) => boolean,
  timeoutMs: number
): Promise<{ text: string; firstChunkMs: number }> {
  const started = performance.now();
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = '';
  let firstChunkMs = -1;
  const deadline = setTimeout(() => void reader.cancel(), timeoutMs);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (firstChunkMs < 0) firstChunkMs = performance.now() - started;
      text += decoder.decode(value, { stream: true });
      if (enough(text)) break;
    }
  } finally {
    clearTimeout(deadline);
    await reader.cancel().catch(() => undefined);
  }
  return { text, firstChunkMs };
}

describe.each(['shared', 'per-environment'] as const)('behind nginx, %s layout', layout => {
  let deployment: Deployment;
  const url = (path: string): URL => new URL(path, deployment.publicOrigin);

  beforeAll(async () => {
    deployment = await deployBehindNginx(layout, database.name);
    // The clients trust the deployment's self-signed certificate, and only that one.
    setGlobalDispatcher(new Agent({ connect: { ca: deployment.ca } }));
  }, 90_000);

  afterAll(async () => {
    await deployment.stop();
  });

  it('signs in with OAuth and calls tools at /demo/mcp and /production/mcp over https', async () => {
    const demo = await signedInClient(url('/demo/mcp'), streamable);
    const count = await demo.client.callTool({
      name: 'execute_sql',
      arguments: { query: 'SELECT COUNT(*) AS regions FROM regions' }
    });
    expect(Number(rows(count)[0]?.[0])).toBeGreaterThan(0);
    expect(jwtClaims(demo.provider.tokens()?.access_token ?? '')).toMatchObject({
      iss: `${deployment.publicOrigin}/demo`,
      aud: `${deployment.publicOrigin}/demo/mcp`,
      sub: 'alice'
    });
    const production = await signedInClient(url('/production/mcp'), streamable);
    const regions = await production.client.callTool({
      name: 'execute_sql',
      arguments: { query: 'SELECT region, COUNT(*) AS customers FROM customers GROUP BY region ORDER BY region' }
    });
    expect(rows(regions)).toEqual([
      ['APAC', 1],
      ['EMEA', 2]
    ]);
    // A token for /demo is refused at /production: audience, issuer and keys all differ.
    const crossed = await fetch(url('/production/mcp'), {
      method: 'POST',
      headers: {
        authorization: `Bearer ${demo.provider.tokens()?.access_token ?? ''}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream'
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' })
    });
    expect(crossed.status).toBe(401);
    expect(crossed.headers.get('www-authenticate')).toContain(
      `resource_metadata="${deployment.publicOrigin}/.well-known/oauth-protected-resource/production/mcp"`
    );
    expect(crossed.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
    await demo.client.close();
    await production.client.close();
  });

  it('serves a legacy HTTP+SSE client: OAuth, tools, an endpoint event at once and keep-alives that keep coming', async () => {
    const { client, provider } = await signedInClient(url('/demo/sse'), legacySse);
    expect(client.getNegotiatedProtocolVersion()).toBeDefined();
    expect((await client.listTools()).tools.map(tool => tool.name)).toContain('execute_sql');
    const sample = await client.callTool({ name: 'get_table_sample', arguments: { table_name: 'regions', limit: 2 } });
    expect(rows(sample)).toHaveLength(2);
    expect(jwtClaims(provider.tokens()?.access_token ?? '')['aud']).toBe(`${deployment.publicOrigin}/demo/sse`);
    await client.close();

    // The raw stream, as any proxy-sensitive client sees it.
    const response = await fetch(url('/demo/sse'), {
      headers: { accept: 'text/event-stream', authorization: `Bearer ${provider.tokens()?.access_token ?? ''}` }
    });
    expect(response.status).toBe(200);
    const keepAlives = (text: string): number => text.split(': keep-alive').length - 1;
    const { text, firstChunkMs } = await readStream(response, seen => keepAlives(seen) >= 2, KEEP_ALIVE_MS * 5);
    expect(firstChunkMs).toBeLessThan(1000);
    expect(text).toMatch(/^event: endpoint\ndata: \/demo\/messages\?sessionId=[0-9a-f-]{36}\n\n/);
    expect(keepAlives(text)).toBeGreaterThanOrEqual(2);
  });

  it('sends progress notifications through nginx while a long query runs', async () => {
    const { client } = await signedInClient(url('/production/mcp'), streamable);
    const progress: { progress: number; message?: string }[] = [];
    const result = await client.callTool(
      { name: 'execute_sql', arguments: { query: busyFor(2.5) } },
      { onprogress: update => progress.push(update) }
    );
    expect(rows(result)).toEqual([[1]]);
    expect(progress.length).toBeGreaterThanOrEqual(1);
    expect(progress[0]?.message).toMatch(/running for/);
    for (let i = 1; i < progress.length; i++) {
      expect(progress[i]?.progress ?? 0).toBeGreaterThan(progress[i - 1]?.progress ?? 0);
    }
    await client.close();
  });

  it('sends the headers of a Streamable HTTP GET stream through nginx within a second', async () => {
    const { client, provider } = await signedInClient(url('/demo/mcp'), streamable);
    await client.close();
    const token = provider.tokens()?.access_token ?? '';
    const headers = {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream'
    };
    const initialize = await fetch(url('/demo/mcp'), {
      method: 'POST',
      headers,
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } }
      })
    });
    await initialize.body?.cancel();
    const session = initialize.headers.get('mcp-session-id') ?? '';
    expect(session).toMatch(/^[0-9a-f-]{36}$/);
    const sessionHeaders = { ...headers, 'mcp-session-id': session, 'mcp-protocol-version': '2025-11-25' };
    const initialized = await fetch(url('/demo/mcp'), {
      method: 'POST',
      headers: sessionHeaders,
      body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })
    });
    expect(initialized.status).toBe(202);
    const started = performance.now();
    const stream = await fetch(url('/demo/mcp'), { headers: { ...sessionHeaders, accept: 'text/event-stream' } });
    const elapsed = performance.now() - started;
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(elapsed).toBeLessThan(1000);
    await stream.body?.cancel();
  });
});
