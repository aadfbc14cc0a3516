import { existsSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import type { DatabaseRuntime } from '../../src/db/runtime.ts';
import { emptyDir } from '../helpers/data-dir.ts';
import { testRuntime } from '../helpers/test-runtime.ts';

/**
 * A SQLite worker keeps its database file open. A file replaced under it (a new copy moved into
 * place, as a deployment or a restore does) or deleted must not go on being served from the old
 * one: the next statement reads the file now at the path, or fails when there is none, and a
 * read-write environment never creates an empty database in its place.
 */

function writeDatabase(path: string, version: string): void {
  const db = new DatabaseSync(path);
  db.exec(`CREATE TABLE edition (name TEXT NOT NULL); INSERT INTO edition VALUES ('${version}');`);
  db.close();
}

const runtimes: DatabaseRuntime[] = [];

function runtimeFor(
  path: string,
  readOnly: boolean,
  options: { poolMax?: number; queryTimeoutMs?: number } = {}
): DatabaseRuntime {
  const runtime = testRuntime(
    { engine: 'sqlite', path, attach: {}, pool: { max: options.poolMax ?? 2, idleTimeoutMs: 60_000 } },
    { readOnly, limits: { queryTimeoutMs: options.queryTimeoutMs ?? 10_000 } }
  );
  runtimes.push(runtime);
  return runtime;
}

afterEach(async () => {
  for (const runtime of runtimes.splice(0)) await runtime.close();
});

async function edition(runtime: DatabaseRuntime): Promise<unknown> {
  return (await runtime.query('SELECT name FROM edition')).rows[0]?.[0];
}

describe.each([
  ['read-only', true],
  ['read-write', false]
])('a %s SQLite environment whose file changes under it', (_name, readOnly) => {
  it('reads the file moved into place at its path, not the one its workers opened', async () => {
    const dir = emptyDir('sqlite-replaced-');
    const path = join(dir, 'shop.sqlite');
    writeDatabase(path, 'first');
    const runtime = runtimeFor(path, readOnly);
    expect(await edition(runtime)).toBe('first');
    writeDatabase(join(dir, 'next.sqlite'), 'second');
    renameSync(join(dir, 'next.sqlite'), path);
    expect(await edition(runtime)).toBe('second');
    expect(await edition(runtime)).toBe('second');
  });

  it('gives a statement that waited for a worker the file moved into place meanwhile', async () => {
    const dir = emptyDir('sqlite-replaced-waiting-');
    const path = join(dir, 'shop.sqlite');
    writeDatabase(path, 'first');
    const runtime = runtimeFor(path, readOnly, { poolMax: 1 });
    expect(await edition(runtime)).toBe('first');
    // The pool's one worker is busy; the next statement waits for it.
    const slow = runtime.query(
      'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000000) SELECT count(*) FROM c'
    );
    await new Promise(resolve => setTimeout(resolve, 50));
    const waiting = edition(runtime);
    writeDatabase(join(dir, 'next.sqlite'), 'second');
    renameSync(join(dir, 'next.sqlite'), path);
    await slow;
    expect(await waiting).toBe('second');
  });

  it('fails a statement once the file is deleted, saying so, creates nothing, and is not ready', async () => {
    const dir = emptyDir('sqlite-deleted-');
    const path = join(dir, 'shop.sqlite');
    writeDatabase(path, 'first');
    const runtime = runtimeFor(path, readOnly);
    expect(await edition(runtime)).toBe('first');
    rmSync(path);
    await expect(runtime.query('SELECT name FROM edition')).rejects.toMatchObject({
      code: 'connection_failed',
      message: 'the SQLite database file does not exist'
    });
    if (!readOnly) {
      await expect(runtime.write("INSERT INTO edition VALUES ('third')")).rejects.toMatchObject({
        code: 'connection_failed'
      });
    }
    await expect(runtime.ping(AbortSignal.timeout(5000))).rejects.toMatchObject({ problem: 'database_not_found' });
    expect(existsSync(path)).toBe(false);
    // Back in place, it is served again.
    writeDatabase(path, 'restored');
    expect(await edition(runtime)).toBe('restored');
  });
});

describe('a SQLite file another program holds an exclusive lock on', () => {
  it('fails a read, after SQLite has waited for the lock, as the database being busy', async () => {
    const path = join(emptyDir('sqlite-locked-'), 'shop.sqlite');
    writeDatabase(path, 'first');
    const runtime = runtimeFor(path, true);
    expect(await edition(runtime)).toBe('first');
    const other = new DatabaseSync(path);
    other.exec('BEGIN EXCLUSIVE');
    try {
      await expect(runtime.query('SELECT name FROM edition')).rejects.toMatchObject({
        code: 'database_busy',
        expose: true,
        message: 'another program holds a lock on the SQLite database file'
      });
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    expect(await edition(runtime)).toBe('first');
  }, 20_000);
});

describe('a SQLite write killed in its transaction', () => {
  it('leaves a journal that is rolled back before the next read, however many writers the pool holds', async () => {
    const path = join(emptyDir('sqlite-killed-write-'), 'shop.sqlite');
    writeDatabase(path, 'first');
    const runtime = runtimeFor(path, false, { queryTimeoutMs: 1500 });
    // Two writers in the pool: the one killed is not its last.
    await Promise.all([
      runtime.write("INSERT INTO edition VALUES ('second')"),
      runtime.write("INSERT INTO edition VALUES ('third')")
    ]);
    await expect(
      runtime.write(
        'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 300000000) INSERT INTO edition SELECT x FROM c'
      )
    ).rejects.toMatchObject({ code: 'query_timeout' });
    expect((await runtime.query('SELECT count(*) FROM edition')).rows).toEqual([[3]]);
  }, 20_000);
});
