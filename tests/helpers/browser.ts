import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer as createHttpServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

/**
 * What a browser test needs around the server: a real Chromium, a self-signed certificate for
 * loopback, a TLS-terminating proxy in front of sqlbridge (which serves plain HTTP and learns its
 * https public URL from configuration, as behind any proxy), a client's redirect URI that records
 * what it receives, PKCE, and https requests from Node that trust the test's certificate.
 */

export const CHROMIUM = '/usr/bin/chromium';

/** Chromium, headless; throws (so the suite fails rather than skips) when it is not installed. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: the browser tests need Chromium installed`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync'
    ],
    timeout: 20_000
  });
}

export interface Certificate {
  key: Buffer;
  cert: Buffer;
  certPath: string;
}

/** A self-signed P-256 certificate for 127.0.0.1, valid a day. */
export function loopbackCertificate(dir: string): Certificate {
  const keyPath = join(dir, 'key.pem');
  const certPath = join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1'],
      ...['-keyout', keyPath, '-out', certPath],
      ...['-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1']
    ],
    { stdio: 'ignore' }
  );
  return { key: readFileSync(keyPath), cert: readFileSync(certPath), certPath };
}

export interface TlsProxy {
  /** https://127.0.0.1:<port> */
  origin: string;
  /** Where requests go: the server's plain HTTP origin, known only once it has started. */
  upstream: string | undefined;
  close(): Promise<void>;
}

/** An https server on loopback passing every request to `upstream`, as a TLS-terminating proxy does. */
export async function startTlsProxy(certificate: Certificate): Promise<TlsProxy> {
  const proxy: TlsProxy = { origin: '', upstream: undefined, close: async () => undefined };
  const server = createHttpsServer({ key: certificate.key, cert: certificate.cert }, (req, res) => {
    if (proxy.upstream === undefined) {
      res.writeHead(502).end('no upstream yet');
      return;
    }
    const target = new URL(req.url ?? '/', proxy.upstream);
    const forwarded = httpRequest(
      target,
      {
        method: req.method,
        headers: {
          ...req.headers,
          'x-forwarded-proto': 'https',
          'x-forwarded-for': req.socket.remoteAddress ?? '127.0.0.1'
        }
      },
      upstream => {
        res.writeHead(upstream.statusCode ?? 502, upstream.headers);
        upstream.pipe(res);
      }
    );
    forwarded.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(forwarded);
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  proxy.origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = () =>
    new Promise<void>(resolve => {
      server.closeAllConnections();
      server.close(() => {
        resolve();
      });
    });
  return proxy;
}

export interface CallbackServer {
  /** http://127.0.0.1:<port>/callback */
  redirectUri: string;
  /** Every URL the browser was sent to, in order. */
  received: URL[];
  close(): Promise<void>;
}

/** A native application's redirect URI on loopback: records the query and shows a plain page. */
export async function startCallbackServer(): Promise<CallbackServer> {
  const received: URL[] = [];
  let origin = '';
  const server = createHttpServer((req, res) => {
    const url = new URL(req.url ?? '/', origin);
    if (url.pathname !== '/callback') {
      res.writeHead(404).end();
      return;
    }
    received.push(url);
    res
      .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
      .end('<!doctype html><title>Back in the application</title><p>You can close this window.</p>');
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    redirectUri: `${origin}/callback`,
    received,
    close: () =>
      new Promise<void>(resolve => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      })
  };
}

export interface Pkce {
  verifier: string;
  challenge: string;
}

/** A PKCE verifier and its S256 challenge (RFC 7636 4.1, 4.2). */
export function pkce(): Pkce {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export interface HttpsResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** An https request from Node trusting `ca` (the test's self-signed certificate), with a time limit. */
export function httpsFetch(
  url: string,
  options: { ca: Buffer; method?: string; headers?: Record<string, string>; body?: string; timeoutMs?: number }
): Promise<HttpsResponse> {
  return new Promise<HttpsResponse>((resolve, reject) => {
    const req = httpsRequest(
      url,
      {
        method: options.method ?? 'GET',
        ca: options.ca,
        headers: options.headers ?? {},
        timeout: options.timeoutMs ?? 10_000
      },
      res => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
        });
        res.on('error', reject);
      }
    );
    req.on('timeout', () => req.destroy(new Error(`${url} did not answer in time`)));
    req.on('error', reject);
    req.end(options.body);
  });
}
