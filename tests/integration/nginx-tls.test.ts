import { writeFileSync, mkdirSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { connect, type ConnectionOptions } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NginxSandbox } from '../helpers/nginx.ts';
import { sharedNginxBeforeRecorder, type SharedNginxFixture } from '../helpers/nginx-fixture.ts';

/** The rendered site's TLS listener and its port-80 server, through a real nginx on loopback. */

type Handshake = { protocol: string | null; cipher: string; alpn: string | false | null } | { error: string };

describe('nginx TLS and port 80', () => {
  let fixture: SharedNginxFixture;
  let sandbox: NginxSandbox;

  beforeAll(async () => {
    fixture = await sharedNginxBeforeRecorder(['demo']);
    sandbox = fixture.sandbox;
  });

  afterAll(async () => {
    await fixture.stop();
  });

  function handshake(options: ConnectionOptions): Promise<Handshake> {
    return new Promise(resolve => {
      const socket = connect({
        host: '127.0.0.1',
        port: sandbox.httpsPort,
        servername: 'localhost',
        ca: sandbox.certificate.pem,
        ALPNProtocols: ['h2', 'http/1.1'],
        timeout: 5_000,
        ...options
      });
      socket.once('secureConnect', () => {
        resolve({ protocol: socket.getProtocol(), cipher: socket.getCipher().name, alpn: socket.alpnProtocol });
        socket.end();
      });
      socket.once('timeout', () => socket.destroy(new Error('handshake timed out')));
      socket.once('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
    });
  }

  it('accepts TLS 1.2 and 1.3, with an ECDHE AEAD suite and HTTP/2', async () => {
    expect(await handshake({ minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' })).toEqual({
      protocol: 'TLSv1.2',
      cipher: expect.stringMatching(/^ECDHE-RSA-(AES\d+-GCM-SHA\d+|CHACHA20-POLY1305)$/),
      alpn: 'h2'
    });
    expect(await handshake({ minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' })).toMatchObject({
      protocol: 'TLSv1.3',
      alpn: 'h2'
    });
  });

  it('refuses TLS 1.1, DHE and CBC suites with an alert of its own', async () => {
    // SECLEVEL=0 lets this client offer TLS 1.1 at all, so the refusal is the server's (alert 70, protocol_version).
    const tls11 = { minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' } as const;
    expect(await handshake(tls11)).toEqual({ error: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION' });
    for (const ciphers of ['DHE-RSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-SHA', 'AES128-GCM-SHA256']) {
      expect(await handshake({ maxVersion: 'TLSv1.2', ciphers })).toEqual({
        error: 'ERR_SSL_SSL/TLS_ALERT_HANDSHAKE_FAILURE'
      });
    }
  });

  it('redirects plain HTTP to https and serves ACME challenges from the webroot', async () => {
    const challenges = join(sandbox.siteOptions.acmeWebroot!, '.well-known', 'acme-challenge');
    mkdirSync(challenges, { recursive: true });
    writeFileSync(join(challenges, 'token-1'), 'token-1.key-authorization');
    const fetchPlain = (path: string) =>
      new Promise<{ status: number; location?: string; body: string }>((resolve, reject) => {
        get(
          { host: '127.0.0.1', port: sandbox.httpPort, path, headers: { host: 'localhost' }, timeout: 5_000 },
          res => {
            let body = '';
            res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
            res.once('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location, body }));
          }
        ).once('error', reject);
      });
    expect(await fetchPlain('/demo/mcp?probe=1')).toMatchObject({
      status: 301,
      location: `https://localhost:${sandbox.httpsPort}/demo/mcp?probe=1`
    });
    expect(await fetchPlain('/.well-known/acme-challenge/token-1')).toMatchObject({
      status: 200,
      body: 'token-1.key-authorization'
    });
    expect(fixture.upstream.requests).toEqual([]);
  });
});
