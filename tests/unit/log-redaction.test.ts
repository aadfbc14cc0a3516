import { PassThrough } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/auth/server/passwords.ts';
import { configSchema } from '../../src/config/schema.ts';
import { configuredSecrets, connectionStringPasswords, urlPasswords } from '../../src/config/secrets.ts';
import { createLogger, MIN_REDACTED_LENGTH, redactSecrets } from '../../src/observability/logger.ts';

/**
 * The configuration's secrets never reach a log line: registered once the configuration is loaded,
 * each is replaced wherever it appears in a line (message, field, error text, escaped or encoded);
 * named fields (passwords, client secrets, tokens, codes in request parameters) are removed by path
 * as before, now at more depths.
 */

function capture(): { logger: ReturnType<typeof createLogger>; text: () => string; lines: () => unknown[] } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  return {
    logger: createLogger('info', stream),
    text: () => text,
    lines: () =>
      text
        .split('\n')
        .filter(line => line !== '')
        .map(line => JSON.parse(line) as unknown)
  };
}

const SECRET = 'pg-Pa55word-4b1e9c';
/** A secret with the characters JSON escapes: a quote, a backslash, a newline. */
const AWKWARD = 'we"ird\\pass\nword-77';

describe('redaction by value', () => {
  it('removes a registered secret from messages, fields, errors and nested JSON, in every form', () => {
    const { logger, text, lines } = capture();
    redactSecrets(logger, [SECRET, AWKWARD]);
    logger.info(`connecting with ${SECRET}`);
    logger.info({ detail: { note: `password was ${SECRET}` } }, 'object field');
    logger.error({ err: new Error(`authentication failed for "${SECRET}"`) }, 'error message');
    logger.warn('format %s and %j', SECRET, { value: SECRET });
    logger.info({ body: JSON.stringify({ password2: AWKWARD, again: JSON.stringify({ p: AWKWARD }) }) }, 'escaped');
    logger.info({ awkward: AWKWARD }, AWKWARD);
    logger.info({ url: `postgres://app:${encodeURIComponent(AWKWARD)}@db/app` }, 'encoded');
    const output = text();
    expect(output).not.toContain(SECRET);
    const escape = (value: string): string => JSON.stringify(value).slice(1, -1);
    for (const form of [AWKWARD, escape(AWKWARD), escape(escape(escape(AWKWARD))), encodeURIComponent(AWKWARD)]) {
      expect(output).not.toContain(form);
    }
    // Still one valid JSON object per line, and each place a secret was says so: one in each line,
    // but two in the error (message and stack), the format string (%s and %j), the nested JSON (two
    // levels) and the line with it as field and message.
    expect(lines()).toHaveLength(7);
    expect(output.match(/\[redacted\]/g)).toHaveLength(11);
    expect(lines()[0]).toMatchObject({ msg: 'connecting with [redacted]' });
    expect(lines()[2]).toMatchObject({ err: { message: 'authentication failed for "[redacted]"' } });
    expect(lines()[6]).toMatchObject({ url: 'postgres://app:[redacted]@db/app' });
  });

  it('applies to children made before and after the secrets are registered', () => {
    const { logger, text } = capture();
    const before = logger.child({ environment: 'pg' });
    redactSecrets(logger, [SECRET]);
    const after = before.child({ request: 1 });
    before.info({ value: SECRET }, 'child made before');
    after.info(`grandchild ${SECRET}`);
    logger.child({}, { level: 'debug' }).debug(SECRET);
    expect(text()).not.toContain(SECRET);
    expect(text().match(/\[redacted\]/g)).toHaveLength(3);
  });

  it(`does not register values shorter than ${MIN_REDACTED_LENGTH} characters`, () => {
    const { logger, lines } = capture();
    redactSecrets(logger, ['admin', 'sa', '', 'x'.repeat(MIN_REDACTED_LENGTH - 1), 'abcdefgh']);
    logger.info('admin signed in as sa with xxxxxxx and abcdefgh');
    expect(lines()[0]).toMatchObject({ msg: 'admin signed in as sa with xxxxxxx and [redacted]' });
  });

  it('leaves a logger without registered secrets as it was', () => {
    const { logger, lines } = capture();
    logger.info({ value: SECRET }, 'nothing registered');
    expect(lines()[0]).toMatchObject({ value: SECRET });
  });

  it('refuses a logger it did not make', () => {
    expect(() => redactSecrets(pino({ level: 'silent' }), [SECRET])).toThrow(/createLogger/);
  });
});

describe('redaction by path', () => {
  it('removes named secrets at depth and keeps error codes', () => {
    const { logger, lines } = capture();
    logger.info(
      {
        password: 'p1-aaaaaa',
        config: { database: { password: 'p2-aaaaaa', connectionString: 'Server=x;Password=p3' } },
        client: { clientSecret: 'c1-aaaaaa', client_secret: 'c2-aaaaaa' },
        request: { body: { refresh_token: 'r1-aaaaaa', code: 'ac-aaaaaa', code_verifier: 'v1-aaaaaa' } },
        query: { code: 'ac-bbbbbb', state: 'kept' },
        headers: { authorization: 'Bearer t', cookie: 'sid=1' },
        users: [{ passwordHash: 'scrypt$…' }],
        code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
      },
      'paths'
    );
    expect(lines()[0]).toEqual(
      expect.objectContaining({
        password: '[redacted]',
        config: { database: { password: '[redacted]', connectionString: '[redacted]' } },
        client: { clientSecret: '[redacted]', client_secret: '[redacted]' },
        request: { body: { refresh_token: '[redacted]', code: '[redacted]', code_verifier: '[redacted]' } },
        query: { code: '[redacted]', state: 'kept' },
        headers: { authorization: '[redacted]', cookie: '[redacted]' },
        users: [{ passwordHash: '[redacted]' }],
        code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
      })
    );
  });
});

describe('redaction by field name', () => {
  it("never modifies the caller's objects, and keeps an error an error", () => {
    const { logger, lines } = capture();
    const failure = Object.assign(new Error('connect failed'), { password: 'p-aaaaaaa', code: 'ECONNREFUSED' });
    const logged = { err: failure, settings: { token: 't-aaaaaaa', cookies: ['a=1', 'b=2'] } };
    logger.error(logged, 'failed');
    expect(failure.password).toBe('p-aaaaaaa');
    expect(logged.settings.token).toBe('t-aaaaaaa');
    const [line] = lines();
    expect(line).toMatchObject({
      err: { message: 'connect failed', password: '[redacted]', code: 'ECONNREFUSED' },
      settings: { token: '[redacted]', cookies: ['a=1', 'b=2'] }
    });
    expect(String((line as { err?: { stack?: string } }).err?.stack)).toContain('connect failed');
  });

  it("removes a response's set-cookie, in a child's lines too", () => {
    const { logger, lines } = capture();
    logger.child({ requestId: 'r1' }).info({ res: { headers: { 'set-cookie': ['sid=1'], vary: 'origin' } } }, 'x');
    expect(lines()[0]).toMatchObject({
      requestId: 'r1',
      res: { headers: { 'set-cookie': '[redacted]', vary: 'origin' } }
    });
  });

  it('goes two levels down, as documented, and no further', () => {
    const { logger, lines } = capture();
    logger.info({ a: { b: { password: 'two-aaaaaa', c: { password: 'three-aaaa' } } } }, 'depth');
    expect(lines()[0]).toMatchObject({ a: { b: { password: '[redacted]', c: { password: 'three-aaaa' } } } });
  });
});

describe('the configuration’s secrets', () => {
  it('are every password, client secret and access token it holds, wherever it holds them', async () => {
    const passwordHash = await hashPassword('a user password');
    const config = configSchema.parse({
      environments: {
        pg: {
          database: { engine: 'postgres', url: 'postgres://app:url%2Fpass-1@db:5432/app', password: 'discrete-pg-1' }
        },
        my: { database: { engine: 'mysql', url: 'mysql://app:mysql-url-pass@db/app' } },
        ms: {
          database: {
            engine: 'mssql',
            connectionString: 'Server=db;User Id=app;Pwd={ado;pass}}word};',
            clientSecret: 'entra-client-secret-1',
            accessToken: 'entra-access-token-1'
          }
        },
        ms2: { database: { engine: 'mssql', host: 'db', user: 'sa', password: 'discrete-ms-1' } }
      },
      auth: {
        clients: [
          { clientId: 'app', clientSecret: 'c'.repeat(40), redirectUris: ['https://app.example/cb'] },
          { clientId: 'public', redirectUris: ['https://app.example/cb'] }
        ],
        users: [{ username: 'ana', passwordHash, environments: ['*'] }],
        federation: {
          providers: [
            {
              id: 'corp',
              name: 'Corp',
              issuer: 'https://login.example.com',
              clientId: 'sqlbridge',
              clientSecret: 'federation-client-secret-1'
            }
          ]
        }
      },
      audit: { database: { engine: 'postgres', url: 'postgres://audit:audit-url-pass@db/audit' } }
    });
    expect(configuredSecrets(config).sort()).toEqual(
      [
        'discrete-pg-1',
        'url%2Fpass-1',
        'url/pass-1',
        'mysql-url-pass',
        'ado;pass}word',
        'entra-client-secret-1',
        'entra-access-token-1',
        'discrete-ms-1',
        'c'.repeat(40),
        'federation-client-secret-1',
        passwordHash,
        'audit-url-pass'
      ].sort()
    );
  });

  it('are found in URLs and connection strings as drivers read them', () => {
    expect(urlPasswords('postgres://u:p%40ss@h/db')).toEqual(['p%40ss', 'p@ss']);
    expect(urlPasswords('postgres://u:p@ss@h/db')).toEqual(['p@ss']);
    expect(urlPasswords('postgres://u@h/db')).toEqual([]);
    expect(urlPasswords('postgres://h/db')).toEqual([]);
    expect(urlPasswords('postgres://u:%zz@h/db')).toEqual(['%zz']);
    // An unencoded `/` makes drivers read a port and a path, which their errors then show.
    expect(urlPasswords('postgres://app:4242/SlashTail@127.0.0.1:5432/test')).toEqual(['4242/SlashTail']);
    expect(urlPasswords('postgres://u@h/db?sslmode=disable&password=p%26ram')).toEqual(['p%26ram', 'p&ram']);
    expect(urlPasswords('redis://h:6379/0?PASSWORD=plain-param')).toEqual(['plain-param']);
    expect(connectionStringPasswords('Server=h;Password="quoted;value";')).toEqual(['quoted;value']);
    expect(connectionStringPasswords('Server=h;Integrated Security=true')).toEqual([]);
  });

  it('reach no log line once registered', async () => {
    const config = configSchema.parse({
      environments: {
        pg: { database: { engine: 'postgres', host: 'db', user: 'app', password: 'discrete-pg-secret-9' } }
      }
    });
    const { logger, text } = capture();
    redactSecrets(logger, configuredSecrets(config));
    logger.error({ err: new Error('password authentication failed: discrete-pg-secret-9') }, 'connect failed');
    expect(text()).not.toContain('discrete-pg-secret-9');
    expect(text()).toContain('[redacted]');
  });
});
