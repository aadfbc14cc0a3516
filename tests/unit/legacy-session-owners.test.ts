import { PassThrough } from 'node:stream';
import { McpServer } from '@modelcontextprotocol/server';
import { afterEach, describe, expect, it } from 'vitest';
import { decorateRequestAuth } from '../../src/auth/resource/bearer-guard.ts';
import { standaloneCluster } from '../../src/cluster/cluster.ts';
import type { HttpApp } from '../../src/http/http-app.ts';
import { InFlightCalls } from '../../src/http/in-flight.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { mountStreamableHttp } from '../../src/transports/streamable-http.ts';
import { quietHttpApp } from '../helpers/http-app.ts';

/**
 * The sessions of 2025-era clients, per signed-in user: a user who opens more than
 * `maxSessionsPerUser` gives up their own least recently used, and never pushes out anyone else's,
 * even with the environment's `maxSessions` reached. The bearer guard's place is taken by a hook that
 * signs the request in as the user its `x-user` header names.
 */

const JSON_HEADERS = {
  host: 'localhost',
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream'
};

let app: HttpApp | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function endpoint(limits: { maxSessions: number; maxSessionsPerUser?: number }): Promise<HttpApp> {
  app = await quietHttpApp({ bodyLimit: 65_536 });
  decorateRequestAuth(app);
  mountStreamableHttp(app, {
    environment: 'env',
    path: '/env/mcp',
    cluster: standaloneCluster(),
    factory: () => new McpServer({ name: 'owners-test', version: '1' }),
    ...limits,
    sessionIdleTimeoutMs: 60_000,
    keepAliveMs: 30_000,
    inFlight: new InFlightCalls(),
    logger: createLogger('silent', new PassThrough()),
    guard: async request => {
      const user = request.headers['x-user'];
      const client = request.headers['x-client'];
      if (typeof user === 'string')
        request.auth = {
          token: user,
          clientId: typeof client === 'string' ? client : 'client',
          scopes: [],
          extra: { sub: user }
        };
    }
  });
  await app.ready();
  return app;
}

async function open(server: HttpApp, user?: string, client?: string): Promise<string> {
  const response = await server.inject({
    method: 'POST',
    url: '/env/mcp',
    headers: {
      ...JSON_HEADERS,
      ...(user === undefined ? {} : { 'x-user': user }),
      ...(client === undefined ? {} : { 'x-client': client })
    },
    payload: {
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'x', version: '1' } }
    }
  });
  expect(response.statusCode).toBe(200);
  return String(response.headers['mcp-session-id']);
}

/** The status of a ping in the session: 200 while it lives, 404 once it is closed. */
async function ping(server: HttpApp, session: string, user?: string, client?: string): Promise<number> {
  const response = await server.inject({
    method: 'POST',
    url: '/env/mcp',
    headers: {
      ...JSON_HEADERS,
      'mcp-session-id': session,
      'mcp-protocol-version': '2025-11-25',
      ...(user === undefined ? {} : { 'x-user': user }),
      ...(client === undefined ? {} : { 'x-client': client })
    },
    payload: { jsonrpc: '2.0', id: 1, method: 'ping' }
  });
  return response.statusCode;
}

describe('2025-era sessions per user', () => {
  it("closes a user's own oldest session beyond their limit, never another user's", async () => {
    const server = await endpoint({ maxSessions: 5, maxSessionsPerUser: 2 });
    const alice = await open(server, 'alice');
    const first = await open(server, 'mallory');
    const second = await open(server, 'mallory');
    for (let i = 0; i < 20; i++) await open(server, 'mallory');
    expect(await ping(server, alice, 'alice')).toBe(200);
    expect(await ping(server, first, 'mallory')).toBe(404);
    expect(await ping(server, second, 'mallory')).toBe(404);
  });

  it("counts a user's sessions whichever OAuth client opened them: more clients buy no more sessions", async () => {
    const server = await endpoint({ maxSessions: 4, maxSessionsPerUser: 2 });
    const alice = await open(server, 'alice');
    const mallory: [string, string][] = [];
    for (const client of ['one', 'two', 'three']) {
      for (let i = 0; i < 2; i++) mallory.push([await open(server, 'mallory', client), client]);
    }
    const alive = [];
    for (const [session, client] of mallory) alive.push(await ping(server, session, 'mallory', client));
    // Her two newest live on; the rest were her own, closed in turn.
    expect(alive).toEqual([404, 404, 404, 404, 200, 200]);
    expect(await ping(server, alice, 'alice')).toBe(200);
    // A session is still answered only for the client and user that opened it.
    const [last] = mallory.at(-1) ?? [''];
    expect(await ping(server, last, 'mallory', 'two')).toBe(404);
  });

  it('closes the least recently used of all once maxSessions is reached, each user within their limit', async () => {
    const server = await endpoint({ maxSessions: 2, maxSessionsPerUser: 2 });
    const alice = await open(server, 'alice');
    const bob = await open(server, 'bob');
    expect(await ping(server, alice, 'alice')).toBe(200);
    await open(server, 'carol');
    expect(await ping(server, bob, 'bob')).toBe(404);
    expect(await ping(server, alice, 'alice')).toBe(200);
  });

  it('without OAuth (one anonymous caller) applies maxSessions alone', async () => {
    const server = await endpoint({ maxSessions: 3, maxSessionsPerUser: 1 });
    const sessions = [await open(server), await open(server), await open(server)];
    for (const session of sessions) expect(await ping(server, session)).toBe(200);
  });
});
