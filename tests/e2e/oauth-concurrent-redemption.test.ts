import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/auth/server/passwords.ts';
import { startAuthStack, type AuthStack } from '../helpers/auth-stack.ts';
import {
  authorizationUrl,
  pkce,
  redeemCode,
  refresh,
  registerClient,
  type Answer,
  type OAuthClient
} from '../helpers/oauth-client.ts';
import { initializeStatus } from '../helpers/mcp-connect.ts';
import { signIn, type Credentials } from '../helpers/oauth-login.ts';
import { deletePrefix, redisUrl, uniquePrefix } from '../helpers/redis.ts';
import { createSqliteFixture } from '../helpers/sqlite-fixture.ts';

/**
 * One authorization code, or one refresh token, sent to the token endpoint by many requests at the
 * same moment (a client retrying, or an attacker racing it with a stolen code and verifier): exactly
 * one gets tokens, every other one is a replay, and a replay revokes the grant with every token it
 * issued, the winner's included. With each storage: SQLite (the default) and Redis, where the
 * requests' reads and writes interleave on the network.
 */

const ALICE: Credentials = { username: 'alice', password: 'alice-correct-horse-battery' };
const ENV = 'lab';
const RACERS = 12;

const STORAGES = [
  { name: 'SQLite storage', prefix: undefined },
  { name: 'Redis storage', prefix: uniquePrefix('race') }
];

describe.each(STORAGES)('$name', ({ prefix }) => {
  let stack: AuthStack;
  let base: string;

  beforeAll(async () => {
    stack = await startAuthStack('oauth-race-', [
      'environments:',
      `  ${ENV}: { database: { engine: sqlite, path: ${JSON.stringify(createSqliteFixture())} } }`,
      'auth:',
      '  grantCheckMs: 0',
      ...(prefix === undefined ? [] : [`  storage: "${redisUrl(prefix)}"`]),
      '  users:',
      `    - { username: alice, passwordHash: "${await hashPassword(ALICE.password)}", environments: ["*"] }`
    ]);
    base = stack.base;
  }, 60_000);

  afterAll(async () => {
    await stack.close();
    if (prefix !== undefined) await deletePrefix(prefix);
  });

  async function signedIn(): Promise<{ client: OAuthClient; code: string; verifier: string }> {
    const client = await registerClient(base, ENV, 'none');
    const { verifier, challenge } = pkce();
    const callback = await signIn(authorizationUrl(base, ENV, client, challenge, 'sql:read'), ALICE);
    return { client, code: callback.searchParams.get('code') ?? '', verifier };
  }

  /** Whether the access token still opens the MCP endpoint (an initialize request). */
  const accepted = async (accessToken: string): Promise<boolean> =>
    (await initializeStatus(base, ENV, accessToken)) === 200;

  const winners = (answers: Answer[]): Answer[] => answers.filter(answer => answer.status === 200);

  it('redeems a code once: one request gets tokens, the others are replays that revoke them', async () => {
    const { client, code, verifier } = await signedIn();
    const answers = await Promise.all(
      Array.from({ length: RACERS }, async () => redeemCode(base, ENV, client, code, verifier))
    );
    const won = winners(answers);
    expect(won).toHaveLength(1);
    for (const answer of answers.filter(a => a.status !== 200)) {
      expect(answer.status).toBe(400);
      expect(answer.body['error']).toBe('invalid_grant');
    }
    const tokens = won[0]?.body ?? {};
    expect(await accepted(String(tokens['access_token']))).toBe(false);
    const refreshed = await refresh(base, ENV, client, String(tokens['refresh_token']));
    expect(refreshed.body['error']).toBe('invalid_grant');
  });

  it('rotates a refresh token once: one request gets the next one, the others revoke the grant', async () => {
    const { client, code, verifier } = await signedIn();
    const first = await redeemCode(base, ENV, client, code, verifier);
    expect(first.status).toBe(200);
    const refreshToken = String(first.body['refresh_token']);
    const answers = await Promise.all(
      Array.from({ length: RACERS }, async () => refresh(base, ENV, client, refreshToken))
    );
    const won = winners(answers);
    expect(won).toHaveLength(1);
    for (const answer of answers.filter(a => a.status !== 200)) expect(answer.body['error']).toBe('invalid_grant');
    const next = await refresh(base, ENV, client, String(won[0]?.body['refresh_token']));
    expect(next.body['error']).toBe('invalid_grant');
  });

  it('still redeems a code that only one request sends, and its tokens work', async () => {
    const { client, code, verifier } = await signedIn();
    const answer = await redeemCode(base, ENV, client, code, verifier);
    expect(answer.status).toBe(200);
    expect(await accepted(String(answer.body['access_token']))).toBe(true);
    const rotated = await refresh(base, ENV, client, String(answer.body['refresh_token']));
    expect(rotated.status).toBe(200);
  });
});
