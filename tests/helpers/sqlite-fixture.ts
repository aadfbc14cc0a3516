import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { emptyDir } from './data-dir.ts';

const FIXTURE_SQL = readFileSync(new URL('../fixtures/sqlite/fixture.sql', import.meta.url), 'utf8');

/** Creates the SQLite fixture database in a fresh directory and returns its path. */
export function createSqliteFixture(): string {
  const path = join(emptyDir('sqlite-'), 'fixture.sqlite');
  const db = new DatabaseSync(path);
  db.exec(FIXTURE_SQL);
  db.exec('ANALYZE');
  db.close();
  return path;
}
