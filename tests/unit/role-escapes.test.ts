import { describe, expect, it } from 'vitest';
import { mssqlGuardRules } from '../../src/db/dialects/mssql/mssql-guard.ts';
import { mysqlGuardRules } from '../../src/db/dialects/mysql/mysql-guard.ts';
import { postgresGuardRules } from '../../src/db/dialects/postgres/postgres-guard.ts';
import { StatementGuard, type GuardRules } from '../../src/db/guard/statement-guard.ts';
import type { Attack } from '../fixtures/attacks/attack.ts';
import { ROLE_ESCAPES as MSSQL } from '../fixtures/attacks/mssql.ts';
import { ROLE_ESCAPES as MYSQL } from '../fixtures/attacks/mysql.ts';
import { ROLE_ESCAPES as POSTGRES } from '../fixtures/attacks/postgres.ts';

/**
 * A caller's database role (`access`) holds only if no statement can leave it: every way out is
 * refused by the statement guard in read-only and read-write environments alike. The e2e suites
 * (attack corpus, database roles) send the same statements to real servers.
 */

const ENGINES: [string, GuardRules, Attack[]][] = [
  ['PostgreSQL', postgresGuardRules, POSTGRES],
  ['MySQL/MariaDB', mysqlGuardRules, MYSQL],
  ['SQL Server', mssqlGuardRules, MSSQL]
];

describe.each(ENGINES)('leaving the role on %s', (_name, rules, escapes) => {
  const guard = new StatementGuard(rules);

  it('has escapes to try', () => {
    expect(escapes.length).toBeGreaterThan(5);
  });

  it.each(escapes.map(attack => [attack.sql]))('refuses %s in a read-only environment', sql => {
    expect(guard.rejection(sql, { mode: 'read', maxStatements: 5 })).toEqual(expect.any(String));
  });

  it.each(escapes.map(attack => [attack.sql]))('refuses %s in a read-write environment', sql => {
    expect(guard.rejection(sql, { mode: 'write', maxStatements: 5 })).toEqual(expect.any(String));
  });
});
