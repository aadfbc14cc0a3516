import type { IncomingMessage, ServerResponse } from 'node:http';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { AuthorizationServers } from '../../src/auth/authorization-servers.ts';
import { mountAuthorizationServer } from '../../src/auth/server/provider-mount.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { quietHttpApp } from '../helpers/http-app.ts';

/**
 * Where the authorization server is mounted: it answers its own paths (under the issuer and the
 * path-inserted metadata URLs), nothing else, and the routes beside it (the MCP endpoint) never
 * pass through its mount. The authorization server itself is oidc-provider in the end-to-end
 * tests (oauth-flow, oauth-attacks); here it is a callback that records what reached it.
 */

interface Reached {
  url: string;
  baseUrl: string | undefined;
  host: string | undefined;
}

async function mountedApp() {
  const reached: Reached[] = [];
  const callback = async (req: IncomingMessage & { baseUrl?: string }, res: ServerResponse): Promise<void> => {
    reached.push({ url: req.url ?? '', baseUrl: req.baseUrl, host: req.headers.host });
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"from":"authorization server"}');
  };
  const servers = {
    logger: createLogger('silent', new PassThrough()),
    publicOrigin: 'https://sql.example.com',
    active: (environment: string) => (environment === 'demo' ? { callback } : undefined)
  } as unknown as AuthorizationServers;
  const app = await quietHttpApp();
  // A route under the issuer path, as the MCP endpoint is: what its request carries is recorded.
  const routeSaw: Record<string, unknown>[] = [];
  app.post('/demo/mcp', async request => {
    const raw = request.raw as IncomingMessage & Record<string, unknown>;
    routeSaw.push({ id: raw['id'], hostname: raw['hostname'], ips: raw['ips'], query: raw['query'] });
    return { from: 'route' };
  });
  await mountAuthorizationServer(app, servers, 'demo');
  const request = (method: 'GET' | 'POST', url: string) => app.inject({ method, url, headers: { host: 'localhost' } });
  return { app, reached, routeSaw, request };
}

describe('the authorization server mount', () => {
  it.each([
    ['POST', '/demo/token', '/token'],
    ['GET', '/demo/authorize?client_id=c&scope=sql%3Aread', '/authorize?client_id=c&scope=sql%3Aread'],
    ['POST', '/demo/register', '/register'],
    ['GET', '/demo/jwks', '/jwks'],
    ['GET', '/demo/.well-known/openid-configuration', '/.well-known/openid-configuration'],
    ['GET', '/.well-known/oauth-authorization-server/demo', '/.well-known/oauth-authorization-server'],
    ['GET', '/.well-known/openid-configuration/demo', '/.well-known/openid-configuration']
  ] as const)('hands %s %s to the authorization server as %s', async (method, url, expected) => {
    const { app, reached, request } = await mountedApp();
    const response = await request(method, url);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ from: 'authorization server' });
    expect(reached).toEqual([{ url: expected, baseUrl: '/demo', host: 'sql.example.com' }]);
    // Its answers carry the headers the HTTP layer decided for every response.
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    await app.close();
  });

  it.each([
    '/demo/nothing-here',
    '/demo',
    '/DEMO/token',
    '/%64emo/token',
    '/demo/token/extra',
    '/.well-known/oauth-authorization-server/demox',
    '/.well-known/oauth-authorization-server/DEMO',
    '/other/token'
  ])('answers %s not found, without the authorization server', async url => {
    const { app, reached, request } = await mountedApp();
    const response = await request('POST', url);
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({ error: 'not_found' });
    expect(reached).toEqual([]);
    await app.close();
  });

  it('leaves the routes under the issuer path to themselves: their requests never pass through the mount', async () => {
    const { app, reached, routeSaw, request } = await mountedApp();
    const response = await request('POST', '/demo/mcp?x=1');
    expect(response.json()).toEqual({ from: 'route' });
    expect(reached).toEqual([]);
    // What @fastify/middie copies onto every request it runs for: absent, so it did not run.
    expect(routeSaw).toEqual([{ id: undefined, hostname: undefined, ips: undefined, query: undefined }]);
    await app.close();
  });
});
