import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { request, type IncomingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { expect } from 'vitest';
import { hashPassword } from '../../src/auth/server/passwords.ts';
import type { Credentials } from './oauth-login.ts';
import type { RunningServer } from './server-process.ts';

/**
 * Requests as a reverse proxy, or someone forging one, sends them: every header exactly as given,
 * Host included, over a real socket from 127.0.0.1. Used by the forwarded-headers suites.
 */

export const PUBLIC = 'https://data.example.test';
export const CALLBACK = 'http://127.0.0.1:9/callback';
export const ALICE: Credentials = { username: 'alice', password: 'alice-correct-horse-battery' };
const verifier = randomBytes(32).toString('base64url');
/** A PKCE pair (RFC 7636, S256). */
export const PKCE = { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export type HeaderSet = Record<string, string>;

export interface RawRequest {
  method?: string;
  headers?: HeaderSet;
  body?: string;
}

export async function rawRequest(baseUrl: string, path: string, options: RawRequest = {}): Promise<RawResponse> {
  const base = new URL(baseUrl);
  const headers = { host: base.host, ...options.headers };
  return new Promise<RawResponse>((resolve, reject) => {
    const req = request(
      { host: base.hostname, port: base.port, path, method: options.method ?? 'GET', headers, timeout: 10_000 },
      res => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', reject);
      }
    );
    req.on('timeout', () => req.destroy(new Error(`${path}: no answer within 10 s`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

/** An MCP initialize request without a token, which the bearer guard answers 401. */
export const INITIALIZE: RawRequest = {
  method: 'POST',
  headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
  body: JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'forwarded', version: '1' } }
  })
};

export function withHeaders(base: RawRequest, headers: Record<string, string>): RawRequest {
  return { ...base, headers: { ...base.headers, ...headers } };
}

/**
 * A server config with OAuth: the demo database as `demo`, a SQLite file as `other`, the public URL
 * of a TLS-terminating proxy and the given trusted proxies.
 */
export async function writeSharedConfig(dir: string, trustProxy: readonly string[]): Promise<string> {
  const other = join(dir, 'other.db');
  const db = new DatabaseSync(other);
  db.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)');
  db.close();
  const path = join(dir, 'sqlbridge.yaml');
  writeFileSync(
    path,
    [
      'server:',
      `  publicUrl: ${PUBLIC}`,
      `  trustProxy: ${JSON.stringify(trustProxy)}`,
      'environments:',
      '  demo:',
      '    database: { engine: demo, liveFeed: false }',
      '  other:',
      `    database: { engine: sqlite, path: ${JSON.stringify(other)} }`,
      'auth:',
      '  grantCheckMs: 0',
      '  users:',
      `    - { username: alice, passwordHash: "${await hashPassword(ALICE.password)}", environments: [demo, other] }`,
      ''
    ].join('\n')
  );
  return path;
}

/** Registers a public client (RFC 7591) with the environment's authorization server. */
export async function registerClient(
  baseUrl: string,
  path: string,
  headers: Record<string, string> = {}
): Promise<string> {
  const response = await rawRequest(baseUrl, path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({
      client_name: 'forwarded-headers tests',
      redirect_uris: [CALLBACK],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none'
    })
  });
  expect(response.status, response.body).toBe(201);
  return (JSON.parse(response.body) as { client_id: string }).client_id;
}

/** The query of an authorization request for the resource. */
export function authorizeQuery(clientId: string, resource: string): string {
  return new URLSearchParams({
    client_id: clientId,
    response_type: 'code',
    redirect_uri: CALLBACK,
    code_challenge: PKCE.challenge,
    code_challenge_method: 'S256',
    state: 'forwarded-state',
    scope: 'sql:read',
    resource
  }).toString();
}

/**
 * The sign-in redirect of an authorization request, resolved against the public URL, with the
 * interaction id (new on every request) and cookie values replaced, so two answers compare equal.
 */
export function signInRedirect(response: RawResponse): { location: string; cookies: string[] } {
  expect(response.status, response.body).toBe(303);
  const location = new URL(response.headers.location ?? '', PUBLIC);
  const uid = /^\/[a-z]+\/interaction\/([\w-]+)$/.exec(location.pathname)?.[1];
  expect(uid, location.href).toBeDefined();
  const normal = (text: string) => text.replaceAll(uid ?? '', '<uid>');
  return {
    location: normal(location.href),
    cookies: (response.headers['set-cookie'] ?? []).map(line =>
      normal(line)
        .replace(/=[^;]*;/, '=<value>;')
        .replace(/expires=[^;]*/i, 'expires=<date>')
    )
  };
}

/** Every absolute URL in a JSON document. */
export function urlsIn(value: unknown): string[] {
  if (typeof value === 'string') return /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? [value] : [];
  if (Array.isArray(value)) return value.flatMap(urlsIn);
  if (typeof value === 'object' && value !== null) return Object.values(value).flatMap(urlsIn);
  return [];
}

/** A 200 JSON document whose every URL is on the public URL. */
export function publicDocument(response: RawResponse, label: string): Record<string, unknown> {
  expect(response.status, `${label}: ${response.body}`).toBe(200);
  const document = JSON.parse(response.body) as Record<string, unknown>;
  const urls = urlsIn(document);
  expect(urls.length, label).toBeGreaterThan(0);
  for (const url of urls) expect(url.startsWith(`${PUBLIC}/`), `${label}: ${url}`).toBe(true);
  return document;
}

/** The `address` of the request log line of a probe sent with the given headers. */
export async function loggedAddress(server: RunningServer, headers: Record<string, string>): Promise<unknown> {
  const path = `/probe-${randomUUID()}`;
  expect((await rawRequest(server.baseUrl, path, { headers })).status).toBe(404);
  return (await server.logLine(entry => entry['msg'] === 'request' && entry['path'] === path))['address'];
}
