import { Agent } from 'node:https';
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { httpsRequest, openStream, type HttpsTarget } from '../helpers/https-client.ts';
import { expectNginxSecurityHeaders } from '../helpers/nginx.ts';
import { sharedNginxBeforeRecorder, type SharedNginxFixture } from '../helpers/nginx-fixture.ts';
import { UPSTREAM_SECURITY_HEADERS, type RecordingUpstream } from '../helpers/recording-upstream.ts';

/** The shared layout through a real nginx: one upstream for every environment, paths unchanged, streams unbuffered. */

describe('nginx in front of one sqlbridge (shared layout)', () => {
  let fixture: SharedNginxFixture;
  let upstream: RecordingUpstream;
  let target: HttpsTarget;

  beforeAll(async () => {
    fixture = await sharedNginxBeforeRecorder(['demo', 'production']);
    ({ upstream, target } = fixture);
  });

  afterAll(async () => {
    await fixture.stop();
  });

  beforeEach(() => {
    upstream.requests.length = 0;
  });

  it.each(['/demo/sse', '/production/mcp'])(
    'streams GET %s: the first event within 1 s, then each comment as written',
    async path => {
      const stream = await openStream(target, { path, headers: { accept: 'text/event-stream' } });
      try {
        await stream.waitFor(text => text.includes('event: endpoint\n'), 1_000);
        expect(stream.chunks[0]!.atMs).toBeLessThan(1_000);
        await stream.waitFor(text => text.split(': keep-alive\n\n').length > 4, 3_000);
        // Buffered, the comments would arrive together; streamed, they arrive 300 ms apart.
        const comments = stream.chunks.filter(chunk => chunk.text.includes(': keep-alive'));
        expect(comments.at(-1)!.atMs - comments[0]!.atMs).toBeGreaterThanOrEqual(500);
        expect(stream.headers['x-accel-buffering']).toBe('no');
        expectNginxSecurityHeaders(stream.headers);
      } finally {
        stream.close();
      }
    }
  );

  it('streams a slow POST answer event by event and ends it with chunked framing on a kept-alive connection', async () => {
    const agent = new Agent({ keepAlive: true });
    onTestFinished(() => agent.destroy());
    const stream = await openStream(target, { path: '/demo/mcp', method: 'POST', body: '{}', agent });
    await stream.waitFor(text => text.includes('"progress"'), 1_000);
    expect(stream.text()).not.toContain('"result"');
    await stream.ended;
    expect(stream.text()).toContain('"result":2');
    expect(stream.chunks.at(-1)!.atMs - stream.chunks[0]!.atMs).toBeGreaterThanOrEqual(300);
    expect(stream.headers).toMatchObject({ 'transfer-encoding': 'chunked', connection: 'keep-alive' });
  });

  it("passes paths and query strings unchanged, with forwarded headers and no client's path prefix", async () => {
    const paths = [
      '/demo/authorize?client_id=c1',
      '/production/messages?sessionId=s1',
      '/.well-known/oauth-protected-resource/demo/mcp',
      '/healthz'
    ];
    for (const path of paths) {
      const method = path.includes('messages') ? 'POST' : 'GET';
      const headers = {
        'x-forwarded-for': '203.0.113.7',
        'x-environment-path': '/production',
        'x-forwarded-prefix': '/production'
      };
      expect((await httpsRequest(target, { path, method, headers })).status).toBe(method === 'POST' ? 202 : 200);
    }
    expect(upstream.requests.map(r => `${r.path}${r.query}`)).toEqual(paths);
    for (const { headers } of upstream.requests) {
      expect(headers).toMatchObject({
        host: 'localhost',
        'x-forwarded-for': '203.0.113.7, 127.0.0.1',
        'x-forwarded-proto': 'https',
        'x-forwarded-host': 'localhost'
      });
      expect(headers['x-environment-path']).toBeUndefined();
      expect(headers['x-forwarded-prefix']).toBeUndefined();
      expect(headers.connection).toBeUndefined();
    }
  });

  it('reuses its connections to sqlbridge (upstream keepalive)', async () => {
    for (let i = 0; i < 3; i++) await httpsRequest(target, { path: '/demo/authorize' });
    expect(new Set(upstream.requests.map(r => r.remotePort)).size).toBe(1);
  });

  it("adds HSTS and the guide's headers once, and leaves CSP and Referrer-Policy to sqlbridge", async () => {
    const json = await httpsRequest(target, { path: '/demo/interaction/u1' });
    expect(json.status).toBe(200);
    expectNginxSecurityHeaders(json.headers);
    expect(json.headers['referrer-policy']).toBe(UPSTREAM_SECURITY_HEADERS['referrer-policy']);
    expect(json.headers['content-security-policy']).toBe(UPSTREAM_SECURITY_HEADERS['content-security-policy']);
  });

  it('answers 413 itself to a body over client_max_body_size (1m), with the security headers', async () => {
    const tooLarge = await httpsRequest(target, {
      path: '/demo/mcp',
      method: 'POST',
      body: 'x'.repeat(1024 * 1024 + 1)
    });
    expect(tooLarge.status).toBe(413);
    expectNginxSecurityHeaders(tooLarge.headers);
    const justFits = await httpsRequest(target, {
      path: '/demo/messages',
      method: 'POST',
      body: 'x'.repeat(1024 * 1024)
    });
    expect(justFits.status).toBe(202);
    expect(upstream.requests.map(r => r.path)).toEqual(['/demo/messages']);
  });

  it('logs each request without its query string', async () => {
    await httpsRequest(target, { path: '/demo/messages?sessionId=secret-session', method: 'POST' });
    await httpsRequest(target, { path: '/demo/authorize?code_challenge=secret-challenge' });
    const log = fixture.nginx.accessLog();
    expect(log).toContain('"POST /demo/messages HTTP/1.1" 202');
    expect(log).toContain('"GET /demo/authorize HTTP/1.1" 200');
    expect(log).not.toMatch(/secret|\?/);
  });
});
