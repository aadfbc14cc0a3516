import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MssqlAdapter } from '../../src/db/dialects/mssql/mssql-adapter.ts';
import { StatementGuard } from '../../src/db/guard/statement-guard.ts';
import { ATTACKS as MSSQL_ATTACKS } from '../fixtures/attacks/mssql.ts';
import { ATTACKS as MYSQL_ATTACKS } from '../fixtures/attacks/mysql.ts';
import { ATTACKS as POSTGRES_ATTACKS } from '../fixtures/attacks/postgres.ts';
import { ATTACKS as SQLITE_ATTACKS } from '../fixtures/attacks/sqlite.ts';
import { BENIGN as MSSQL_BENIGN } from '../fixtures/benign/mssql.ts';

/**
 * The SQL Server attack and benign corpora through the statement guard, with no database: it runs in
 * CI, where no SQL Server can. The guard is the one the runtime builds from the dialect's adapter, in a
 * read-only environment with the default of one statement per call. With SQLBRIDGE_TEST_MSSQL_URL set,
 * tests/e2e/attack-corpus.test.ts sends the same statements to a SQL Server and checks that nothing changed.
 */

const guard = new StatementGuard(new MssqlAdapter().guardRules);
const READ = { mode: 'read', maxStatements: 1 } as const;

const refused = MSSQL_ATTACKS.filter(attack => attack.expect === 'rejected');
/** Statements the guard may let through because they fail in the database (a homoglyph keyword, a name that only looks like SQL). */
const harmless = MSSQL_ATTACKS.filter(attack => attack.expect === 'harmless');

describe('SQL Server corpora through the statement guard (no database)', () => {
  it('holds 146 attacks, 139 of them for the guard to refuse, and 29 benign queries', () => {
    expect(MSSQL_ATTACKS).toHaveLength(146);
    expect(refused).toHaveLength(139);
    expect(harmless).toHaveLength(7);
    expect(MSSQL_BENIGN).toHaveLength(29);
  });

  it.each(refused.map(attack => [attack.class, attack.sql] as const))('refuses %s: %j', (_class, sql) => {
    const reason = guard.rejection(sql, READ);
    expect(reason).toBeDefined();
    expect(() => guard.check(sql, READ)).toThrow(reason);
  });

  it.each(MSSQL_BENIGN)('accepts %j as one statement', sql => {
    expect(guard.rejection(sql, READ)).toBeUndefined();
    expect(guard.check(sql, READ)).toHaveLength(1);
  });
});

describe('README corpus numbers', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8').replace(/\s+/g, ' ');
  const total = [MSSQL_ATTACKS, MYSQL_ATTACKS, POSTGRES_ATTACKS, SQLITE_ATTACKS].reduce(
    (n, list) => n + list.length,
    0
  );

  it('states the size of the attack corpora and of the SQL Server one that runs in CI', () => {
    expect(readme).toContain(`attack corpora of ${total} statements`);
    expect(readme).toContain(`SQL Server's ${MSSQL_ATTACKS.length} through the statement guard in CI`);
  });
});
