import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseRuntime } from '../../src/db/runtime.ts';
import { createPostgresDatabase, postgresDatabaseConfig } from '../dialects/engines/postgres.ts';
import { emptyDir } from '../helpers/data-dir.ts';
import { testRuntime } from '../helpers/test-runtime.ts';

/**
 * A result's columns go with every answer. A table of 1,500 columns with 60-character names makes
 * some 140,000 characters of names and types before any row, past the result's character budget
 * (and twice that once the text repeats them): such a read fails, naming the limit, instead of
 * answering more than a client keeps.
 */

const COLUMNS = 1500;
const name = (i: number): string =>
  `column_with_a_long_descriptive_name_for_quarterly_report_${String(i).padStart(4, '0')}`;
const definitions = Array.from({ length: COLUMNS }, (_, i) => `${name(i)} integer`).join(', ');

describe.each(['PostgreSQL', 'SQLite'])('%s: a result whose column names alone pass the budget', engine => {
  let db: DatabaseRuntime;
  let drop: () => Promise<void> = async () => undefined;

  beforeAll(async () => {
    if (engine === 'PostgreSQL') {
      const database = await createPostgresDatabase(
        `CREATE TABLE wide (${definitions}); INSERT INTO wide DEFAULT VALUES;`
      );
      drop = database.drop;
      db = testRuntime(postgresDatabaseConfig(database.name, { poolMax: 1 }), { limits: { maxResultChars: 50_000 } });
    } else {
      const path = join(emptyDir('wide-columns-'), 'wide.sqlite');
      const file = new DatabaseSync(path);
      file.exec(`CREATE TABLE wide (${definitions}); INSERT INTO wide DEFAULT VALUES;`);
      file.close();
      db = testRuntime(
        { engine: 'sqlite', path, attach: {}, pool: { max: 1, idleTimeoutMs: 60_000 } },
        { limits: { maxResultChars: 50_000 } }
      );
    }
  }, 60_000);

  afterAll(async () => {
    await db.close();
    await drop();
  });

  it('fails the read, saying the columns take more than a result may hold', async () => {
    await expect(db.query('SELECT * FROM wide')).rejects.toMatchObject({
      code: 'query_failed',
      expose: true,
      message: expect.stringMatching(
        /^the result's 1500 columns take [\d,]+ characters by their names and types alone, more than the 50,000 a result may hold$/
      )
    });
  });

  it('answers the same table through fewer columns', async () => {
    const outcome = await db.query(`SELECT ${name(0)}, ${name(1499)} FROM wide`);
    expect(outcome.rows).toEqual([[null, null]]);
  });
});
