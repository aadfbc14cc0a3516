import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoDataDir } from '../helpers/data-dir.ts';
import { startServer, type RunningServer } from '../helpers/server-process.ts';
import { headOnRawSocket } from '../helpers/sse.ts';

/**
 * HTTP edge cases of the demo with OAuth on: dynamic client registration says exactly why a redirect
 * URI is refused (and which setting allows more), and HEAD on the OAuth documents sends no body.
 */

let server: RunningServer;

beforeAll(async () => {
  server = await startServer({ args: ['demo', '--data-dir', demoDataDir()] });
});

afterAll(async () => {
  await server.stop();
});

async function register(redirectUris: string[]): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${server.baseUrl}/demo/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      client_name: 'http-edge',
      redirect_uris: redirectUris,
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none'
    })
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('dynamic client registration', () => {
  it('refuses a redirect URI on a host that is not allowed, naming the host and auth.allowedRedirectHosts', async () => {
    const { status, body } = await register(['https://evil.example/cb']);
    expect(status).toBe(400);
    expect(body['error']).toBe('invalid_redirect_uri');
    expect(body['error_description']).toContain('evil.example');
    expect(body['error_description']).toContain('auth.allowedRedirectHosts');
  });

  it.each([
    ['plain http beyond loopback', ['http://claude.ai/api/mcp/auth_callback'], /not https/],
    ['a fragment', ['http://127.0.0.1:9/callback#section'], /fragment/],
    [
      'too many redirect URIs',
      Array.from({ length: 11 }, (_, i) => `http://127.0.0.1:${9000 + i}/callback`),
      /at most 10/
    ],
    ['credentials in the URI', ['http://user:secret@127.0.0.1:9/callback'], /credentials/],
    ['a relative URI', ['/callback'], /not an absolute URL/]
  ])('refuses %s and says what is wrong', async (_name, uris, reason) => {
    const { status, body } = await register(uris);
    expect(status).toBe(400);
    expect(body['error']).toBe('invalid_redirect_uri');
    expect(String(body['error_description'])).toMatch(reason);
  });

  it('control: registers a loopback redirect URI', async () => {
    const { status, body } = await register(['http://127.0.0.1:9/callback']);
    expect(status).toBe(201);
    expect(body['client_id']).toEqual(expect.any(String));
  });

  it("gives the authorization server's own answers the HTTP layer's security and CORS headers", async () => {
    const response = await fetch(`${server.baseUrl}/demo/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'http://localhost:6274' },
      body: JSON.stringify({ redirect_uris: ['http://127.0.0.1:9/callback'], token_endpoint_auth_method: 'none' })
    });
    expect(response.status).toBe(201);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('x-frame-options')).toBe('DENY');
  });
});

describe('HEAD with OAuth on', () => {
  it.each([
    '/.well-known/oauth-protected-resource/demo/mcp',
    '/.well-known/oauth-protected-resource/demo/sse',
    '/demo/mcp',
    '/demo/sse'
  ])('answers HEAD %s without body bytes and without holding the connection', async path => {
    const { head, after } = await headOnRawSocket(server.baseUrl, path);
    expect(head).toMatch(/^HTTP\/1\.1 \d{3} /);
    expect(after).toMatch(/^HTTP\/1\.1 200 /);
    // The pipelined GET /healthz answered in full: its JSON body is the last thing on the socket.
    expect(after).toMatch(/\r\n\r\n\{"status":"ok","audit":\{.*\}\}$/);
  });
});
