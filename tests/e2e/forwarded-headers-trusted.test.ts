import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoDataDir } from '../helpers/data-dir.ts';
import {
  INITIALIZE,
  PUBLIC,
  authorizeQuery,
  loggedAddress,
  publicDocument,
  rawRequest,
  registerClient,
  signInRedirect,
  withHeaders,
  writeSharedConfig,
  type HeaderSet,
  type RawRequest
} from '../helpers/forwarded.ts';
import { startServer, type RunningServer } from '../helpers/server-process.ts';

/**
 * Behind a trusted proxy (`server.trustProxy: ["127.0.0.1"]`, the requests' own address): the path
 * prefix the proxy stripped (X-Environment-Path, or X-Forwarded-Prefix) is put back, so `/mcp` with
 * `/demo` reaches the demo environment exactly as `/demo/mcp` does; a malformed prefix is ignored;
 * X-Forwarded-Host is what the Host guard checks; X-Forwarded-For is the client address. URLs still
 * come from the public URL only.
 */

let server: RunningServer;
let clientId: string;

beforeAll(async () => {
  const dir = demoDataDir();
  const config = await writeSharedConfig(dir, ['127.0.0.1']);
  server = await startServer({ args: ['serve', '--config', config, '--data-dir', dir] });
  clientId = await registerClient(server.baseUrl, '/demo/register');
}, 60_000);

afterAll(async () => {
  await server.stop();
});

const PREFIX_HEADERS = ['x-environment-path', 'x-forwarded-prefix'];

/** Requests under an environment, as `/<environment><path>` and as the proxy forwards them (`path`). */
function cases(environment: string): { path: string; init: RawRequest; kind: 'challenge' | 'document' | 'redirect' }[] {
  return [
    { path: '/mcp', init: INITIALIZE, kind: 'challenge' },
    { path: '/sse', init: { headers: { accept: 'text/event-stream' } }, kind: 'challenge' },
    { path: '/.well-known/openid-configuration', init: {}, kind: 'document' },
    { path: '/.well-known/oauth-authorization-server', init: {}, kind: 'document' },
    { path: '/.well-known/oauth-protected-resource', init: {}, kind: 'document' },
    {
      path: `/authorize?${authorizeQuery(clientId, `${PUBLIC}/${environment}/mcp`)}`,
      init: {},
      kind: 'redirect'
    }
  ];
}

/** What matters in an answer: its status and the document, challenge or sign-in redirect it carries. */
async function answer(path: string, init: RawRequest, kind: 'challenge' | 'document' | 'redirect'): Promise<unknown> {
  const response = await rawRequest(server.baseUrl, path, init);
  switch (kind) {
    case 'challenge':
      expect(response.status, `${path}: ${response.body}`).toBe(401);
      return { challenge: response.headers['www-authenticate'], body: response.body };
    case 'document':
      return publicDocument(response, path);
    case 'redirect':
      return signInRedirect(response);
  }
}

describe('a path prefix from a trusted proxy', () => {
  it.each(PREFIX_HEADERS)('%s: /demo reaches the demo environment exactly as /demo/… does', async header => {
    for (const { path, init, kind } of cases('demo')) {
      const direct = await answer(`/demo${path}`, init, kind);
      const forwarded = await answer(path, withHeaders(init, { [header]: '/demo' }), kind);
      expect(forwarded, path).toEqual(direct);
    }
    // The challenge names the demo's metadata, and the documents the demo's issuer and resource.
    const challenge = (await answer('/mcp', withHeaders(INITIALIZE, { [header]: '/demo' }), 'challenge')) as {
      challenge: string;
    };
    expect(challenge.challenge).toContain(
      `resource_metadata="${PUBLIC}/.well-known/oauth-protected-resource/demo/mcp"`
    );
    const metadata = await rawRequest(server.baseUrl, '/.well-known/openid-configuration', {
      headers: { [header]: '/demo' }
    });
    expect(publicDocument(metadata, 'openid')).toMatchObject({ issuer: `${PUBLIC}/demo` });
    const resource = await rawRequest(server.baseUrl, '/.well-known/oauth-protected-resource', {
      headers: { [header]: '/demo' }
    });
    expect(publicDocument(resource, 'resource')).toMatchObject({ resource: `${PUBLIC}/demo/mcp` });
  });

  it('routes to the environment the prefix names, not a fixed one', async () => {
    const other = await rawRequest(server.baseUrl, '/.well-known/oauth-authorization-server', {
      headers: { 'x-environment-path': '/other' }
    });
    expect(publicDocument(other, 'other')).toMatchObject({ issuer: `${PUBLIC}/other` });
    const challenge = await rawRequest(server.baseUrl, '/sse', { headers: { 'x-forwarded-prefix': '/other' } });
    expect(challenge.status).toBe(401);
    expect(challenge.headers['www-authenticate']).toContain(
      `resource_metadata="${PUBLIC}/.well-known/oauth-protected-resource/other/sse"`
    );
  });

  it('keeps every URL on the public URL whatever X-Forwarded-Proto and an allowed X-Forwarded-Host say', async () => {
    const forwarded = {
      'x-forwarded-proto': 'http',
      'x-forwarded-host': 'localhost:8080',
      'x-environment-path': '/demo'
    };
    for (const { path, init, kind } of cases('demo')) {
      expect(await answer(path, withHeaders(init, forwarded), kind), path).toEqual(
        await answer(`/demo${path}`, init, kind)
      );
    }
  });

  it('ignores a malformed prefix (/Demo, /demo/x, demo, /../x, /demo/interaction)', async () => {
    const requests: { path: string; init: RawRequest }[] = [
      { path: '/mcp', init: INITIALIZE },
      { path: '/sse', init: {} },
      { path: '/.well-known/openid-configuration', init: {} },
      // /demo/interaction + /<uid> is the sign-in page's route: an honoured multi-segment prefix would reach it.
      { path: '/forwarded-uid', init: {} }
    ];
    for (const { path, init } of requests) {
      const plain = await rawRequest(server.baseUrl, path, init);
      expect(plain.status, path).toBe(404);
      for (const header of PREFIX_HEADERS) {
        for (const prefix of ['/Demo', '/demo/x', 'demo', '/../x', '/demo/interaction', '/demo/', '']) {
          const response = await rawRequest(server.baseUrl, path, withHeaders(init, { [header]: prefix }));
          expect({ status: response.status, body: response.body }, `${path} ${header}: ${prefix}`).toEqual({
            status: plain.status,
            body: plain.body
          });
        }
      }
    }
    // Control: the route an honoured multi-segment prefix would have reached does answer.
    expect((await rawRequest(server.baseUrl, '/demo/interaction/forwarded-uid')).status).not.toBe(404);
  });

  it('ignores a prefix that names no environment: /admin cannot bring /login to the admin console', async () => {
    // A proxy that passes its clients' headers on, in front of a rule that keeps /admin private.
    for (const header of PREFIX_HEADERS) {
      const login = await rawRequest(server.baseUrl, '/login', { headers: { [header]: '/admin' } });
      expect(login.status, header).toBe(404);
      expect(login.body).not.toContain('admin');
    }
    // Control: the console's sign-in page is there, at its own path.
    expect((await rawRequest(server.baseUrl, '/admin/login')).status).toBe(200);
  });
});

describe('X-Forwarded-Host and X-Forwarded-For from a trusted proxy', () => {
  it('checks X-Forwarded-Host as the Host: evil.example is refused (403), data.example.test passes', async () => {
    for (const path of ['/healthz', '/.well-known/oauth-authorization-server/demo', '/demo/mcp']) {
      const refused = await rawRequest(server.baseUrl, path, { headers: { 'x-forwarded-host': 'evil.example' } });
      expect(refused.status, path).toBe(403);
      expect(refused.body).toContain('the Host header does not name this server');
      const viaPrefix = await rawRequest(server.baseUrl, '/mcp', {
        headers: { 'x-forwarded-host': 'evil.example', 'x-environment-path': '/demo' }
      });
      expect(viaPrefix.status).toBe(403);
    }
    const allowed = await rawRequest(server.baseUrl, '/.well-known/oauth-authorization-server/demo', {
      headers: { host: 'internal-name', 'x-forwarded-host': 'data.example.test' }
    });
    expect(allowed.status, allowed.body).toBe(200);
    // Control: without the forwarded header, that Host alone is refused.
    expect((await rawRequest(server.baseUrl, '/healthz', { headers: { host: 'internal-name' } })).status).toBe(403);
  });

  it('takes the logged client address from X-Forwarded-For', async () => {
    expect(await loggedAddress(server, { 'x-forwarded-for': '203.0.113.7' })).toBe('203.0.113.7');
    expect(await loggedAddress(server, {})).toBe('127.0.0.1');
  });

  it('refuses with 400 a forwarded client address that is not an IP address, which would be logged and audited', async () => {
    for (const forwarded of ['evil<script>', '203.0.113.7, not-an-address', 'ana@example.com']) {
      const refused = await rawRequest(server.baseUrl, '/healthz', { headers: { 'x-forwarded-for': forwarded } });
      expect(refused.status, forwarded).toBe(400);
      expect(refused.body).toContain('X-Forwarded-For from a trusted proxy names a client address that is not an IP');
    }
    // A proxy that appends the address it saw: the client's own text stays behind that address.
    const appended = await rawRequest(server.baseUrl, '/healthz', {
      headers: { 'x-forwarded-for': 'evil, 203.0.113.9' }
    });
    expect(appended.status).toBe(200);
    const ipv6 = await rawRequest(server.baseUrl, '/healthz', { headers: { 'x-forwarded-for': '2001:db8::7' } });
    expect(ipv6.status).toBe(200);
  });

  it('refuses a foreign Origin on the MCP endpoint with 403 whatever the forwarded headers say', async () => {
    const requests: { path: string; forwarded: HeaderSet }[] = [
      { path: '/demo/mcp', forwarded: { 'x-forwarded-host': 'data.example.test', 'x-forwarded-proto': 'https' } },
      { path: '/mcp', forwarded: { 'x-environment-path': '/demo', 'x-forwarded-host': 'data.example.test' } },
      { path: '/mcp', forwarded: { 'x-forwarded-prefix': '/demo', 'x-forwarded-for': '203.0.113.7' } }
    ];
    for (const { path, forwarded } of requests) {
      const init = withHeaders(INITIALIZE, { ...forwarded, origin: 'https://evil.example' });
      const response = await rawRequest(server.baseUrl, path, init);
      expect(response.status, JSON.stringify(forwarded)).toBe(403);
      expect(response.body).toContain('requests from this Origin are not allowed');
    }
    // Control: the public origin gets as far as the bearer guard.
    const own = await rawRequest(
      server.baseUrl,
      '/mcp',
      withHeaders(INITIALIZE, { 'x-environment-path': '/demo', origin: PUBLIC })
    );
    expect(own.status).toBe(401);
  });
});
