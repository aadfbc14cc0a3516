import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { emptyDir } from '../../helpers/data-dir.ts';
import type { EngineSpec } from '../engine.ts';

const FIXTURE = readFileSync(new URL('../../fixtures/dialects/sqlite.sql', import.meta.url), 'utf8');
const RUNAWAY = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c';

/** SQLite: the main file and a second file attached as schema `other`. */
export const sqlite: EngineSpec = {
  engine: 'sqlite',
  async create() {
    const dir = emptyDir('dialect-sqlite-');
    const main = join(dir, 'main.sqlite');
    const other = join(dir, 'other.sqlite');
    const db = new DatabaseSync(main);
    db.exec(`ATTACH DATABASE '${other}' AS other`);
    db.exec(FIXTURE);
    db.exec('ANALYZE');
    db.close();
    return {
      database: { engine: 'sqlite', path: main, attach: { other }, pool: { max: 2, idleTimeoutMs: 60_000 } },
      mainSchema: 'main',
      otherSchema: 'other',
      drop: async () => undefined
    };
  },
  longText: (n, length) => `SELECT ${n} AS i, replace(hex(zeroblob(${length} / 2)), '0', 'x') AS v`,
  series: n => `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${n}) SELECT i FROM n`,
  sleep: marker => `${RUNAWAY} /* ${marker} */`,
  identitySql: keys => `SELECT ${keys.map(key => `sqlbridge_identity('${key}') AS ${key}`).join(', ')}`,
  writesAsReads: 'refused',
  ddlAsReads: ['CREATE TABLE sneaky (a int)', 'DROP TABLE canary'],
  typed: [
    { column: 'dec', expected: '1234567890.1234', type: 'DECIMAL(18,4)' },
    { column: 'amount', expected: '19.99', type: 'NUMERIC(12,2)' },
    { column: 'big', expected: '9223372036854775807', type: 'BIGINT' },
    { column: 'small_big', expected: 42, type: 'BIGINT' },
    { column: 'flag', expected: true, type: 'BOOLEAN' },
    { column: 'ratio', expected: 0.1, type: 'REAL' },
    { column: 'born', expected: '2024-02-29', type: 'DATE' },
    { column: 'ts', expected: '2024-12-31 23:59:59.123', type: 'TIMESTAMP' },
    { column: 'guid', expected: '6f1e7a7c-0d1b-4c5a-9a3e-2b8e4f0c1d2a', type: 'CHAR(36)' },
    { column: 'bin', expected: 'AP8Q', type: 'BLOB' },
    { column: 'long_bin', expected: `${Buffer.alloc(48).toString('base64')}… (4096 bytes, shortened)`, type: 'BLOB' },
    { column: 'txt', expected: 'line one\nline two | with a pipe', type: 'TEXT' },
    { column: 'nul', expected: null, type: 'TEXT' }
  ],
  connectionFailures: fixture => [
    {
      name: 'a missing file',
      database: {
        engine: 'sqlite',
        path: `${fixture.database.engine === 'sqlite' ? fixture.database.path : ''}.missing`,
        attach: {},
        pool: { max: 1, idleTimeoutMs: 1000 }
      },
      problem: 'database_not_found'
    }
  ]
};
