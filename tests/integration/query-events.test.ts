import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseSchema } from '../../src/config/schema.ts';
import type { DatabaseRuntime, QueryEvent } from '../../src/db/runtime.ts';
import { createSqliteFixture } from '../helpers/sqlite-fixture.ts';
import { testRuntime } from '../helpers/test-runtime.ts';

/**
 * The query events audit and metrics record, for SQL of several statements: the event carries the
 * SQL as the caller sent it, every statement, whether it ran, failed or was refused. Otherwise a read
 * or a write could hide in the trail behind a harmless last statement.
 */
describe('query events of several statements', () => {
  let reader: DatabaseRuntime;
  let writer: DatabaseRuntime;
  const events: QueryEvent[] = [];

  beforeAll(() => {
    const database = databaseSchema.parse({ engine: 'sqlite', path: createSqliteFixture() });
    const limits = { maxStatements: 3 };
    reader = testRuntime(database, { limits });
    writer = testRuntime(database, { limits, readOnly: false });
    for (const db of [reader, writer]) db.onQuery(event => events.push(event));
  });

  afterAll(async () => {
    await reader.close();
    await writer.close();
  });

  const last = (): QueryEvent | undefined => events.at(-1);

  it('records every statement of a read that ran, not only the last one', async () => {
    const sql = 'SELECT value AS hidden FROM canary; SELECT 1 AS shown';
    const outcome = await reader.query(sql);
    expect(outcome.statements).toBe(2);
    expect(last()).toMatchObject({ kind: 'query', status: 'ok', sql });
  });

  it('records every statement of a write, the change before a trailing SELECT included', async () => {
    const sql = "UPDATE canary SET value = value WHERE id = 1; SELECT 'shown' AS s";
    await writer.write(sql);
    expect(last()).toMatchObject({ kind: 'write', status: 'ok', sql });
  });

  it('records every statement of SQL that failed in a later statement', async () => {
    const sql = 'SELECT 1 AS first; SELECT no_such_column FROM canary';
    await expect(reader.query(sql)).rejects.toMatchObject({ code: 'query_failed' });
    expect(last()).toMatchObject({ kind: 'query', status: 'error', sql });
  });
});
