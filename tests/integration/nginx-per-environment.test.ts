import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { renderNginxSite } from '../../deploy/nginx/render.ts';
import { httpsRequest, openStream, type HttpsTarget } from '../helpers/https-client.ts';
import { expectNginxSecurityHeaders, nginxInFront } from '../helpers/nginx.ts';
import { startRecordingUpstream, type RecordingUpstream } from '../helpers/recording-upstream.ts';

/**
 * The per-environment layout through a real nginx: one sqlbridge per environment, the /<env> prefix removed and
 * named in X-Environment-Path, the root-level metadata of an environment passed to it unchanged.
 */

describe('nginx in front of one sqlbridge per environment', () => {
  let demo: RecordingUpstream;
  let production: RecordingUpstream;
  let target: HttpsTarget;
  const seen = (upstream: RecordingUpstream) => upstream.requests.map(r => `${r.method} ${r.path}${r.query}`);

  const teardown: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const stop of teardown.reverse()) await stop();
  });

  beforeAll(async () => {
    demo = await startRecordingUpstream();
    teardown.push(() => demo.close());
    production = await startRecordingUpstream();
    teardown.push(() => production.close());
    const front = await nginxInFront(siteOptions =>
      renderNginxSite({
        layout: 'per-environment',
        serverName: 'localhost',
        environments: ['demo', 'production'],
        upstreams: { demo: demo.address, production: production.address },
        ...siteOptions
      })
    );
    teardown.push(() => front.nginx.stop());
    target = front.target;
  });

  beforeEach(() => {
    demo.requests.length = 0;
    production.requests.length = 0;
  });

  it("sends /production/… to production's sqlbridge without the prefix, with X-Environment-Path, and never to demo's", async () => {
    const client = { 'x-environment-path': '/demo', 'x-forwarded-prefix': '/demo' };
    expect((await httpsRequest(target, { path: '/production/mcp?probe=1', method: 'POST', body: '{}' })).status).toBe(
      200
    );
    expect((await httpsRequest(target, { path: '/production/messages?sessionId=s1', method: 'POST' })).status).toBe(
      202
    );
    expect((await httpsRequest(target, { path: '/production/authorize?client_id=c1', headers: client })).status).toBe(
      200
    );
    expect((await httpsRequest(target, { path: '/production/interaction/u1/login', method: 'POST' })).status).toBe(200);
    expect((await httpsRequest(target, { path: '/production/.well-known/oauth-authorization-server' })).status).toBe(
      200
    );
    expect(seen(production)).toEqual([
      'POST /mcp?probe=1',
      'POST /messages?sessionId=s1',
      'GET /authorize?client_id=c1',
      'POST /interaction/u1/login',
      'GET /.well-known/oauth-authorization-server'
    ]);
    for (const { headers } of production.requests) {
      expect(headers).toMatchObject({ 'x-environment-path': '/production', 'x-forwarded-proto': 'https' });
      expect(headers['x-forwarded-prefix']).toBeUndefined();
      expect(headers.connection).toBeUndefined();
    }
    expect(demo.requests).toEqual([]);
  });

  it("sends an environment's root-level metadata to its sqlbridge unchanged and without a path prefix header", async () => {
    const paths = [
      '/.well-known/oauth-protected-resource/production/mcp',
      '/.well-known/oauth-protected-resource/production/sse',
      '/.well-known/oauth-authorization-server/production',
      '/.well-known/openid-configuration/production'
    ];
    const prefixes = { 'x-environment-path': '/production', 'x-forwarded-prefix': '/production' };
    for (const path of paths) {
      const response = await httpsRequest(target, { path, headers: prefixes });
      expect(response.status).toBe(200);
    }
    expect(seen(production)).toEqual(paths.map(path => `GET ${path}`));
    for (const { headers } of production.requests) {
      expect(headers['x-environment-path']).toBeUndefined();
      expect(headers['x-forwarded-prefix']).toBeUndefined();
      expect(headers['x-forwarded-host']).toBe('localhost');
    }
    expect(demo.requests).toEqual([]);
  });

  it('streams /demo/sse from the demo sqlbridge as /sse', async () => {
    const stream = await openStream(target, { path: '/demo/sse' });
    try {
      await stream.waitFor(text => text.includes('event: endpoint\n'), 1_000);
      await stream.waitFor(text => text.includes(': keep-alive\n'), 1_000);
      expectNginxSecurityHeaders(stream.headers);
    } finally {
      stream.close();
    }
    expect(seen(demo)).toEqual(['GET /sse']);
    expect(demo.requests[0]!.headers['x-environment-path']).toBe('/demo');
  });

  it('answers 404 itself to anything else, with the security headers, reaching no sqlbridge', async () => {
    const elsewhere = ['/', '/healthz', '/staging/mcp', '/.well-known/oauth-protected-resource/staging/mcp'];
    for (const path of elsewhere) {
      const response = await httpsRequest(target, { path });
      expect(response.status, path).toBe(404);
      expectNginxSecurityHeaders(response.headers);
    }
    // nginx's own answer for a proxied prefix location asked without its trailing slash.
    const bare = await httpsRequest(target, { path: '/production' });
    expect(bare).toMatchObject({ status: 301, headers: { location: expect.stringMatching(/\/production\/$/) } });
    expect([...demo.requests, ...production.requests]).toEqual([]);
  });
});
