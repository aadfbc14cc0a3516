import type { IncomingMessage, ServerResponse } from 'node:http';
import { auth, Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/auth/server/passwords.ts';
import { startAuthStack, type AuthStack } from '../helpers/auth-stack.ts';
import { signIn, TestOAuthProvider, type Credentials } from '../helpers/oauth-login.ts';
import { createSqliteFixture } from '../helpers/sqlite-fixture.ts';

/**
 * Every request the server answers ends with the same own properties on Node's request object, and
 * every response on Node's response object, whatever answered it: an MCP call, the authorization
 * server (through @fastify/middie and Koa), a sign-in page, metadata, a path no route serves.
 * Properties added to some of them only would give those objects hidden classes of their own, and
 * V8 would then look properties up the slow, megamorphic way in the code every request runs
 * (src/http/raw-messages.ts). The sign-in here is a real one, through the official client SDK.
 */

const ALICE: Credentials = { username: 'alice', password: 'alice-correct-horse-battery' };
const ENVIRONMENTS = ['lab', 'lab2'];

interface Seen {
  request: string;
  req: string[];
  res: string[];
}

let stack: AuthStack;
const seen: Seen[] = [];

/** A request's own properties once it has been answered, in the order they were added. */
function record(req: IncomingMessage, res: ServerResponse): void {
  const request = `${req.method ?? ''} ${(req.url ?? '').replace(/\?.*/s, '')}`;
  res.once('finish', () => {
    setImmediate(() => {
      seen.push({ request, req: Reflect.ownKeys(req).map(String), res: Reflect.ownKeys(res).map(String) });
    });
  });
}

beforeAll(async () => {
  const database = createSqliteFixture();
  stack = await startAuthStack(
    'raw-shapes-',
    [
      'environments:',
      ...ENVIRONMENTS.map(name => `  ${name}: { database: { engine: sqlite, path: ${JSON.stringify(database)} } }`),
      'auth:',
      '  users:',
      `    - { username: alice, passwordHash: "${await hashPassword(ALICE.password)}", environments: ["*"] }`
    ],
    http => {
      http.app.server.on('request', record);
    }
  );
}, 60_000);

afterAll(async () => {
  await stack.close();
});

async function signInAndCall(environment: string): Promise<void> {
  const serverUrl = new URL(`${stack.base}/${environment}/mcp`);
  const provider = new TestOAuthProvider(url => signIn(url, ALICE));
  expect(await auth(provider, { serverUrl })).toBe('REDIRECT');
  const callback = provider.callback;
  if (callback === undefined) throw new Error('the client was never sent to sign in');
  const code = callback.searchParams.get('code') ?? '';
  expect(
    await auth(provider, { serverUrl, authorizationCode: code, iss: callback.searchParams.get('iss') ?? '' })
  ).toBe('AUTHORIZED');
  const client = new Client({ name: 'raw-shapes', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(serverUrl, { authProvider: provider }));
  const result = await client.callTool({ name: 'execute_sql', arguments: { query: 'SELECT 1 AS one' } });
  expect(result.isError, JSON.stringify(result.content)).not.toBe(true);
  await client.close();
}

describe("Node's request and response objects", () => {
  it('have the same own properties for every request, whatever answered it', async () => {
    for (const environment of ENVIRONMENTS) await signInAndCall(environment);
    expect((await fetch(`${stack.base}/`)).status).toBe(200);
    expect((await fetch(`${stack.base}/lab/nothing-here`)).status).toBe(404);
    // The answers are recorded once they are finished.
    await new Promise(resolve => setTimeout(resolve, 100));

    const requests = new Set(seen.map(entry => entry.request.replace(/\/(interaction|authorize)\/[^/]+/, '/$1/…')));
    // Everything a sign-in passes through, in each environment, and the calls after it.
    for (const environment of ENVIRONMENTS) {
      for (const expected of [
        `GET /.well-known/oauth-protected-resource/${environment}/mcp`,
        `GET /.well-known/oauth-authorization-server/${environment}`,
        `POST /${environment}/register`,
        `GET /${environment}/authorize`,
        `GET /${environment}/interaction/…`,
        `POST /${environment}/interaction/…/login`,
        `GET /${environment}/authorize/…`,
        `POST /${environment}/token`,
        `POST /${environment}/mcp`
      ]) {
        expect(requests).toContain(expected);
      }
    }
    const first = seen[0];
    if (first === undefined) throw new Error('no request was recorded');
    for (const entry of seen) {
      expect(entry.req, `the request object of ${entry.request}`).toEqual(first.req);
      expect(entry.res, `the response object of ${entry.request}`).toEqual(first.res);
    }
  }, 60_000);
});
