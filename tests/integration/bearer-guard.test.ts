import { toWebRequest } from '@modelcontextprotocol/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearerGuard } from '../../src/auth/resource/bearer-guard.ts';
import { hashPassword } from '../../src/auth/server/passwords.ts';
import { startAuthStack, type AuthStack } from '../helpers/auth-stack.ts';
import { authorizationUrl, pkce, redeemCode, registerClient } from '../helpers/oauth-client.ts';
import { signIn, type Credentials } from '../helpers/oauth-login.ts';
import { createSqliteFixture } from '../helpers/sqlite-fixture.ts';

/**
 * The bearer guard in front of a route of the real HTTP server, with a token issued by the real
 * authorization server through its sign-in and consent pages: once the token is verified, the route
 * gets who it is for (`request.auth`) and no longer the token itself, neither in the request's headers
 * nor in the web Request the MCP SDK is handed; a refused token never reaches the route.
 */

const ALICE: Credentials = { username: 'alice', password: 'alice-correct-horse-battery' };
const ENV = 'lab';

let stack: AuthStack;
let base: string;
let token: string;
let reached = 0;

beforeAll(async () => {
  const database = createSqliteFixture();
  stack = await startAuthStack(
    'bearer-guard-',
    [
      'environments:',
      `  ${ENV}: { database: { engine: sqlite, path: ${JSON.stringify(database)} } }`,
      'auth:',
      '  users:',
      `    - { username: alice, passwordHash: "${await hashPassword(ALICE.password)}", environments: ["*"] }`
    ],
    (http, servers) => {
      // What a protected route receives, as the MCP endpoint's handler would.
      http.app.post(`/${ENV}/probe`, { onRequest: bearerGuard(servers, ENV, 'mcp') }, async request => {
        reached++;
        const webRequest = await toWebRequest(request.raw, {});
        return {
          clientId: request.auth?.clientId ?? null,
          header: request.headers.authorization ?? null,
          webHeader: webRequest.headers.get('authorization'),
          webHeaders: [...webRequest.headers.keys()]
        };
      });
    }
  );
  base = stack.base;
  const client = await registerClient(base, ENV, 'none');
  const { verifier, challenge } = pkce();
  const callback = await signIn(authorizationUrl(base, ENV, client, challenge, 'sql:read'), ALICE);
  const tokens = await redeemCode(base, ENV, client, callback.searchParams.get('code') ?? '', verifier);
  token = String(tokens.body['access_token']);
}, 60_000);

afterAll(async () => {
  await stack.close();
});

async function probe(authorization: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${base}/${ENV}/probe`, {
    method: 'POST',
    headers: { authorization, 'content-type': 'application/json', 'x-probe': 'kept' },
    body: '{}'
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('the bearer guard', () => {
  it('hands the route who the verified token is for, and the token no further', async () => {
    expect(token.split('.')).toHaveLength(3);
    for (let call = 0; call < 3; call++) {
      const { status, body } = await probe(`Bearer ${token}`);
      expect(status).toBe(200);
      expect(body['clientId']).toEqual(expect.any(String));
      expect(body['header']).toBeNull();
      expect(body['webHeader']).toBeNull();
      // Every other header still reaches the SDK.
      expect(body['webHeaders']).toEqual(expect.arrayContaining(['x-probe', 'content-type']));
      expect(JSON.stringify(body)).not.toContain(token.split('.')[2]);
    }
  });

  it('refuses a token whose signature belongs to another payload, even after the real one was verified', async () => {
    const before = reached;
    const [header, payload, signature] = token.split('.');
    const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString()) as Record<string, unknown>;
    const widened = Buffer.from(JSON.stringify({ ...claims, scope: 'sql:read sql:write' })).toString('base64url');
    const forged = await probe(`Bearer ${header}.${widened}.${signature}`);
    expect(forged.status).toBe(401);
    expect(reached).toBe(before);
    // The real token is still accepted afterwards.
    expect((await probe(`Bearer ${token}`)).status).toBe(200);
  });
});
