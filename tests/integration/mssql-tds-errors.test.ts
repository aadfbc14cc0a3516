import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseRuntime } from '../../src/db/runtime.ts';
import { ConnectionError } from '../../src/errors/connection-error.ts';
import { createLocalhostCertificate, type LocalhostCertificate } from '../helpers/certificates.ts';
import { emptyDir } from '../helpers/data-dir.ts';
import { testRuntime } from '../helpers/test-runtime.ts';
import { TdsPeer, type TdsPeerOptions } from '../helpers/tds/tds-peer.ts';
import { peerDatabase, peerRuntime, serverInfoReply, sqlOf, type MssqlDatabase } from '../helpers/tds/tds-runtime.ts';
import { DONE, done, error, resultSet } from '../helpers/tds/tokens.ts';

/**
 * SQL Server failures as the server reports them on the wire, classified by sqlbridge as documented
 * (src/errors/connection-error.ts, mssql-errors.ts): refused logins, a missing database, a deadlock,
 * a server that never answers, and TLS that cannot be trusted.
 */

const peers: TdsPeer[] = [];
const runtimes: DatabaseRuntime[] = [];

async function connect(options: TdsPeerOptions, overrides: Partial<MssqlDatabase> = {}): Promise<DatabaseRuntime> {
  const peer = await new TdsPeer({
    ...options,
    respond: r => options.respond?.(r) ?? serverInfoReply(r)
  }).listen();
  peers.push(peer);
  const db = peerRuntime(peerDatabase(peer, overrides));
  runtimes.push(db);
  return db;
}

async function problemOf(work: Promise<unknown>): Promise<string> {
  try {
    await work;
  } catch (failure) {
    if (failure instanceof ConnectionError) return failure.problem;
    throw failure;
  }
  throw new Error('it connected');
}

afterEach(async () => {
  for (const db of runtimes.splice(0)) await db.close().catch(() => undefined);
  for (const peer of peers.splice(0)) await peer.close();
});

describe('logins the server refuses', () => {
  it('18456 (login failed) is an authentication problem', async () => {
    const db = await connect({
      login: login => ({ number: 18456, state: 8, message: `Login failed for user '${login.user}'.` })
    });
    expect(await problemOf(db.init())).toBe('authentication');
  });

  it('4060 (cannot open the database) is a missing database', async () => {
    const db = await connect({
      login: login => ({
        number: 4060,
        severity: 11,
        message: `Cannot open database "${login.database}" requested by the login. The login failed.`
      })
    });
    expect(await problemOf(db.init())).toBe('database_not_found');
  });

  it('the login the peer received is sqlbridge’s: user, password, database, read-only intent', async () => {
    const db = await connect({});
    await db.init();
    expect(peers[0]?.logins[0]).toMatchObject({
      user: 'reader',
      password: 'reader-password',
      database: 'shop',
      appName: 'sqlbridge',
      readOnlyIntent: true,
      tdsVersion: 0x74000004
    });
  });
});

describe('statements the server fails', () => {
  it('a deadlock victim (1205) is a failed query with the server’s message, the transaction rolled back', async () => {
    const deadlock =
      'Transaction (Process ID 57) was deadlocked on lock resources with another process and has been chosen as the deadlock victim. Rerun the transaction.';
    const db = await connect({
      respond: r =>
        sqlOf(r) === 'SELECT 1 AS one'
          ? { tokens: [error({ number: 1205, severity: 13, state: 51, message: deadlock }), done(DONE.ERROR)] }
          : undefined
    });
    await expect(db.query('SELECT 1 AS one')).rejects.toMatchObject({ code: 'query_failed', message: deadlock });
    const requests = peers[0]?.requests ?? [];
    const statement = requests.findIndex(r => sqlOf(r) === 'SELECT 1 AS one');
    expect(requests.slice(statement + 1).map(r => r.kind)[0]).toBe('rollback');
  });
});

describe('rows too large to read', () => {
  it('has the server cut long values one byte past limits.maxRowBytes (SET TEXTSIZE)', async () => {
    const db = await connect({});
    await db.init();
    const sessions = (peers[0]?.requests ?? []).flatMap(r => (r.kind === 'batch' ? [r.sql] : []));
    // The default limit: 16 MiB, and one byte more so that a value cut there is seen as too large.
    expect(sessions.some(sql => /^set textsize 16777217$/im.test(sql))).toBe(true);
  });

  it('fails a call whose row weighs more than the limit, stopping the statement, and serves the next', async () => {
    const wide = 'x'.repeat(4000);
    const peer = await new TdsPeer({
      respond: r => {
        if (sqlOf(r) === 'SELECT v FROM t')
          return { tokens: resultSet([{ name: 'v', type: 'nvarchar' }], [['short'], [wide], ['after']]) };
        if (sqlOf(r) === 'SELECT 1 AS one') return { tokens: resultSet([{ name: 'one', type: 'int' }], [[1]]) };
        return serverInfoReply(r);
      }
    }).listen();
    peers.push(peer);
    const db = testRuntime(peerDatabase(peer), { maxRowBytes: 1000, limits: { queryTimeoutMs: 10_000 } });
    runtimes.push(db);
    await expect(db.query('SELECT v FROM t')).rejects.toMatchObject({
      code: 'row_too_large',
      message: expect.stringContaining('limits.maxRowBytes') as unknown
    });
    expect(peer.requests.some(r => r.kind === 'batch' && /^set textsize 1001$/im.test(r.sql))).toBe(true);
    // The statement was stopped (an ATTENTION), not read to its end.
    expect(peer.requests.some(r => r.kind === 'attention')).toBe(true);
    expect((await db.query('SELECT 1 AS one')).rows).toEqual([[1]]);
  });
});

describe('a server that never answers', () => {
  let silent: Server;
  const held = new Set<Socket>();

  beforeAll(async () => {
    silent = createServer(socket => held.add(socket));
    await new Promise<void>(resolve => silent.listen(0, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    for (const socket of held) socket.destroy();
    await new Promise<void>(resolve => silent.close(() => resolve()));
  });

  it('times out connecting', async () => {
    const port = (silent.address() as AddressInfo).port;
    const peer = await new TdsPeer().listen();
    peers.push(peer);
    const db = peerRuntime(peerDatabase(peer, { port, connectTimeoutMs: 500 }));
    runtimes.push(db);
    expect(await problemOf(db.init())).toBe('timeout');
  });
});

describe('TLS inside PRELOGIN', () => {
  let certificate: LocalhostCertificate;
  let tls: { key: string; cert: string };

  beforeAll(() => {
    certificate = createLocalhostCertificate(emptyDir('tds-tls-'));
    tls = { key: readFileSync(certificate.keyPath, 'utf8'), cert: certificate.pem };
  });

  it('refuses a server certificate no trusted CA signed', async () => {
    const db = await connect({ tls }, { encrypt: 'mandatory', trustServerCertificate: false });
    expect(await problemOf(db.init())).toBe('tls');
  });

  it('with encrypt: mandatory, refuses a server that will not encrypt before sending it the login', async () => {
    // The peer's PRELOGIN answer says it does not support encryption: tedious alone would log in in clear.
    const db = await connect({}, { encrypt: 'mandatory', trustServerCertificate: false });
    const failure = await db.init().then(
      () => undefined,
      (error: unknown) => error
    );
    expect(failure).toBeInstanceOf(ConnectionError);
    expect(failure).toMatchObject({ problem: 'tls', message: expect.stringContaining('does not accept encrypted') });
    expect(peers[0]?.logins).toEqual([]);
  });

  it('with encrypt: optional, logs in without TLS to a server that does not support it', async () => {
    const db = await connect({}, { encrypt: 'optional' });
    await db.init();
    expect(peers[0]?.logins[0]?.password).toBe('reader-password');
  });

  it('encrypts the session when the certificate is accepted', async () => {
    const db = await connect(
      {
        tls,
        respond: r =>
          sqlOf(r) === 'SELECT 1 AS one' ? { tokens: resultSet([{ name: 'one', type: 'int' }], [[1]]) } : undefined
      },
      { encrypt: 'mandatory', trustServerCertificate: true }
    );
    expect((await db.query('SELECT 1 AS one')).rows).toEqual([[1]]);
    expect(peers[0]?.logins[0]?.password).toBe('reader-password');
  });
});
