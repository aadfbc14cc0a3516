import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, ProtocolError, StreamableHTTPClientTransport, UnauthorizedError } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/auth/server/passwords.ts';
import { emptyDir } from '../helpers/data-dir.ts';
import { createMariadbRoles, createPostgresRoles, type RolesFixture } from '../helpers/database-roles.ts';
import { signIn, TestOAuthProvider, type Credentials } from '../helpers/oauth-login.ts';
import { startServer, type RunningServer } from '../helpers/server-process.ts';

/**
 * Table resources follow the caller's database role, through the real server and the real OAuth
 * flow on PostgreSQL and MariaDB: a table the role cannot read is absent from resources/list and
 * from completions, reading it answers exactly like a missing table, a table's description shows
 * only the columns the role may read, and a person whose groups map to no role is refused.
 */

const ANA: Credentials = { username: 'ana', password: 'ana-correct-horse-battery' };
const BEN: Credentials = { username: 'ben', password: 'ben-correct-horse-battery' };
const CY: Credentials = { username: 'cy', password: 'cy-correct-horse-battery' };

let server: RunningServer | undefined;
let pgFixture: RolesFixture | undefined;
let mariaFixture: RolesFixture | undefined;
const clients: Client[] = [];

beforeAll(async () => {
  const dir = emptyDir('resources-roles-');
  pgFixture = await createPostgresRoles();
  mariaFixture = await createMariadbRoles();
  const access = (f: RolesFixture): string =>
    `    access: { roles: { analysts: ${f.reporting}, finance: ${f.finance} }, default: none }`;
  const user = async (who: Credentials, groups: string): Promise<string> =>
    `    - { username: ${who.username}, passwordHash: "${await hashPassword(who.password)}", environments: [pg, maria], groups: ${groups} }`;
  const config = join(dir, 'sqlbridge.yaml');
  writeFileSync(
    config,
    [
      'environments:',
      '  pg:',
      `    database: ${pgFixture.yaml}`,
      access(pgFixture),
      '  maria:',
      `    database: ${mariaFixture.yaml}`,
      access(mariaFixture),
      'auth:',
      '  users:',
      await user(ANA, '[analysts]'),
      await user(BEN, '[finance]'),
      await user(CY, '[visitors]'),
      ''
    ].join('\n')
  );
  server = await startServer({ args: ['serve', '--config', config, '--data-dir', dir] });
}, 120_000);

afterAll(async () => {
  for (const client of clients) await client.close().catch(() => undefined);
  await server?.stop();
  await pgFixture?.drop();
  await mariaFixture?.drop();
}, 60_000);

async function signedIn(person: Credentials, environment: string): Promise<Client> {
  const url = new URL(`${server?.baseUrl ?? ''}/${environment}/mcp`);
  const provider = new TestOAuthProvider(authorization => signIn(authorization, person));
  const first = new StreamableHTTPClientTransport(url, { authProvider: provider });
  await expect(new Client({ name: 'resources-roles', version: '1' }).connect(first)).rejects.toBeInstanceOf(
    UnauthorizedError
  );
  const callback = provider.callback;
  if (callback === undefined) throw new Error('the client was never sent to sign in');
  await first.finishAuth(callback.searchParams);
  const client = new Client({ name: 'resources-roles', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(url, { authProvider: provider }));
  clients.push(client);
  return client;
}

const TARGETS = [
  { environment: 'pg', name: 'PostgreSQL', schema: () => 'public' },
  { environment: 'maria', name: 'MariaDB', schema: () => mariaFixture?.database ?? '' }
];

for (const target of TARGETS) {
  describe(`${target.name}: resources under the caller's role`, () => {
    const uri = (table: string): string => `sqlbridge://${target.environment}/${target.schema()}/${table}`;

    async function listed(client: Client): Promise<string[]> {
      return (await client.listResources()).resources.map(r => r.uri).sort();
    }

    it('lists and reads only what the role may read; a hidden table reads like a missing one', async () => {
      const ana = await signedIn(ANA, target.environment);
      const uris = await listed(ana);
      expect(uris).toContain(uri('orders'));
      expect(uris).not.toContain(uri('salaries'));
      const orders = JSON.stringify((await ana.readResource({ uri: uri('orders') })).contents);
      expect(orders).toContain(`Table ${target.schema()}.orders`);
      expect(orders).toContain('amount');
      // Only the columns the role may read (column grants: id, region, amount).
      expect(orders).not.toContain('customer_email');
      const answers: unknown[] = [];
      for (const table of ['salaries', 'no_such_table']) {
        const error = await ana.readResource({ uri: uri(table) }).then(
          () => undefined,
          (e: unknown) => e
        );
        expect(error, table).toBeInstanceOf(ProtocolError);
        const { code, message } = error as ProtocolError;
        answers.push({ code, message: message.replace(table, '<table>') });
      }
      expect(answers[0]).toEqual(answers[1]);
      const completion = await ana.complete({
        ref: { type: 'ref/resource', uri: `sqlbridge://${target.environment}/{schema}/{table}` },
        argument: { name: 'table', value: 's' }
      });
      expect(completion.completion.values).not.toContain('salaries');
    });

    it('shows another role its own tables', async () => {
      const ben = await signedIn(BEN, target.environment);
      expect(await listed(ben)).toEqual(expect.arrayContaining([uri('orders'), uri('salaries')]));
      const salaries = JSON.stringify((await ben.readResource({ uri: uri('salaries') })).contents);
      expect(salaries).toContain('employee');
    });

    it('refuses a person whose groups map to no role, saying so', async () => {
      const cy = await signedIn(CY, target.environment);
      await expect(cy.request({ method: 'resources/list', params: {} })).rejects.toThrow(/role/);
      await expect(cy.readResource({ uri: uri('orders') })).rejects.toThrow(/role/);
    });
  });
}
