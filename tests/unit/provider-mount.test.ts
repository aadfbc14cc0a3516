import type { IncomingMessage, ServerResponse } from 'node:http';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { AuthorizationServers } from '../../src/auth/authorization-servers.ts';
import { mountAuthorization } from '../../src/auth/routes.ts';
import { mountAuthorizationServers, providerTarget } from '../../src/auth/server/provider-mount.ts';
import type { HttpApp } from '../../src/http/http-app.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { quietHttpApp } from '../helpers/http-app.ts';

/**
 * Where the authorization servers are mounted: each answers its own paths (under its issuer and the
 * path-inserted metadata URLs), nothing else, and the routes beside them (the MCP endpoint) never
 * pass through their mount. The authorization server itself is oidc-provider in the end-to-end
 * tests (oauth-flow, oauth-attacks); here each environment's is a callback that records what
 * reached it.
 */

interface Reached {
  environment: string;
  url: string;
  baseUrl: string | undefined;
  host: string | undefined;
}

const ENVIRONMENTS = ['demo', 'lite'];

function fakeServers(reached: Reached[]): AuthorizationServers {
  const callbackOf =
    (environment: string) =>
    async (req: IncomingMessage & { baseUrl?: string }, res: ServerResponse): Promise<void> => {
      reached.push({ environment, url: req.url ?? '', baseUrl: req.baseUrl, host: req.headers.host });
      res.writeHead(200, { 'content-type': 'application/json' }).end(`{"from":"authorization server ${environment}"}`);
    };
  return {
    logger: createLogger('silent', new PassThrough()),
    publicOrigin: 'https://sql.example.com',
    environments: ENVIRONMENTS.map(name => ({ name, config: { readOnly: true }, audit: undefined })),
    config: { auth: { refreshTokenTtlDays: 30, federation: { localUsers: true } } },
    federation: { callback: async () => undefined },
    active: (environment: string) =>
      ENVIRONMENTS.includes(environment)
        ? {
            callback: callbackOf(environment),
            // No sign-in is under way: oidc-provider answers a page's lookup so for an unknown uid.
            provider: { interactionDetails: () => Promise.reject(new Error('interaction session not found')) }
          }
        : undefined
  } as unknown as AuthorizationServers;
}

async function mountedApp() {
  const reached: Reached[] = [];
  const app = await quietHttpApp();
  // A route under the issuer path, as the MCP endpoint is: what its request carries is recorded.
  const routeSaw: Record<string, unknown>[] = [];
  app.post('/demo/mcp', async request => {
    const raw = request.raw as IncomingMessage & Record<string, unknown>;
    routeSaw.push({ id: raw['id'], hostname: raw['hostname'], ips: raw['ips'], query: raw['query'] });
    return { from: 'route' };
  });
  await app.register(async (scope: HttpApp) => mountAuthorizationServers(scope, fakeServers(reached)));
  const request = (method: 'GET' | 'POST' | 'HEAD', url: string) =>
    app.inject({ method, url, headers: { host: 'localhost' } });
  return { app, reached, routeSaw, request };
}

describe('the authorization server mount', () => {
  it.each([
    ['POST', '/demo/token', 'demo', '/token'],
    ['POST', '/lite/token', 'lite', '/token'],
    ['GET', '/demo/authorize?client_id=c&scope=sql%3Aread', 'demo', '/authorize?client_id=c&scope=sql%3Aread'],
    ['GET', '/lite/authorize?client_id=c', 'lite', '/authorize?client_id=c&scope=sql%3Aread'],
    ['GET', '/demo/authorize/abc123', 'demo', '/authorize/abc123'],
    ['POST', '/demo/register', 'demo', '/register'],
    ['POST', '/lite/revoke', 'lite', '/revoke'],
    ['GET', '/demo/jwks', 'demo', '/jwks'],
    ['GET', '/demo/.well-known/openid-configuration', 'demo', '/.well-known/openid-configuration'],
    ['GET', '/lite/.well-known/oauth-authorization-server', 'lite', '/.well-known/oauth-authorization-server'],
    ['GET', '/.well-known/oauth-authorization-server/demo', 'demo', '/.well-known/oauth-authorization-server'],
    ['GET', '/.well-known/openid-configuration/lite', 'lite', '/.well-known/openid-configuration'],
    ['GET', '/.well-known/openid-configuration/demo?x=1', 'demo', '/.well-known/openid-configuration']
  ] as const)('hands %s %s to the authorization server of %s as %s', async (method, url, environment, expected) => {
    const { app, reached, request } = await mountedApp();
    const response = await request(method, url);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ from: `authorization server ${environment}` });
    expect(reached).toEqual([{ environment, url: expected, baseUrl: `/${environment}`, host: 'sql.example.com' }]);
    // Its answers carry the headers the HTTP layer decided for every response.
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    await app.close();
  });

  it('hands a HEAD request for one of its documents to the authorization server', async () => {
    const { app, reached, request } = await mountedApp();
    const response = await request('HEAD', '/demo/jwks');
    expect(response.statusCode).toBe(200);
    expect(reached.map(r => [r.environment, r.url])).toEqual([['demo', '/jwks']]);
    await app.close();
  });

  it.each([
    '/demo/nothing-here',
    '/demo',
    '/DEMO/token',
    '/%64emo/token',
    '/demo/%74oken',
    '/demo/token/extra',
    '/demo/authorize/a/b',
    '/other/token',
    '/.well-known/oauth-authorization-server/demox',
    '/.well-known/oauth-authorization-server/DEMO',
    '/.well-known/oauth-authorization-server/%64emo',
    '/.well-known/oauth-authorization-server',
    '/.well-known/oauth-protected-resource/demo'
  ])('answers POST %s not found, without an authorization server', async url => {
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

describe('which authorization server a URL is for', () => {
  const environments = new Set(ENVIRONMENTS);

  it.each([
    ['/demo/token', { environment: 'demo', url: '/token' }],
    ['/lite/authorize/uid-1?x=1', { environment: 'lite', url: '/authorize/uid-1?x=1' }],
    ['/demo/authorize', { environment: 'demo', url: '/authorize?scope=sql%3Aread' }],
    ['/.well-known/openid-configuration/demo', { environment: 'demo', url: '/.well-known/openid-configuration' }]
  ])('%s is for %o', (url, target) => {
    expect(providerTarget(url, environments)).toEqual(target);
  });

  it.each([
    '/',
    '/demo',
    '/demo/',
    '/demo/mcp',
    '/demo/interaction/uid-1/login',
    '/Demo/token',
    '/%64emo/token',
    '/unknown/token',
    '/.well-known/openid-configuration/unknown',
    '/.well-known/openid-configuration/demo/more',
    '/.well-known/jwks/demo'
  ])('%s is for none', url => {
    expect(providerTarget(url, environments)).toBeUndefined();
  });
});

describe('the plugin of the authorization servers and their sign-in pages', () => {
  it('builds every request it serves, in every environment, from one request class', async () => {
    const app = await quietHttpApp();
    // Fastify builds a request with the class of the plugin that holds its route. A root hook sees
    // every request: what it records is how many classes the code every request runs meets.
    const classes = new Map<object, string[]>();
    app.addHook('onRequest', async request => {
      const proto = Object.getPrototypeOf(request) as object;
      classes.set(proto, [...(classes.get(proto) ?? []), request.url]);
    });
    await mountAuthorization(app, fakeServers([]));
    // The provider's paths reach the fake provider (200); a sign-in page with no sign-in under way
    // answers that it expired (400).
    const answers: [string, number][] = [
      ['/demo/token', 200],
      ['/lite/token', 200],
      ['/demo/register', 200],
      ['/.well-known/oauth-authorization-server/demo', 200],
      ['/.well-known/openid-configuration/lite', 200],
      ['/demo/interaction/uid-1', 400],
      ['/lite/interaction/uid-2', 400]
    ];
    for (const [url, status] of answers) {
      const response = await app.inject({ method: 'GET', url, headers: { host: 'localhost' } });
      expect(response.statusCode, url).toBe(status);
      if (status === 400) expect(response.body, url).toContain('Sign-in expired');
    }
    expect([...classes.values()]).toEqual([answers.map(([url]) => url)]);
    await app.close();
  });
});
