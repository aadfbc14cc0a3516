import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/auth/server/passwords.ts';
import { demoDataDir } from '../helpers/data-dir.ts';
import { ALICE, CALLBACK, rawRequest } from '../helpers/forwarded.ts';
import { startServer, type RunningServer } from '../helpers/server-process.ts';

/**
 * An environment's authorization server answers under `/<environment>` spelled exactly as
 * configured. The HTTP layer's policies (the registration rate limit, CORS, the Origin check) look
 * at the path as sent, so another spelling of the same prefix (other letter case, percent-encoded
 * letters) must not reach the authorization server past them.
 */

let server: RunningServer;

beforeAll(async () => {
  const dir = demoDataDir();
  const config = join(dir, 'sqlbridge.yaml');
  writeFileSync(
    config,
    [
      'environments:',
      '  demo:',
      '    database: { engine: demo, liveFeed: false }',
      'auth:',
      '  maxRegistrationsPerHour: 2',
      '  users:',
      `    - { username: alice, passwordHash: "${await hashPassword(ALICE.password)}", environments: [demo] }`,
      ''
    ].join('\n')
  );
  server = await startServer({ args: ['serve', '--config', config, '--data-dir', dir] });
}, 60_000);

afterAll(async () => {
  await server.stop();
});

const register = async (path: string): Promise<number> =>
  (
    await rawRequest(server.baseUrl, path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        client_name: 'spelling',
        redirect_uris: [CALLBACK],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'none'
      })
    })
  ).status;

describe('the path of an environment', () => {
  it('is not a way around the registration limit when spelled differently (/DEMO, /Demo, /%64emo)', async () => {
    expect([await register('/demo/register'), await register('/demo/register')]).toEqual([201, 201]);
    expect(await register('/demo/register')).toBe(429);
    for (const path of ['/DEMO/register', '/Demo/register', '/%64emo/register']) {
      // Refused as over the limit, or not found: anything but a registered client.
      expect([404, 429], path).toContain(await register(path));
    }
  });
});
