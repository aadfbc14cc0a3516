import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { demoDataDir, emptyDir } from '../helpers/data-dir.ts';
import { createSqliteFixture } from '../helpers/sqlite-fixture.ts';
import { runCli, startServer } from '../helpers/server-process.ts';
import { deletePrefix, rawRedis, redisUrl, uniquePrefix } from '../helpers/redis.ts';

const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

describe('sqlbridge CLI', () => {
  it("keeps its compile cache in the user's home, never in the shared temporary directory", async () => {
    const home = emptyDir('home-');
    const shared = emptyDir('shared-tmp-');
    const result = await runCli(['--version'], { env: { HOME: home, TMPDIR: shared } });
    expect(result.code).toBe(0);
    expect(readdirSync(join(home, '.cache', 'sqlbridge', 'compile')).length).toBeGreaterThan(0);
    expect(readdirSync(shared)).toEqual([]);
  });

  it('prints its version and its help', async () => {
    expect(await runCli(['--version'])).toMatchObject({ code: 0, stdout: `${VERSION}\n` });
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    for (const word of [
      'serve',
      'demo',
      'stdio',
      'check',
      '--config',
      '--host',
      '--port',
      '--data-dir',
      '--log-level'
    ]) {
      expect(help.stdout).toContain(word);
    }
  });

  it('exits with 2 and one message for an unknown option or command', async () => {
    const option = await runCli(['serve', '--prot', '80']);
    expect(option.code).toBe(2);
    expect(option.stderr).toBe('sqlbridge: unknown option --prot\nRun "sqlbridge --help" for usage.\n');
    const command = await runCli(['sever']);
    expect(command).toMatchObject({
      code: 2,
      stderr:
        'sqlbridge: unknown command: sever (commands: serve, demo, stdio, check, hash-password, rotate-keys, audit, admin, backup, restore, help)\nRun "sqlbridge --help" for usage.\n'
    });
  });

  it('hash-password reads a password on stdin and prints a hash the configuration accepts', async () => {
    const { verifyPassword } = await import('../../src/auth/server/passwords.ts');
    const result = await runCli(['hash-password'], { stdin: 'correct horse battery staple\n' });
    expect(result.code).toBe(0);
    const hash = result.stdout.trim();
    expect(hash).toMatch(/^scrypt\$32768\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
    expect(await verifyPassword('correct horse battery staple', hash)).toBe(true);
    expect(await verifyPassword('correct horse battery stapler', hash)).toBe(false);
    const short = await runCli(['hash-password'], { stdin: 'short\n' });
    expect(short).toMatchObject({ code: 2, stderr: 'sqlbridge: a password needs at least 12 characters\n' });
  });

  it('hash-password refuses a password longer than the sign-in page reads, without reading all of it', async () => {
    const longest = await runCli(['hash-password'], { stdin: `${'p'.repeat(1024)}\n` });
    expect(longest.code).toBe(0);
    const refused = 'sqlbridge: a password can have at most 1024 characters (the sign-in page reads no more)\n';
    expect(await runCli(['hash-password'], { stdin: `${'p'.repeat(1025)}\n` })).toMatchObject({
      code: 2,
      stdout: '',
      stderr: refused
    });
    // A long line with no break in an input that stays open: refused at once, not read until the input ends.
    const held = { stdin: 'p'.repeat(256 * 1024), holdStdin: true, timeoutMs: 10_000 };
    expect(await runCli(['hash-password'], held)).toMatchObject({
      code: 2,
      stderr: refused
    });
  });

  it('rotate-keys puts a new signing key first and keeps two previous ones', async () => {
    const dir = emptyDir('cli-rotate-');
    const env = { SQLBRIDGE_SQLITE_PATH: createSqliteFixture(), SQLBRIDGE_DATA_DIR: dir };
    const kids: string[][] = [];
    for (let i = 0; i < 3; i++) {
      const result = await runCli(['rotate-keys'], { env });
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(
        /^default: new signing key [\w-]{43}; send SIGHUP to sqlbridge \(or restart it\) to sign with it\n$/
      );
      const file = JSON.parse(readFileSync(join(dir, 'auth', 'default.keys.json'), 'utf8')) as {
        signing: { kid: string }[];
      };
      kids.push(file.signing.map(key => key.kid));
    }
    expect(kids.map(list => list.length)).toEqual([2, 3, 3]);
    expect(kids[1]?.slice(1)).toEqual(kids[0]);
    expect(kids[2]?.slice(1)).toEqual(kids[1]?.slice(0, 2));
    expect((await runCli(['rotate-keys', '--env', 'nope'], { env })).stderr).toBe(
      'sqlbridge: there is no environment named "nope"\n'
    );
  });

  it('rotate-keys with Redis storage rotates the keys every replica shares there, not a file', async () => {
    const dir = emptyDir('cli-rotate-redis-');
    const prefix = uniquePrefix('rotate');
    const env = {
      SQLBRIDGE_SQLITE_PATH: createSqliteFixture(),
      SQLBRIDGE_DATA_DIR: dir,
      SQLBRIDGE_AUTH_STORAGE: redisUrl(prefix)
    };
    const redis = rawRedis();
    try {
      const kids: string[][] = [];
      for (let i = 0; i < 2; i++) {
        const result = await runCli(['rotate-keys'], { env });
        expect(result, result.stderr).toMatchObject({ code: 0 });
        const stored = await redis.get(`${prefix}:shared:keys:default`);
        kids.push((JSON.parse(stored ?? '{}') as { signing: { kid: string }[] }).signing.map(key => key.kid));
      }
      expect(kids.map(list => list.length)).toEqual([2, 3]);
      expect(kids[1]?.slice(1)).toEqual(kids[0]);
      expect(existsSync(join(dir, 'auth', 'default.keys.json'))).toBe(false);
    } finally {
      redis.disconnect();
      await deletePrefix(prefix);
    }
  });

  it('prints the demo sign-in once, at first start', async () => {
    const dir = emptyDir('cli-demo-login-');
    const first = await startServer({ args: ['demo', '--data-dir', dir], timeoutMs: 120_000 });
    await first.stop();
    expect(first.stdout()).toMatch(
      /^Demo sign-in — user: demo {2}password: (?:[a-z2-9]{5}-){3}[a-z2-9]{5}\n\(shown once; delete .*demo-login\.json for a new one\)\n$/
    );
    expect(first.stderr()).not.toContain(/password: ([\w-]+)/.exec(first.stdout())?.[1] ?? 'unreachable');
    const second = await startServer({ args: ['demo', '--data-dir', dir] });
    await second.stop();
    expect(second.stdout()).toBe('');
  }, 150_000);

  it('exits with 2 naming the setting when the configuration is wrong', async () => {
    const dir = emptyDir('cli-config-');
    const file = join(dir, 'bad.yaml');
    writeFileSync(
      file,
      'environments:\n  prod:\n    database:\n      engine: sqlite\n      path: x.db\n    limits:\n      maxRows: many\n'
    );
    const result = await runCli(['serve', '--config', file]);
    expect(result).toMatchObject({ code: 2, stdout: '' });
    expect(result.stderr).toBe(
      `sqlbridge: invalid configuration: environments.prod.limits.maxRows (from ${file}): expected a number, got the text "many"\n`
    );
    writeFileSync(file, 'environments: &all\n  prod:\n    database: { engine: demo }\n    again: *all\n');
    expect(await runCli(['check', '--config', file])).toMatchObject({
      code: 2,
      stdout: '',
      stderr: `sqlbridge: invalid configuration: environments.prod.again (from ${file}): is a YAML alias to a mapping or list that contains it; a setting cannot hold itself\n`
    });
    const fromVariable = await runCli(['check'], { env: { MSSQL_HOST: 'db', MSSQL_PORT: 'fourteen33' } });
    expect(fromVariable).toMatchObject({
      code: 2,
      stderr:
        'sqlbridge: invalid configuration: environments.default.database.port (from MSSQL_PORT): expected a whole number, got "fourteen33"\n'
    });
  });

  it('refuses to start without an environment, pointing at the demo', async () => {
    const result = await runCli(['serve']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('environments: no environment is configured');
    expect(result.stderr).toContain('sqlbridge demo');
  });

  it('fails with one line naming the path when the data directory cannot be made, not a stack trace', async () => {
    const file = join(emptyDir(), 'not-a-directory');
    writeFileSync(file, '');
    const result = await runCli(['demo', '--data-dir', file, '--port', '0']);
    expect(result.code).toBe(1);
    expect(
      result.stderr
        .trim()
        .split('\n')
        .filter(line => line.startsWith('sqlbridge: '))
    ).toEqual([`sqlbridge: EEXIST: file already exists, mkdir '${file}'`]);
    expect(result.stderr).not.toMatch(/^\s+at /m);
  });

  it('refuses to serve beyond loopback without authentication', async () => {
    const result = await runCli(['demo', '--no-auth', '--host', '0.0.0.0', '--data-dir', emptyDir()]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /^sqlbridge: invalid configuration: auth.enabled: refusing to serve on 0.0.0.0 without authentication/
    );
  });

  it('refuses to serve beyond loopback without the public https URL OAuth is built on', async () => {
    const missing = await runCli(['demo', '--host', '0.0.0.0', '--data-dir', emptyDir()]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(
      /^sqlbridge: invalid configuration: server.publicUrl: serving on 0.0.0.0 needs the https URL/
    );
    const plain = await runCli(['demo', '--host', '0.0.0.0', '--data-dir', emptyDir()], {
      env: { SQLBRIDGE_PUBLIC_URL: 'http://data.example.com' }
    });
    expect(plain.code).toBe(2);
    expect(plain.stderr).toContain('server.publicUrl');
    expect(plain.stderr).toContain('expected an https URL');
  });

  it('check reports each environment and exits 1 when one cannot connect', async () => {
    const dir = emptyDir('cli-check-');
    const file = join(dir, 'sqlbridge.yaml');
    writeFileSync(
      file,
      `dataDir: ${demoDataDir()}\nenvironments:\n  demo:\n    database: { engine: demo, liveFeed: false }\n  fixture:\n    database: { engine: sqlite, path: ${createSqliteFixture()} }\n  broken:\n    database: { engine: sqlite, path: missing.sqlite }\n`
    );
    const result = await runCli(['check', '--config', file]);
    expect(result.code).toBe(1);
    const lines = result.stdout.trim().split('\n');
    expect(lines[0]).toBe(`configuration: ok (${file})`);
    expect(lines[1]).toMatch(
      /^ok {4}demo {5}demo {6}connected in \d+ ms; 10 tables, 2 views; SQLite 3\.\d+\.\d+; read-only$/
    );
    expect(lines[2]).toBe(
      'ok    demo     demo      the connection can only read (the database file is opened read-only, with PRAGMA query_only and an authorizer)'
    );
    expect(lines[3]).toMatch(
      /^ok {4}fixture {2}sqlite {4}connected in \d+ ms; 6 tables, 1 views; SQLite 3\.\d+\.\d+; read-only$/
    );
    expect(lines[4]).toMatch(/^ok {4}fixture {2}sqlite {4}the connection can only read/);
    expect(lines[5]).toBe(
      `FAIL  broken   sqlite    the SQLite database file does not exist (${join(dir, 'missing.sqlite')}); check the path in the configuration`
    );
  });

  it('serves until SIGTERM, then shuts down cleanly with exit code 0', async () => {
    const server = await startServer({ args: ['demo', '--no-auth', '--data-dir', demoDataDir()] });
    const health = await fetch(`${server.baseUrl}/healthz`);
    expect(health.status).toBe(200);
    expect(await server.stop()).toBe(0);
    expect(server.logs.some(l => l['msg'] === 'shutting down')).toBe(true);
  });

  it('logs JSON lines on stderr and never the password of a configured database', async () => {
    const secret = 'hunter2-very-secret';
    const server = await startServer({
      args: ['serve', '--log-level', 'debug'],
      env: {
        SQLBRIDGE_SQLITE_PATH: createSqliteFixture(),
        SQLBRIDGE_DATA_DIR: emptyDir(),
        MSSQL_DRIVER: 'ODBC Driver 18',
        PGPASSWORD: secret
      }
    });
    await fetch(`${server.baseUrl}/default/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}'
    });
    await server.stop();
    const lines = server.stderr().trim().split('\n');
    for (const line of lines) expect(() => JSON.parse(line) as unknown, line).not.toThrow();
    expect(server.stderr()).not.toContain(secret);
    expect(server.logs.find(l => l['level'] === 'warn')?.['msg']).toBe(
      'MSSQL_DRIVER is ignored: sqlbridge talks TDS directly (tedious); no ODBC driver is used'
    );
  });
});
