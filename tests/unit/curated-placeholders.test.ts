import { describe, expect, it } from 'vitest';
import type { EngineName } from '../../src/db/dialect.ts';
import { MssqlAdapter } from '../../src/db/dialects/mssql/mssql-adapter.ts';
import { MysqlAdapter } from '../../src/db/dialects/mysql/mysql-adapter.ts';
import { PostgresAdapter } from '../../src/db/dialects/postgres/postgres-adapter.ts';
import { mssqlGuardRules } from '../../src/db/dialects/mssql/mssql-guard.ts';
import { mysqlGuardRules } from '../../src/db/dialects/mysql/mysql-guard.ts';
import { postgresGuardRules } from '../../src/db/dialects/postgres/postgres-guard.ts';
import { sqliteGuardRules } from '../../src/db/dialects/sqlite/sqlite-guard.ts';
import type { GuardRules } from '../../src/db/guard/statement-guard.ts';
import { StatementGuard } from '../../src/db/guard/statement-guard.ts';
import { ENGINE_SYNTAX } from '../../src/mcp/curated/engine-syntax.ts';
import { compilePlaceholders } from '../../src/mcp/curated/placeholders.ts';

/** Named placeholders compiled into each engine's bound parameters, read with each engine's lexer. */

const RULES: Record<EngineName, GuardRules> = {
  postgres: postgresGuardRules,
  mysql: mysqlGuardRules,
  sqlite: sqliteGuardRules,
  mssql: mssqlGuardRules
};

function compile(engine: EngineName, sql: string, declared: string[]) {
  return compilePlaceholders(sql, declared, RULES[engine].lexer, ENGINE_SYNTAX[engine]);
}

const SQL = "SELECT id, ':skip' AS s FROM orders WHERE region = :region AND total >= :min OR region = :region";

describe('placeholder compilation', () => {
  it('numbers PostgreSQL parameters and reuses a repeated one', () => {
    expect(compile('postgres', SQL, ['region', 'min'])).toEqual({
      sql: "SELECT id, ':skip' AS s FROM orders WHERE region = $1 AND total >= $2 OR region = $1",
      bindings: ['region', 'min']
    });
  });

  it('names SQL Server parameters @p1, @p2 as the driver binds them', () => {
    expect(compile('mssql', SQL, ['region', 'min'])).toEqual({
      sql: "SELECT id, ':skip' AS s FROM orders WHERE region = @p1 AND total >= @p2 OR region = @p1",
      bindings: ['region', 'min']
    });
  });

  it.each(['mysql', 'sqlite'] as const)('binds one value per ? on %s, repeated where the name repeats', engine => {
    expect(compile(engine, SQL, ['region', 'min'])).toEqual({
      sql: "SELECT id, ':skip' AS s FROM orders WHERE region = ? AND total >= ? OR region = ?",
      bindings: ['region', 'min', 'region']
    });
  });

  it.each(['postgres', 'mysql', 'sqlite', 'mssql'] as const)('accepts @name as well as :name on %s', engine => {
    const { bindings } = compile(engine, 'SELECT * FROM t WHERE a = @first AND b = :second', ['first', 'second']);
    expect(bindings.slice(0, 2)).toEqual(['first', 'second']);
  });

  it('leaves casts, comments, quoted names and system variables alone', () => {
    const pg = compile('postgres', 'SELECT x::int, "a:b" /* :c */ FROM t -- :d\nWHERE y = :e', ['e']);
    expect(pg.sql).toBe('SELECT x::int, "a:b" /* :c */ FROM t -- :d\nWHERE y = $1');
    const ms = compile('mssql', 'SELECT @@ROWCOUNT AS n, [x:y] FROM t WHERE y = :e', ['e']);
    expect(ms.sql).toBe('SELECT @@ROWCOUNT AS n, [x:y] FROM t WHERE y = @p1');
  });

  it('refuses a placeholder that is not a declared parameter, naming it', () => {
    expect(() => compile('postgres', 'SELECT * FROM t WHERE a = :regoin', ['region'])).toThrow(
      /uses :regoin, which is not among the tool's parameters/
    );
  });

  it('refuses a declared parameter the SQL never uses, naming it', () => {
    expect(() => compile('sqlite', 'SELECT * FROM t WHERE a = :region', ['region', 'limit'])).toThrow(
      /the parameter limit is declared but the SQL never uses it/
    );
  });

  it('refuses two parameters that touch, which a driver would read as one marker', () => {
    // On MySQL `:a@b` would become `??`, mysql2's identifier placeholder: the first value a column name.
    for (const engine of ['mysql', 'postgres', 'sqlite'] as const) {
      expect(() => compile(engine, 'SELECT id FROM t WHERE region = :a@b', ['a', 'b']), engine).toThrow(
        'the parameters :a and :b touch; put an operator or a space between them'
      );
    }
    expect(compile('mysql', 'SELECT id FROM t WHERE region = :a OR code = :b', ['a', 'b']).sql).toBe(
      'SELECT id FROM t WHERE region = ? OR code = ?'
    );
  });

  it('refuses positional parameters', () => {
    expect(() => compile('postgres', 'SELECT * FROM t WHERE a = $1', [])).toThrow(/positional parameter \$1/);
    expect(() => compile('mysql', 'SELECT * FROM t WHERE a = ?', [])).toThrow(/positional parameter \?/);
  });

  it.each(['postgres', 'mysql', 'sqlite', 'mssql'] as const)(
    'compiles into SQL the %s statement guard reads',
    engine => {
      const { sql } = compile(engine, SQL, ['region', 'min']);
      expect(new StatementGuard(RULES[engine]).rejection(sql, { mode: 'read', maxStatements: 1 })).toBeUndefined();
    }
  );
});

describe('database functions as curated tools', () => {
  const adapters = {
    postgres: new PostgresAdapter(),
    mssql: new MssqlAdapter(),
    mysql: new MysqlAdapter('shop')
  } as const;

  it.each([
    ['postgres', 'SELECT * FROM "reporting"."revenue"($1, $2)'],
    ['mssql', 'SELECT * FROM [reporting].[revenue](@p1, @p2)'],
    ['mysql', 'SELECT `reporting`.`revenue`(?, ?) AS `revenue`']
  ] as const)('are called on %s as a query the statement guard lets through', (engine, expected) => {
    const adapter = adapters[engine];
    const name = ['reporting', 'revenue'].map(part => adapter.quoteIdentifier(part)).join('.');
    const call = ENGINE_SYNTAX[engine].routineCall(name, adapter.quoteIdentifier('revenue'), [':year', ':region']);
    const { sql, bindings } = compile(engine, call ?? '', ['year', 'region']);
    expect(sql).toBe(expected);
    expect(bindings).toEqual(['year', 'region']);
    expect(new StatementGuard(RULES[engine]).rejection(sql, { mode: 'read', maxStatements: 1 })).toBeUndefined();
  });

  it('are not offered on SQLite, which has none', () => {
    expect(ENGINE_SYNTAX.sqlite.routineCall('"f"', '"f"', [])).toBeUndefined();
  });
});
