import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/auth/server/passwords.ts';
import { demoDataDir } from '../helpers/data-dir.ts';
import {
  ALICE,
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
  type HeaderSet
} from '../helpers/forwarded.ts';
import { runCli, startServer, type RunningServer } from '../helpers/server-process.ts';

/**
 * Public URLs never come from a client's headers. The real server, with OAuth and the public URL
 * https://data.example.test, trusts a proxy at 10.9.9.9; these requests come from 127.0.0.1, so
 * their Host may be checked but their forwarded headers (X-Forwarded-Host/-Proto/-For/-Prefix, the
 * original guide's X-Environment-Path) must change nothing: every document, challenge and redirect
 * is the one the same request gets without them. The Host and Origin guards still apply.
 */

let server: RunningServer;
let dir: string;

beforeAll(async () => {
  dir = demoDataDir();
  const config = await writeSharedConfig(dir, ['10.9.9.9']);
  server = await startServer({ args: ['serve', '--config', config, '--data-dir', dir] });
}, 60_000);

afterAll(async () => {
  await server.stop();
});

/** What a client forges: an allowed Host, another host and scheme, a client address, a path prefix. */
const FORGED_HOST = {
  host: 'localhost',
  'x-forwarded-host': 'evil.example',
  'x-forwarded-proto': 'http',
  'x-forwarded-for': '203.0.113.9'
};
const FORGERIES: HeaderSet[] = [
  { ...FORGED_HOST, 'x-environment-path': '/demo' },
  { ...FORGED_HOST, 'x-forwarded-prefix': '/demo' }
];

const METADATA = [
  '/.well-known/oauth-authorization-server/demo',
  '/.well-known/openid-configuration/demo',
  '/demo/.well-known/oauth-authorization-server',
  '/demo/.well-known/openid-configuration',
  '/.well-known/oauth-protected-resource/demo/mcp',
  '/.well-known/oauth-protected-resource/demo/sse',
  '/demo/.well-known/oauth-protected-resource'
];

describe('forwarded headers from a peer that is not a trusted proxy', () => {
  it('change no URL in the authorization-server, OpenID and protected-resource metadata', async () => {
    for (const path of METADATA) {
      const plain = publicDocument(await rawRequest(server.baseUrl, path), path);
      for (const headers of FORGERIES) {
        const forged = publicDocument(await rawRequest(server.baseUrl, path, { headers }), `${path} forged`);
        expect(forged, `${path} with ${JSON.stringify(headers)}`).toEqual(plain);
      }
    }
    const issuer = publicDocument(await rawRequest(server.baseUrl, METADATA[0]!), 'issuer');
    expect(issuer).toMatchObject({ issuer: `${PUBLIC}/demo`, token_endpoint: `${PUBLIC}/demo/token` });
    const resource = publicDocument(await rawRequest(server.baseUrl, METADATA[5]!), 'resource');
    expect(resource).toMatchObject({ resource: `${PUBLIC}/demo/sse`, authorization_servers: [`${PUBLIC}/demo`] });
  });

  it('change neither the 401 challenge of /demo/mcp nor that of /demo/sse', async () => {
    const endpoints = [
      { path: '/demo/mcp', init: INITIALIZE },
      { path: '/demo/sse', init: { headers: { accept: 'text/event-stream' } } }
    ];
    for (const { path, init } of endpoints) {
      const plain = await rawRequest(server.baseUrl, path, init);
      expect(plain.status, plain.body).toBe(401);
      expect(plain.headers['www-authenticate']).toContain(
        `resource_metadata="${PUBLIC}/.well-known/oauth-protected-resource${path}"`
      );
      for (const headers of FORGERIES) {
        const forged = await rawRequest(server.baseUrl, path, withHeaders(init, headers));
        expect(forged.status, `${path} ${forged.body}`).toBe(401);
        expect(forged.headers['www-authenticate'], path).toBe(plain.headers['www-authenticate']);
        expect(forged.body, path).toBe(plain.body);
      }
    }
  });

  it('change neither the sign-in redirect of /demo/authorize nor its cookies', async () => {
    const clientId = await registerClient(server.baseUrl, '/demo/register');
    const path = `/demo/authorize?${authorizeQuery(clientId, `${PUBLIC}/demo/mcp`)}`;
    const plain = signInRedirect(await rawRequest(server.baseUrl, path));
    expect(plain.location).toBe(`${PUBLIC}/demo/interaction/<uid>`);
    // https public URL: the __Secure- cookies of a secure origin, whatever X-Forwarded-Proto claims.
    expect(plain.cookies.length).toBeGreaterThan(0);
    for (const cookie of plain.cookies) expect(cookie).toMatch(/^__Secure-.*; secure/);
    for (const headers of FORGERIES) {
      expect(signInRedirect(await rawRequest(server.baseUrl, path, { headers }))).toEqual(plain);
    }
  });

  it('do not route /mcp, /sse or the root metadata to an environment', async () => {
    const requests = [
      { path: '/mcp', init: {} },
      { path: '/mcp', init: INITIALIZE },
      { path: '/sse', init: {} },
      { path: '/.well-known/openid-configuration', init: {} },
      { path: '/.well-known/oauth-authorization-server', init: {} },
      { path: '/.well-known/oauth-protected-resource', init: {} }
    ];
    for (const { path, init } of requests) {
      const plain = await rawRequest(server.baseUrl, path, init);
      expect(plain.status, path).toBe(404);
      for (const prefix of [{ 'x-environment-path': '/demo' }, { 'x-forwarded-prefix': '/demo' }] as HeaderSet[]) {
        const forged = await rawRequest(server.baseUrl, path, withHeaders(init, prefix));
        expect({ status: forged.status, body: forged.body }, `${path} ${JSON.stringify(prefix)}`).toEqual({
          status: plain.status,
          body: plain.body
        });
      }
    }
  });

  it('do not set the client address the server logs (X-Forwarded-For)', async () => {
    expect(await loggedAddress(server, { 'x-forwarded-for': '203.0.113.7' })).toBe('127.0.0.1');
  });
});

describe('the Host guard (DNS rebinding)', () => {
  const paths = ['/healthz', '/.well-known/oauth-authorization-server/demo', '/demo/mcp', '/demo/authorize'];
  const foreignHosts: HeaderSet[] = [
    { host: 'evil.example' },
    { host: 'evil.example:443' },
    { host: 'evil.example', 'x-forwarded-host': 'data.example.test' },
    { host: 'evil.example', 'x-forwarded-host': 'data.example.test', 'x-forwarded-proto': 'https' }
  ];

  it('refuses a Host naming another server with 403, even with X-Forwarded-Host naming the public host', async () => {
    for (const path of paths) {
      for (const headers of foreignHosts) {
        const response = await rawRequest(server.baseUrl, path, { headers });
        expect(response.status, `${path} ${JSON.stringify(headers)}`).toBe(403);
        expect(response.body).toContain('the Host header does not name this server');
      }
    }
  });

  it('accepts the public host and loopback names', async () => {
    for (const host of ['data.example.test', 'DATA.example.test:443', 'localhost', new URL(server.baseUrl).host]) {
      const response = await rawRequest(server.baseUrl, '/.well-known/oauth-authorization-server/demo', {
        headers: { host }
      });
      expect(response.status, host).toBe(200);
    }
  });
});

describe('the Origin check and CORS', () => {
  it('refuses a foreign Origin on /demo/mcp with 403 whatever the forwarded headers say', async () => {
    const forwardedSets: HeaderSet[] = [
      {},
      ...FORGERIES,
      { 'x-forwarded-host': 'data.example.test', 'x-forwarded-proto': 'https' }
    ];
    for (const forwarded of forwardedSets) {
      const response = await rawRequest(
        server.baseUrl,
        '/demo/mcp',
        withHeaders(INITIALIZE, { ...forwarded, origin: 'https://evil.example' })
      );
      expect(response.status, JSON.stringify(forwarded)).toBe(403);
      expect(response.body).toContain('requests from this Origin are not allowed');
    }
    // Control: the public origin itself gets as far as the bearer guard.
    const own = await rawRequest(server.baseUrl, '/demo/mcp', withHeaders(INITIALIZE, { origin: PUBLIC }));
    expect(own.status).toBe(401);
  });

  it('answers the metadata documents to any origin (access-control-allow-origin: *)', async () => {
    for (const path of METADATA) {
      const response = await rawRequest(server.baseUrl, path, { headers: { origin: 'https://evil.example' } });
      expect(response.status, path).toBe(200);
      expect(response.headers['access-control-allow-origin'], path).toBe('*');
    }
    const preflight = await rawRequest(server.baseUrl, METADATA[4]!, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://evil.example',
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'mcp-protocol-version'
      }
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe('*');
  });
});

describe('configuration', () => {
  it('refuses to start with OAuth and trusted proxies but no public URL (exit 2 naming server.publicUrl)', async () => {
    const data = demoDataDir();
    const write = async (name: string, server: string[]): Promise<string> => {
      const path = join(data, name);
      const user = `{ username: alice, passwordHash: "${await hashPassword(ALICE.password)}", environments: [demo] }`;
      const lines = [...server, 'environments:', '  demo:', '    database: { engine: demo, liveFeed: false }'];
      writeFileSync(path, [...lines, 'auth:', '  users:', `    - ${user}`, ''].join('\n'));
      return path;
    };
    const trusting = await write('trusting.yaml', ['server:', '  trustProxy: ["127.0.0.1"]']);
    const plain = await write('plain.yaml', []);
    const serve = (config: string) => ['serve', '--config', config, '--data-dir', data, '--port', '0'];
    const fromFile = await runCli(serve(trusting));
    expect(fromFile.code, fromFile.stderr).toBe(2);
    expect(fromFile.stderr).toContain('server.publicUrl');
    const fromVariable = await runCli(serve(plain), { env: { SQLBRIDGE_TRUST_PROXY: '10.0.0.0/8' } });
    expect(fromVariable.code, fromVariable.stderr).toBe(2);
    expect(fromVariable.stderr).toContain('server.publicUrl');
    // Control: the same file with a public URL starts and serves.
    const started = await startServer({
      args: ['serve', '--config', trusting, '--data-dir', data],
      env: { SQLBRIDGE_PUBLIC_URL: PUBLIC }
    });
    try {
      expect((await rawRequest(started.baseUrl, '/healthz')).status).toBe(200);
    } finally {
      await started.stop();
    }
  }, 60_000);
});
