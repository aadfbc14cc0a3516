import { describe, expect, it } from 'vitest';
import { mssqlGuardRules } from '../../src/db/dialects/mssql/mssql-guard.ts';
import { mysqlGuardRules } from '../../src/db/dialects/mysql/mysql-guard.ts';
import { postgresGuardRules } from '../../src/db/dialects/postgres/postgres-guard.ts';
import { sqliteGuardRules } from '../../src/db/dialects/sqlite/sqlite-guard.ts';
import { lex } from '../../src/db/guard/lexer.ts';
import { StatementGuard, unquote, type GuardMode, type GuardRules } from '../../src/db/guard/statement-guard.ts';
import { SqlbridgeError } from '../../src/errors/sqlbridge-error.ts';

/**
 * The statement guard without a database: which statements each dialect lets through in read-only
 * and read-write environments, and the reason it gives for the rest. The e2e suite runs the attack
 * and benign corpora against real servers; these tables pin the rules one by one.
 */

type Dialect = 'postgres' | 'mysql' | 'sqlite' | 'mssql';

const RULES: Record<Dialect, GuardRules> = {
  postgres: postgresGuardRules,
  mysql: mysqlGuardRules,
  sqlite: sqliteGuardRules,
  mssql: mssqlGuardRules
};

const GUARDS: Record<Dialect, StatementGuard> = {
  postgres: new StatementGuard(RULES.postgres),
  mysql: new StatementGuard(RULES.mysql),
  sqlite: new StatementGuard(RULES.sqlite),
  mssql: new StatementGuard(RULES.mssql)
};

const ALL: Dialect[] = ['postgres', 'mysql', 'sqlite', 'mssql'];

const READ_ONLY = 'not allowed in a read-only environment';
const NEVER = 'sqlbridge never runs it';

function rejection(dialect: Dialect, mode: GuardMode, sql: string, maxStatements = 1): string | undefined {
  return GUARDS[dialect].rejection(sql, { mode, maxStatements });
}

function statements(dialect: Dialect, mode: GuardMode, sql: string, maxStatements = 20): string[] {
  return GUARDS[dialect].check(sql, { mode, maxStatements });
}

describe('statement guard, read mode: allowed', () => {
  it.each([
    ['postgres', 'SELECT 1'],
    ['postgres', 'select id, name from customers where region = $1'],
    ['postgres', 'WITH c AS (SELECT 1 AS x) SELECT x FROM c'],
    ['postgres', "VALUES (1, 'one'), (2, 'two')"],
    ['postgres', 'TABLE customers'],
    ['postgres', 'EXPLAIN SELECT * FROM orders'],
    ['postgres', 'EXPLAIN ANALYZE SELECT * FROM orders'],
    ['postgres', 'EXPLAIN (ANALYZE, FORMAT JSON) WITH c AS (SELECT 1) SELECT * FROM c'],
    ['postgres', 'SHOW search_path'],
    ['postgres', '(SELECT 1) UNION (SELECT 2)'],
    ['postgres', 'SELECT * FROM t WHERE id IN (SELECT id FROM u) AND EXISTS (SELECT 1 FROM v)'],
    ['postgres', "SELECT replace(name, 'a', 'b'), current_setting('search_path') FROM t"],
    ['postgres', 'SELECT substring(name FROM 1 FOR 3), count(*) FILTER (WHERE x > 1) FROM t GROUP BY 1'],
    ['postgres', "SELECT currval('s'), pg_backend_pid(), pg_size_pretty(pg_database_size('test'))"],
    ['postgres', 'SELECT $$DELETE FROM t$$, $x$ COMMIT $x$'],
    ['postgres', "SELECT 'DROP TABLE x; DELETE FROM t' AS s -- DELETE FROM t\n"],
    ['postgres', 'SELECT "delete", "insert" FROM "update"'],
    ['postgres', "SELECT E'it\\'s', 'O''Reilly', 'C:\\\\'"],
    ['postgres', 'SELECT 1 /* DELETE FROM t /* nested */ still comment */'],
    ['postgres', "SELECT data @> '{\"a\": 1}' FROM t WHERE tags && ARRAY['x']"],
    ['mysql', 'SELECT 1'],
    ['mysql', 'WITH c AS (SELECT 1 AS x) SELECT x FROM c'],
    ['mysql', 'VALUES ROW(1, 2)'],
    ['mysql', 'TABLE customers'],
    ['mysql', 'SHOW TABLES'],
    ['mysql', 'SELECT * FROM threads JOIN `session` USING (id)'],
    ['mysql', 'SHOW SESSION STATUS LIKE "Threads%"'],
    ['postgres', 'SELECT datname, xact_commit FROM pg_stat_database'],
    ['mysql', 'SHOW COLUMNS FROM orders'],
    ['mysql', 'SHOW CREATE TABLE orders'],
    ['mysql', 'SHOW CREATE VIEW customer_totals'],
    ['mysql', 'DESCRIBE orders'],
    ['mysql', 'DESC orders'],
    ['mysql', 'EXPLAIN SELECT * FROM orders'],
    ['mysql', 'SELECT 1--1'],
    ['mysql', "SELECT REPLACE(name, 'a', 'b'), TRUNCATE(price, 1) FROM products"],
    ['mysql', 'SELECT `update`, `delete` FROM `insert` # DELETE FROM t'],
    ['mysql', 'SELECT "DROP TABLE x", \'it\'\'s\', "say ""hi"""'],
    ['mysql', 'SELECT @@session.sql_mode, @v'],
    ['mysql', 'SELECT region, COUNT(*) FROM customers GROUP BY region WITH ROLLUP'],
    ['sqlite', 'SELECT 1'],
    ['sqlite', 'WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 5) SELECT x FROM n'],
    ['sqlite', 'VALUES (1), (2)'],
    ['sqlite', 'EXPLAIN QUERY PLAN SELECT * FROM orders'],
    ['sqlite', 'EXPLAIN SELECT 1'],
    ['sqlite', 'PRAGMA table_info(customers)'],
    ['sqlite', 'PRAGMA main.table_info(customers)'],
    ['sqlite', 'PRAGMA "index_list"(\'customers\')'],
    ['sqlite', 'PRAGMA foreign_key_list(orders)'],
    ['sqlite', 'SELECT [name], `region`, "id" FROM customers WHERE name = \'C:\\\''],
    ['sqlite', "SELECT replace(name, 'a', 'b') FROM customers"],
    ['mssql', 'SELECT TOP (5) * FROM dbo.orders ORDER BY total DESC'],
    ['mssql', 'WITH c AS (SELECT 1 AS x) SELECT x FROM c'],
    ['mssql', ';WITH c AS (SELECT 1 AS x) SELECT x FROM c'],
    ['mssql', '(SELECT 1) UNION (SELECT 2)'],
    ['mssql', 'SELECT 1 UNION ALL SELECT 2 EXCEPT SELECT 3 INTERSECT SELECT 4'],
    ['mssql', 'SELECT * FROM dbo.orders ORDER BY id OFFSET 0 ROWS FETCH NEXT 5 ROWS ONLY'],
    ['mssql', 'SELECT * FROM dbo.orders WITH (NOLOCK)'],
    ['mssql', 'SELECT * FROM dbo.orders WITH (READUNCOMMITTED, READPAST)'],
    ['mssql', 'SELECT * FROM #scratch JOIN ##shared ON #scratch.id = ##shared.id'],
    ['mssql', 'SELECT * FROM test..orders'],
    ['mssql', 'SELECT o.id FROM test.dbo.orders AS o'],
    ['mssql', 'SELECT @@ROWCOUNT, @@SPID'],
    ['mssql', "SELECT IIF(a = 1, 'x', 'y'), REPLACE(a, 'b', 'c'), DATEADD(day, 1, d) FROM t"],
    ['mssql', "SELECT [DELETE], N'DROP TABLE t', 'a\\' FROM t /* EXEC xp_cmdshell */ -- SET x"],
    ['mssql', "SELECT id FROM dbo.products WHERE category = N'Camping' FOR JSON PATH"],
    ['mssql', 'SELECT CASE WHEN a = 1 THEN 1 ELSE 0 END AS flag FROM t']
  ] as [Dialect, string][])('%s allows %j', (dialect, sql) => {
    expect(rejection(dialect, 'read', sql)).toBeUndefined();
  });
});

describe('statement guard, read mode: refused statement kinds', () => {
  it.each([
    ['postgres', 'INSERT INTO t VALUES (1)', `INSERT changes data; ${READ_ONLY}`],
    ['postgres', "  update t set a = 'x'", `UPDATE changes data; ${READ_ONLY}`],
    ['postgres', 'DELETE FROM t', `DELETE changes data; ${READ_ONLY}`],
    ['postgres', 'MERGE INTO t USING u ON t.id = u.id WHEN MATCHED THEN DELETE', `MERGE changes data; ${READ_ONLY}`],
    ['postgres', 'TRUNCATE t', 'TRUNCATE removes every row'],
    ['postgres', 'CREATE TABLE t (a int)', `CREATE changes the schema; ${READ_ONLY}`],
    ['postgres', 'ALTER TABLE t ADD COLUMN b int', `ALTER changes the schema; ${READ_ONLY}`],
    ['postgres', 'DROP TABLE t', `DROP changes the schema; ${READ_ONLY}`],
    ['postgres', "COMMENT ON TABLE t IS 'x'", `COMMENT changes the schema; ${READ_ONLY}`],
    ['postgres', 'COPY t TO STDOUT', `COPY reads or writes files and programs on the database server; ${READ_ONLY}`],
    ['postgres', 'DO $$ BEGIN NULL; END $$', `DO runs procedural code; ${READ_ONLY}`],
    ['postgres', 'CALL archive()', 'CALL runs a procedure'],
    ['postgres', 'PREPARE p AS SELECT 1', 'PREPARE stores a statement'],
    ['postgres', 'EXECUTE p', 'EXECUTE runs a prepared statement'],
    ['postgres', 'DECLARE c CURSOR FOR SELECT 1', 'DECLARE opens a cursor'],
    ['postgres', 'LISTEN ch', 'LISTEN changes the database session'],
    ['postgres', "NOTIFY ch, 'x'", 'NOTIFY sends a message to other sessions'],
    ['postgres', 'LOCK TABLE t', `LOCK locks tables; ${READ_ONLY}`],
    ['postgres', 'VACUUM', 'VACUUM changes the state of the database server'],
    ['postgres', 'ANALYZE t', 'ANALYZE rewrites table statistics'],
    ['postgres', 'REFRESH MATERIALIZED VIEW v', 'REFRESH MATERIALIZED VIEW rewrites'],
    ['postgres', "LOAD 'auto_explain'", 'LOAD loads a library into the server'],
    ['postgres', 'CHECKPOINT', 'CHECKPOINT changes the state of the database server'],
    ['postgres', 'GRANT SELECT ON t TO PUBLIC', `GRANT changes permissions; ${READ_ONLY}`],
    ['postgres', 'REVOKE SELECT ON t FROM PUBLIC', `REVOKE changes permissions; ${READ_ONLY}`],
    ['postgres', 'ALTER SYSTEM SET work_mem = 1', `ALTER SYSTEM changes the server’s configuration; ${NEVER}`],
    ['postgres', 'CREATE ROLE evil SUPERUSER', `CREATE ROLE changes the server, not the data; ${NEVER}`],
    ['mysql', 'INSERT INTO t VALUES (1)', `INSERT changes data; ${READ_ONLY}`],
    ['mysql', 'REPLACE INTO t VALUES (1)', `REPLACE changes data; ${READ_ONLY}`],
    ['mysql', 'RENAME TABLE a TO b', `RENAME changes the schema; ${READ_ONLY}`],
    ['mysql', 'CALL p()', 'CALL runs a stored procedure'],
    ['mysql', 'DO SLEEP(1)', 'DO evaluates expressions for their side effects'],
    ['mysql', 'HANDLER t OPEN', 'HANDLER opens a table cursor'],
    ['mysql', "LOAD DATA INFILE '/etc/passwd' INTO TABLE t", 'LOAD DATA and LOAD XML read files into tables'],
    ['mysql', "PREPARE s FROM 'DELETE FROM t'", 'PREPARE stores SQL text the guard cannot check'],
    ['mysql', 'EXECUTE s', 'EXECUTE runs a prepared statement'],
    ['mysql', 'FLUSH PRIVILEGES', 'FLUSH changes the server’s caches and logs'],
    ['mysql', 'KILL 1', 'KILL ends other sessions'],
    ['mysql', 'OPTIMIZE TABLE t', 'OPTIMIZE TABLE rewrites tables'],
    ['mysql', 'INSTALL PLUGIN x SONAME "x.so"', 'INSTALL loads code into the server'],
    ['sqlite', 'INSERT INTO t VALUES (1)', `INSERT changes data; ${READ_ONLY}`],
    ['sqlite', "ATTACH DATABASE '/tmp/x.db' AS x", `ATTACH opens another database file; ${READ_ONLY}`],
    ['sqlite', 'DETACH x', 'DETACH closes a database'],
    ['sqlite', "VACUUM INTO '/tmp/copy.db'", 'VACUUM rewrites the database file'],
    ['sqlite', 'REINDEX', 'REINDEX rebuilds indexes'],
    ['sqlite', 'ANALYZE', 'ANALYZE writes statistics tables'],
    ['sqlite', 'TABLE t', 'sqlbridge cannot tell what TABLE does'],
    ['mssql', 'INSERT dbo.t VALUES (1)', `INSERT changes data; ${READ_ONLY}`],
    ['mssql', 'DELETE dbo.t', `DELETE changes data; ${READ_ONLY}`],
    ['mssql', 'TRUNCATE TABLE dbo.t', 'TRUNCATE removes every row'],
    ['mssql', 'CREATE TABLE #t (a int)', `CREATE changes the schema; ${READ_ONLY}`],
    ['mssql', 'DECLARE @x int', `DECLARE starts procedural code; ${READ_ONLY}`],
    ['mssql', 'IF 1 = 1 SELECT 1', 'IF starts procedural code'],
    ['mssql', "WAITFOR DELAY '00:10:00'", 'WAITFOR holds a connection without reading data'],
    ['mssql', 'DBCC FREEPROCCACHE', 'DBCC runs maintenance commands'],
    ['mssql', 'KILL 52', 'KILL ends other sessions'],
    ['mssql', 'SHUTDOWN WITH NOWAIT', 'SHUTDOWN stops the server'],
    ['mssql', 'RECONFIGURE', 'RECONFIGURE changes the server’s configuration'],
    ['mssql', "BACKUP DATABASE test TO DISK = 'x'", 'BACKUP writes files on the database server'],
    ['mssql', "BULK INSERT dbo.t FROM 'c:\\x.csv'", 'BULK reads files on the database server'],
    ['mssql', 'DENY SELECT ON dbo.t TO public', 'DENY changes permissions'],
    ['mssql', "EXECUTE AS LOGIN = 'sa'", 'EXECUTE runs a procedure or SQL text'],
    ['mssql', 'REVERT', 'REVERT changes the database session'],
    ['mssql', "RAISERROR('x', 16, 1)", 'RAISERROR is procedural code'],
    ['mssql', 'RECEIVE * FROM q', 'RECEIVE takes messages off a Service Broker queue'],
    ['mssql', 'UPDATE STATISTICS dbo.t', `UPDATE STATISTICS rewrites statistics; ${NEVER}`],
    ['mssql', 'ALTER LOGIN sa ENABLE', `ALTER LOGIN changes the server or its security, not the data; ${NEVER}`],
    ['mssql', 'ENABLE TRIGGER ALL ON dbo.t', 'ENABLE TRIGGER changes what runs on writes']
  ] as [Dialect, string, string][])('%s refuses %j: %s', (dialect, sql, reason) => {
    expect(rejection(dialect, 'read', sql)).toContain(reason);
  });

  it.each([
    ['postgres', 'FROBNICATE t'],
    ['mysql', 'HELP contents'],
    ['sqlite', 'FROBNICATE t']
  ] as [Dialect, string][])('%s refuses %j, a statement it cannot classify', (dialect, sql) => {
    expect(rejection(dialect, 'read', sql)).toBe(
      `sqlbridge cannot tell what ${sql.split(' ')[0] ?? ''} does, so it does not run it; only statements that read data are allowed`
    );
  });

  it.each(ALL)('%s refuses a statement that does not start with a keyword', dialect => {
    expect(rejection(dialect, 'read', '1 + 1')).toBe('a statement cannot start with "1"');
    expect(rejection(dialect, 'read', "'SELECT 1'")).toBe(`a statement cannot start with "'SELECT 1'"`);
    expect(rejection(dialect, 'read', '() SELECT 1')).toBe('a statement cannot start with ")"');
  });

  it.each(ALL)('%s refuses SQL it cannot lex, naming why', dialect => {
    expect(rejection(dialect, 'read', "SELECT 'open")).toBe(
      'the statement cannot be read safely: a string is not closed'
    );
    expect(rejection(dialect, 'read', 'SELECT (1')).toBe('the statement cannot be read safely: a "(" is not closed');
  });

  it.each(ALL)('%s refuses a NUL character anywhere, in strings, comments and quoted names too', dialect => {
    // SQLite stops reading at a NUL and PostgreSQL's protocol cannot carry one: what ran would not be what was read.
    for (const sql of ["SELECT 'a\u0000b'", 'SELECT 1 /*\u0000*/', 'SELECT 1 -- \u0000', 'SELECT 1 AS "a\u0000"']) {
      expect(rejection(dialect, 'read', sql)).toBe(
        'the statement cannot be read safely: the statement contains a NUL character'
      );
    }
  });

  it.each([
    ['mysql', 'SELECT /*!50000 SLEEP(10) */ 1', 'executable comments'],
    ['mysql', 'SELECT /*+ SET_VAR(foreign_key_checks = OFF) */ 1', 'optimizer hints'],
    ['mysql', "SELECT 'a\\'; DELETE FROM t; --'", 'a backslash before a quote'],
    ['postgres', "SELECT '\\'; DELETE FROM t; --'", 'a backslash before a quote'],
    ['postgres', 'SELECT * FROM U&"d\\0061ta"', 'U&"…" names'],
    ['postgres', '/* /* */ DELETE FROM t', 'a /* comment is not closed']
  ] as [Dialect, string, string][])('%s refuses %j as unreadable: %s', (dialect, sql, reason) => {
    expect(rejection(dialect, 'read', sql)).toContain(`the statement cannot be read safely: `);
    expect(rejection(dialect, 'read', sql)).toContain(reason);
  });
});

describe('statement guard, read mode: writes hidden inside queries', () => {
  it.each([
    ['postgres', 'WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d', 'DELETE changes data'],
    ['postgres', "WITH u AS (UPDATE t SET a = 'x' RETURNING id) SELECT count(*) FROM u", 'UPDATE changes data'],
    ['postgres', 'WITH a AS (SELECT 1), b AS (INSERT INTO t VALUES (1) RETURNING 1) SELECT * FROM a', 'INSERT'],
    ['postgres', 'SELECT * FROM (SELECT 1) x WHERE EXISTS (SELECT 1 FROM (DELETE FROM t) y)', 'DELETE'],
    ['postgres', 'DELETE/**/FROM/**/t', 'DELETE changes data'],
    ['postgres', 'SELECT 1; DELETE FROM t', 'DELETE changes data'],
    ['postgres', 'SELECT 1 --\r; DELETE FROM t', 'DELETE changes data'],
    ['postgres', '/* /* */ */ DELETE FROM t', 'DELETE changes data'],
    ['postgres', "SELECT 1 /* /* */ ' */; DELETE FROM t --'", 'DELETE changes data'],
    ['postgres', "SELECT E'\\''; DELETE FROM t; --'", 'DELETE changes data'],
    ['postgres', 'SELECT $a$ $$ $a$; DELETE FROM t; --', 'DELETE changes data'],
    ['postgres', 'SELECT 1 AS "x"; DELETE FROM t; --"', 'DELETE changes data'],
    ['mysql', 'WITH x AS (SELECT 1) DELETE FROM t', 'DELETE changes data'],
    ['mysql', 'SELECT 1; DROP TABLE t', 'DROP changes the schema'],
    ['mysql', 'SELECT 1 -- x\n; DELETE FROM t', 'DELETE changes data'],
    ['mysql', 'SELECT 1--1; DELETE FROM t', 'DELETE changes data'],
    ['mysql', 'SELECT 1 /* /* */ DELETE FROM t */', 'DELETE changes data'],
    ['sqlite', 'WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x', 'INSERT changes data'],
    ['sqlite', 'SELECT 1 /* /* */ ; DROP TABLE t /* */', 'DROP changes the schema'],
    ['sqlite', "SELECT 'a\\'; DELETE FROM t; --'", 'DELETE changes data'],
    ['mssql', 'SELECT 1 DELETE dbo.t', 'DELETE changes data'],
    ['mssql', "SELECT * FROM dbo.customers UPDATE dbo.t SET v = N'x'", 'UPDATE changes data'],
    ['mssql', 'WITH x AS (SELECT TOP (1) * FROM dbo.t) DELETE FROM x', 'DELETE changes data'],
    ['mssql', 'WITH s AS (SELECT 1 AS id) MERGE dbo.t AS t USING s ON t.id = s.id WHEN MATCHED THEN DELETE;', 'MERGE'],
    ['mssql', 'SELECT 1\nGO\nDELETE FROM dbo.t', 'DELETE changes data'],
    ['mssql', 'BEGIN SELECT 1 DELETE FROM dbo.t END', 'BEGIN controls the transaction'],
    ['mssql', "SELECT 1 AS [']; DELETE FROM dbo.t; --']", 'DELETE changes data'],
    ['mssql', "SELECT 'a\\'; DELETE FROM dbo.t; --'", 'DELETE changes data'],
    ['mssql', "SELECT N'x'';DELETE FROM dbo.t;--'", undefined],
    ['mssql', '/* /* */ */ DELETE FROM dbo.t', 'DELETE changes data'],
    ['mssql', 'SELECT 1 /* /* */ DELETE FROM dbo.t */', undefined]
  ] as [Dialect, string, string | undefined][])('%s: %j', (dialect, sql, reason) => {
    if (reason === undefined) expect(rejection(dialect, 'read', sql)).toBeUndefined();
    else expect(rejection(dialect, 'read', sql)).toContain(reason);
  });
});

describe('statement guard, read mode: INTO, locks, transactions and the session', () => {
  it.each([
    ['postgres', 'SELECT * INTO copy FROM t', `SELECT … INTO creates a table; ${READ_ONLY}`],
    ['postgres', 'SELECT id INTO TEMP TABLE stash FROM t', 'SELECT … INTO creates a table'],
    ['mssql', 'SELECT * INTO #stash FROM dbo.t', `SELECT … INTO creates a table; ${READ_ONLY}`],
    ['mysql', 'SELECT 1 INTO @a', `SELECT … INTO writes a file, variables or a table; ${READ_ONLY}`],
    [
      'mysql',
      "SELECT * FROM t INTO OUTFILE '/tmp/x'",
      `INTO OUTFILE writes a file on the database server; ${READ_ONLY}`
    ],
    ['mysql', "SELECT 1 INTO DUMPFILE '/tmp/x'", 'INTO DUMPFILE writes a file on the database server'],

    ['postgres', 'SELECT * FROM t FOR UPDATE', `FOR UPDATE locks the rows it reads; ${READ_ONLY}`],
    ['postgres', 'SELECT * FROM t FOR NO KEY UPDATE', 'FOR NO KEY UPDATE locks the rows it reads'],
    ['postgres', 'SELECT * FROM t FOR SHARE', 'FOR SHARE locks the rows it reads'],
    ['postgres', 'SELECT * FROM t FOR KEY SHARE NOWAIT', 'FOR KEY SHARE locks the rows it reads'],
    ['postgres', 'SELECT * FROM t FOR /* really */ SHARE', 'FOR SHARE locks the rows it reads'],
    ['postgres', 'SELECT o.id FROM o JOIN c ON c.id = o.c FOR UPDATE OF o SKIP LOCKED', 'FOR UPDATE locks'],
    ['mysql', 'SELECT * FROM t FOR UPDATE', 'FOR UPDATE locks the rows it reads'],
    ['mysql', 'SELECT * FROM t FOR SHARE', 'FOR SHARE locks the rows it reads'],
    ['mysql', 'SELECT * FROM t LOCK IN SHARE MODE', 'LOCK IN SHARE MODE locks the rows it reads'],
    [
      'mssql',
      'SELECT * FROM dbo.t WITH (UPDLOCK, ROWLOCK)',
      'the UPDLOCK hint takes locks held until the transaction ends'
    ],
    ['mssql', 'SELECT * FROM dbo.t WITH (NOLOCK, HOLDLOCK)', 'the HOLDLOCK hint takes locks'],
    ['mssql', 'SELECT COUNT(*) FROM dbo.t (TABLOCKX)', 'the TABLOCKX hint takes locks'],
    ['mssql', 'SELECT * FROM dbo.t WITH (XLOCK)', 'the XLOCK hint takes locks'],
    ['mssql', 'SELECT * FROM dbo.t WITH (SERIALIZABLE)', 'the SERIALIZABLE hint takes locks'],
    ['mssql', 'SELECT * FROM dbo.t WITH (REPEATABLEREAD)', 'the REPEATABLEREAD hint takes locks'],
    ['postgres', 'LOCK TABLE t IN ACCESS EXCLUSIVE MODE', 'LOCK locks tables'],
    ['mysql', 'LOCK TABLES t READ', 'LOCK TABLES locks tables until the session unlocks them'],

    ['postgres', 'BEGIN', `BEGIN controls the transaction sqlbridge runs every statement in; ${READ_ONLY}`],
    ['postgres', 'START TRANSACTION READ WRITE', 'START controls the transaction'],
    ['postgres', 'COMMIT AND CHAIN', 'COMMIT controls the transaction'],
    ['postgres', 'SELECT 1; END', 'END controls the transaction'],
    ['postgres', 'ABORT', 'ABORT controls the transaction'],
    ['postgres', 'ROLLBACK', 'ROLLBACK controls the transaction'],
    ['postgres', 'SAVEPOINT s', 'SAVEPOINT controls the transaction'],
    ['postgres', "PREPARE TRANSACTION 'x'", 'PREPARE stores a statement or a transaction'],
    ['mysql', 'START TRANSACTION', 'START controls the transaction'],
    ['mysql', 'SELECT 1; COMMIT', 'COMMIT controls the transaction'],
    ['mysql', "XA START 'x'", 'XA controls the transaction'],
    ['sqlite', 'BEGIN IMMEDIATE', 'BEGIN controls the transaction'],
    ['sqlite', 'END', 'END controls the transaction'],
    ['sqlite', 'RELEASE s', 'RELEASE controls the transaction'],
    ['mssql', 'BEGIN TRAN', 'BEGIN controls the transaction'],
    ['mssql', 'SELECT 1 COMMIT', `COMMIT controls the transaction sqlbridge runs every statement in; ${READ_ONLY}`],
    ['mssql', 'SELECT 1 ROLLBACK', 'ROLLBACK controls the transaction'],
    ['mssql', 'SAVE TRAN x', 'SAVE controls the transaction'],
    ['mssql', 'BEGIN DISTRIBUTED TRANSACTION', 'BEGIN controls the transaction'],

    [
      'postgres',
      'SET search_path = evil, public',
      `SET changes the database session, which other callers share; ${READ_ONLY}`
    ],
    ['postgres', 'SET SESSION AUTHORIZATION postgres', 'SET changes the database session'],
    ['postgres', 'RESET ALL', 'RESET changes the database session'],
    ['postgres', 'DISCARD ALL', 'DISCARD changes the database session'],
    ['mysql', 'SET autocommit = 1', 'SET changes the database session'],
    ['mysql', 'USE mysql', 'USE changes the database session'],
    ['mysql', 'SELECT @a := 1', `:= assigns a user variable, which outlives the statement; ${READ_ONLY}`],
    ['mysql', 'SELECT * FROM t WHERE (@n := @n + 1) > 0', ':= assigns a user variable'],
    ['mssql', 'SET NOCOUNT ON', `SET changes the database session, which other callers share; ${READ_ONLY}`],
    ['mssql', 'SELECT 1 SET TRANSACTION ISOLATION LEVEL SERIALIZABLE', 'SET changes the database session'],
    ['mssql', 'SET CONTEXT_INFO 0x01', 'SET changes the database session'],
    ['mssql', 'USE master', 'USE changes the database session'],
    ['mssql', 'SELECT 1 USE master', 'USE changes the database session']
  ] as [Dialect, string, string][])('%s refuses %j: %s', (dialect, sql, reason) => {
    expect(rejection(dialect, 'read', sql)).toContain(reason);
  });
});

describe('statement guard, read mode: functions, procedures and other servers', () => {
  it.each([
    [
      'postgres',
      "SELECT set_config('search_path', 'evil', false)",
      `set_config() changes the database session, which other callers share; ${READ_ONLY}`
    ],
    ['postgres', "SELECT pg_catalog.set_config('a', 'b', false)", 'set_config() changes the database session'],
    ['postgres', "SELECT pg_catalog.\"set_config\"('a', 'b', false)", 'set_config() changes the database session'],
    ['postgres', 'SELECT "pg_catalog"."set_config"(\'a\', \'b\', false)', 'set_config() changes the database session'],
    ['postgres', "SELECT set_config /* later */ ('a', 'b', false)", 'set_config() changes the database session'],
    ['postgres', "SELECT set_config -- later\n('a', 'b', false)", 'set_config() changes the database session'],
    ['postgres', "SELECT SET_CONFIG('a', 'b', false)", 'set_config() changes the database session'],
    ['postgres', 'SELECT setseed(0.5)', 'setseed() changes the database session'],
    ['postgres', "SELECT nextval('s')", `nextval() advances a sequence; ${READ_ONLY}`],
    ['postgres', "SELECT setval('s', 1)", 'setval() changes a sequence'],
    ['postgres', 'SELECT pg_advisory_lock(1)', 'advisory locks outlive the statement'],
    ['postgres', 'SELECT pg_try_advisory_xact_lock(1)', 'advisory locks outlive the statement'],
    ['postgres', 'SELECT pg_advisory_unlock_all()', 'advisory locks outlive the statement'],
    [
      'postgres',
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity',
      'pg_terminate_backend() ends other sessions'
    ],
    ['postgres', 'SELECT pg_cancel_backend(1)', 'pg_cancel_backend() stops other sessions’ queries'],
    ['postgres', 'SELECT pg_reload_conf()', 'pg_reload_conf() changes the state of the database server'],
    ['postgres', "SELECT pg_notify('c', 'x')", 'pg_notify() sends a message to other sessions'],
    ['postgres', 'SELECT pg_sleep(600)', 'pg_sleep() holds a connection without reading data'],
    ['postgres', "SELECT pg_sleep_for('1 minute')", 'pg_sleep() holds a connection'],
    ['postgres', "SELECT pg_read_file('/etc/passwd')", 'pg_read_file() reads or writes files on the database server'],
    ['postgres', "SELECT * FROM pg_ls_dir('.')", 'this function lists files on the database server'],
    ['postgres', "SELECT lo_import('/etc/passwd')", 'lo_import() reads or writes files on the database server'],
    ['postgres', "SELECT lo_from_bytea(0, 'x')", 'large-object functions create, change or open large objects'],
    [
      'postgres',
      "SELECT * FROM dblink('host=x', 'SELECT 1') AS t(x int)",
      'dblink functions connect to other databases'
    ],
    ['postgres', "SELECT query_to_xml('DELETE FROM t RETURNING *', true, true, '')", 'query_to_xml() runs SQL text'],
    ['postgres', 'SELECT txid_current()', 'txid_current() assigns a transaction id'],
    ['postgres', 'SELECT pg_stat_reset()', 'this function resets the server’s statistics'],
    ['postgres', "SELECT pg_create_restore_point('x')", 'this function changes the state of the database server'],
    ['mysql', "SELECT GET_LOCK('a', 10)", `GET_LOCK() takes a named lock that outlives the statement; ${READ_ONLY}`],
    ['mysql', "SELECT `get_lock`('a', 10)", 'GET_LOCK() takes a named lock'],
    ['mysql', "SELECT get_lock /* c */ ('a', 10)", 'GET_LOCK() takes a named lock'],
    ['mysql', "SELECT RELEASE_LOCK('a')", 'RELEASE_LOCK() releases a named lock'],
    ['mysql', "SELECT LOAD_FILE('/etc/passwd')", 'LOAD_FILE() reads a file on the database server'],
    ['mysql', 'SELECT SLEEP(10)', 'SLEEP() holds a connection without reading data'],
    ['mysql', "SELECT BENCHMARK(1e9, MD5('x'))", 'BENCHMARK() runs an expression repeatedly'],
    ['mysql', 'SELECT NEXTVAL(s)', 'NEXTVAL() advances a sequence'],
    ['mysql', 'SELECT NEXT VALUE FOR s', 'NEXT VALUE FOR advances a sequence'],
    ['mysql', 'SELECT LAST_INSERT_ID(5)', 'LAST_INSERT_ID(expr) sets a session value'],
    ['mysql', "SELECT sys_exec('id')", 'sys_exec() runs operating-system commands'],
    ['mysql', 'SELECT * FROM t PROCEDURE ANALYSE()', 'PROCEDURE runs a procedure over the result'],
    [
      'sqlite',
      "SELECT load_extension('/tmp/x.so')",
      `load_extension() loads native code into the server; ${READ_ONLY}`
    ],
    ['sqlite', 'SELECT "load_extension"(\'/tmp/x.so\')', 'load_extension() loads native code'],
    ['sqlite', "SELECT readfile('/etc/passwd')", 'readfile() reads or writes files on the server'],
    ['sqlite', "SELECT writefile('/tmp/x', 'y')", 'writefile() reads or writes files on the server'],
    ['sqlite', "SELECT * FROM fsdir('/')", 'fsdir() lists files on the server'],
    ['sqlite', "SELECT eval('DELETE FROM t')", 'eval() runs SQL text the guard cannot check'],
    ['mssql', 'SELECT NEXT VALUE FOR dbo.s', `NEXT VALUE FOR advances a sequence; ${READ_ONLY}`],
    ['mssql', 'SELECT NEXT VALUE FOR dbo.s OVER (ORDER BY id) FROM dbo.t', 'NEXT VALUE FOR advances a sequence'],
    [
      'mssql',
      "SELECT * FROM sys.fn_get_audit_file('c:\\*.sqlaudit', DEFAULT, DEFAULT)",
      'fn_get_audit_file() reads files'
    ],
    ['mssql', "SELECT * FROM sys.fn_xe_file_target_read_file('x', NULL, NULL, NULL)", 'this function reads files'],
    ['mssql', "SELECT * FROM sys.dm_os_file_exists('\\\\attacker\\share')", 'this function probes files'],
    ['mssql', 'sp_who', `sp_ procedures run code on the server; ${READ_ONLY}`],
    ['mssql', "xp_cmdshell 'whoami'", 'xp_ procedures run code on the server'],
    ['mssql', "master.sys.xp_dirtree '\\\\attacker\\share'", 'xp_ procedures run code on the server'],
    ['mssql', 'EXEC sp_who', 'EXEC runs a procedure or SQL text the guard cannot check'],
    ['mssql', "EXECUTE sp_executesql N'DELETE FROM dbo.t'", 'EXECUTE runs a procedure or SQL text'],
    ['mssql', "EXEC('DELETE FROM dbo.t')", 'EXEC runs a procedure or SQL text'],
    ['mssql', 'SELECT 1 EXEC dbo.archive', 'EXEC runs a procedure or SQL text'],
    [
      'mssql',
      "SELECT * FROM OPENROWSET(BULK 'c:\\windows\\win.ini', SINGLE_CLOB) AS x",
      'OPENROWSET reads files and other servers'
    ],
    ['mssql', "SELECT * FROM OPENQUERY([LOOPBACK], 'SELECT 1')", 'OPENQUERY runs SQL on a linked server'],
    [
      'mssql',
      "SELECT * FROM OPENDATASOURCE('MSOLEDBSQL', 'Server=x').db.dbo.t",
      'OPENDATASOURCE connects to another server'
    ],
    ['mssql', "SELECT * FROM OPENXML(@h, '/x')", 'OPENXML reads documents prepared by system procedures']
  ] as [Dialect, string, string][])('%s refuses %j: %s', (dialect, sql, reason) => {
    expect(rejection(dialect, 'read', sql)).toContain(reason);
  });
});

describe('statement guard, read mode: T-SQL names', () => {
  const FOUR_PARTS =
    'names of more than 3 parts can reach linked servers; name objects as database.schema.table at most and use aliases for columns';

  it.each([
    'SELECT * FROM srv.db.dbo.t',
    'SELECT * FROM [srv].[db].[dbo].[t]',
    'SELECT * FROM "srv"."db"."dbo"."t"',
    'SELECT * FROM srv . db . dbo . t',
    'SELECT * FROM srv./* x */db.dbo.t',
    'SELECT * FROM srv.db..t',
    'SELECT * FROM srv...t',
    'SELECT a FROM dbo.t WHERE x IN (SELECT y FROM srv.db.dbo.u)'
  ])('refuses the four-part name in %j', sql => {
    expect(rejection('mssql', 'read', sql)).toBe(FOUR_PARTS);
    expect(rejection('mssql', 'write', sql)).toBe(FOUR_PARTS);
  });

  it.each([
    'SELECT * FROM db..t',
    'SELECT * FROM [db]..[t]',
    'SELECT * FROM db.dbo.t',
    'SELECT t.a, u.b FROM db.dbo.t AS t JOIN dbo.u AS u ON t.id = u.id',
    'SELECT a.b FROM c.d, e.f.g'
  ])('allows %j', sql => {
    expect(rejection('mssql', 'read', sql)).toBeUndefined();
  });

  it('leaves names of any length to the other dialects', () => {
    expect(rejection('postgres', 'read', 'SELECT (t.c).f.g FROM a.b.t')).toBeUndefined();
  });
});

describe('statement guard, read mode: EXPLAIN and PRAGMA', () => {
  it.each([
    ['postgres', 'EXPLAIN ANALYZE DELETE FROM t', `EXPLAIN DELETE may run the statement; ${READ_ONLY}`],
    ['postgres', "EXPLAIN (ANALYZE, FORMAT JSON) UPDATE t SET a = 'x'", 'EXPLAIN UPDATE may run the statement'],
    ['postgres', 'EXPLAIN ANALYZE INSERT INTO t SELECT 1', 'EXPLAIN INSERT may run the statement'],
    ['postgres', 'EXPLAIN ANALYZE CREATE TABLE t AS SELECT 1', 'EXPLAIN CREATE may run the statement'],
    ['postgres', 'EXPLAIN ANALYZE WITH d AS (DELETE FROM t RETURNING 1) SELECT * FROM d', 'DELETE changes data'],
    ['postgres', "EXPLAIN ANALYZE SELECT nextval('s')", 'nextval() advances a sequence'],
    ['postgres', 'EXPLAIN EXECUTE p', 'EXPLAIN is allowed only for a query'],
    ['postgres', 'EXPLAIN', 'EXPLAIN is allowed only for a query'],
    ['postgres', 'EXPLAIN EXPLAIN SELECT 1', 'EXPLAIN is allowed only for a query'],
    ['mysql', 'EXPLAIN ANALYZE DELETE FROM t', 'EXPLAIN DELETE may run the statement'],
    ['mysql', 'EXPLAIN FORMAT=JSON UPDATE t SET a = 1', 'EXPLAIN UPDATE may run the statement'],
    ['sqlite', 'EXPLAIN DELETE FROM t', 'EXPLAIN DELETE may run the statement'],
    ['sqlite', 'EXPLAIN QUERY PLAN INSERT INTO t VALUES (1)', 'EXPLAIN INSERT may run the statement'],
    ['sqlite', 'EXPLAIN PRAGMA table_info(t)', 'EXPLAIN is allowed only for a query'],
    [
      'sqlite',
      'PRAGMA journal_mode = WAL',
      'PRAGMA journal_mode can change the database or the connection; only PRAGMAs that read the catalog are allowed'
    ],
    ['sqlite', 'PRAGMA journal_mode', 'PRAGMA journal_mode can change the database or the connection'],
    ['sqlite', 'PRAGMA writable_schema(1)', 'PRAGMA writable_schema can change'],
    ['sqlite', 'PRAGMA main.writable_schema = 1', 'PRAGMA writable_schema can change'],
    ['sqlite', 'PRAGMA "query_only" = 0', 'PRAGMA query_only can change'],
    ['sqlite', 'PRAGMA table_info = 1', 'PRAGMA table_info can change'],
    ['sqlite', 'PRAGMA table_info.journal_mode(WAL)', 'PRAGMA journal_mode can change']
  ] as [Dialect, string, string][])('%s refuses %j: %s', (dialect, sql, reason) => {
    expect(rejection(dialect, 'read', sql)).toContain(reason);
  });

  it('checks a PRAGMA that reads the catalog like any statement after that', () => {
    expect(rejection('sqlite', 'read', 'PRAGMA table_info(t); DELETE FROM t')).toContain('DELETE changes data');
  });
});

describe('statement guard: empty input and statement counting', () => {
  it.each(
    ALL.flatMap(d =>
      ['', '   \n\t', '-- only a comment', '/* only a comment */', ';', ' ; ;; '].map((s): [Dialect, string] => [d, s])
    )
  )('%s refuses %j: there is no statement to run', (dialect, sql) => {
    expect(rejection(dialect, 'read', sql)).toBe('there is no statement to run');
    expect(rejection(dialect, 'write', sql)).toBe('there is no statement to run');
  });

  it.each([
    ['postgres', 'SELECT 1', 1],
    ['postgres', 'SELECT 1;', 1],
    ['postgres', ';; SELECT 1 ;;', 1],
    ['postgres', 'SELECT 1; SELECT 2', 2],
    ['postgres', "SELECT ';'; SELECT $$;$$; SELECT 1 -- ;\n", 3],
    ['mysql', 'SELECT 1; SELECT 2; SELECT 3', 3],
    ['sqlite', 'SELECT 1; PRAGMA table_info(t)', 2],
    ['mssql', 'SELECT 1 SELECT 2', 2],
    ['mssql', 'SELECT 1; SELECT 2', 2],
    ['mssql', 'WITH c AS (SELECT 1 AS x) SELECT x FROM c', 1],
    ['mssql', 'WITH a AS (SELECT 1 AS x), b AS (SELECT 2 AS y) SELECT * FROM a, b', 1],
    ['mssql', '(SELECT 1) UNION (SELECT 2)', 1],
    ['mssql', 'SELECT 1 UNION ALL SELECT 2', 1],
    ['mssql', 'SELECT 1 UNION SELECT 2 EXCEPT SELECT 3', 1],
    ['mssql', 'SELECT a FROM t WHERE a IN (SELECT b FROM u) AND EXISTS (SELECT 1)', 1],
    ['mssql', 'SELECT x AS y, (SELECT 1) AS z FROM t', 1],
    ['mssql', 'SELECT 1 WITH c AS (SELECT 2 AS x) SELECT x FROM c', 2]
  ] as [Dialect, string, number][])('%s counts %j as %i statement(s)', (dialect, sql, count) => {
    expect(statements(dialect, 'read', sql)).toHaveLength(count);
    if (count > 1) {
      expect(rejection(dialect, 'read', sql, count - 1)).toBe(
        `${count} statements were sent in one call; this environment accepts ${count === 2 ? 'one' : `at most ${count - 1}`}`
      );
    }
    expect(rejection(dialect, 'read', sql, count)).toBeUndefined();
  });

  it('names the refused statement before counting', () => {
    expect(rejection('postgres', 'read', 'SELECT 1; SELECT 2; DELETE FROM t')).toBe(
      `DELETE changes data; ${READ_ONLY}`
    );
    expect(rejection('mssql', 'read', 'SELECT 1 SELECT 2 DELETE FROM t', 5)).toBe(`DELETE changes data; ${READ_ONLY}`);
  });

  it.each([
    ['mssql', 'INSERT INTO t SELECT * FROM u', 1],
    ['mssql', 'INSERT INTO t (a) SELECT a FROM u UNION ALL SELECT 1', 1],
    ['mssql', 'INSERT INTO t VALUES (1) SELECT 2', 2],
    ['mssql', 'DELETE FROM t SELECT 1', 2],
    ['mssql', 'DELETE FROM t DELETE FROM u', 2],
    ['mssql', 'UPDATE t SET a = 1 DELETE FROM u', 2],
    ['mssql', 'WITH c AS (SELECT * FROM t) DELETE FROM c', 1],
    ['mssql', 'WITH c AS (SELECT * FROM t) UPDATE c SET a = 1', 1],
    [
      'mssql',
      'MERGE dbo.t AS x USING dbo.u AS y ON x.id = y.id WHEN MATCHED THEN UPDATE SET x.a = y.a WHEN NOT MATCHED THEN INSERT (id) VALUES (y.id) WHEN NOT MATCHED BY SOURCE THEN DELETE;',
      1
    ],
    ['mssql', 'CREATE TABLE a (id int REFERENCES b (id) ON DELETE CASCADE ON UPDATE NO ACTION)', 1],
    ['mssql', 'ALTER TABLE a ADD b int, c int', 1],
    ['mssql', 'DROP TABLE a, b', 1],
    ['postgres', 'UPDATE t SET a = 1; DELETE FROM u', 2]
  ] as [Dialect, string, number][])('%s counts the writes in %j as %i statement(s)', (dialect, sql, count) => {
    expect(statements(dialect, 'write', sql)).toHaveLength(count);
    expect(rejection(dialect, 'write', sql, count)).toBeUndefined();
    if (count > 1) expect(rejection(dialect, 'write', sql, 1)).toContain(`${count} statements were sent in one call`);
  });
});

describe('statement guard, write mode: allowed', () => {
  it.each([
    ['postgres', 'INSERT INTO t SELECT * FROM u'],
    ['postgres', "INSERT INTO t VALUES (1, 'x') ON CONFLICT (id) DO UPDATE SET v = excluded.v RETURNING *"],
    ['postgres', 'UPDATE t SET a = 1 WHERE b = 2'],
    ['postgres', 'DELETE FROM t WHERE id = 1'],
    ['postgres', 'WITH d AS (DELETE FROM t RETURNING *) INSERT INTO archive SELECT * FROM d'],
    ['postgres', 'MERGE INTO t USING u ON t.id = u.id WHEN MATCHED THEN UPDATE SET a = u.a'],
    ['postgres', 'TRUNCATE t'],
    ['postgres', 'CREATE TABLE t (a int)'],
    ['postgres', 'ALTER TABLE t ADD COLUMN b int'],
    ['postgres', 'DROP TABLE IF EXISTS t'],
    ['postgres', "COMMENT ON TABLE t IS 'x'"],
    ['postgres', "SELECT nextval('s')"],
    ['postgres', 'SELECT * FROM t FOR UPDATE'],
    ['postgres', 'SELECT * INTO copy FROM t'],
    ['postgres', 'EXPLAIN ANALYZE DELETE FROM t'],
    ['postgres', 'SELECT 1'],
    ['mysql', 'INSERT INTO t VALUES (1)'],
    ['mysql', 'INSERT t (a) VALUES (1)'],
    ['mysql', 'INSERT INTO t SELECT * FROM u'],
    ['mysql', 'INSERT INTO t VALUES (1) ON DUPLICATE KEY UPDATE a = VALUES(a)'],
    ['mysql', 'REPLACE INTO t VALUES (1)'],
    ['mysql', "REPLACE INTO t SELECT REPLACE(a, 'x', 'y') FROM u"],
    ['mysql', 'UPDATE t SET a = 1 WHERE b = 2'],
    ['mysql', 'DELETE FROM t WHERE id = 1'],
    ['mysql', 'SELECT * FROM t FOR UPDATE'],
    ['mysql', 'SELECT NEXT VALUE FOR s'],
    ['sqlite', 'INSERT INTO t VALUES (1)'],
    ['sqlite', 'INSERT OR REPLACE INTO t VALUES (1)'],
    ['sqlite', 'REPLACE INTO t VALUES (1)'],
    ['sqlite', 'UPDATE t SET a = 1'],
    ['sqlite', 'CREATE TABLE t (a)'],
    ['sqlite', 'CREATE INDEX i ON t (a)'],
    ['sqlite', 'ALTER TABLE t ADD COLUMN b'],
    ['sqlite', 'DROP TABLE IF EXISTS t'],
    ['sqlite', 'PRAGMA table_info(t)'],
    ['mssql', 'UPDATE t SET a = 1'],
    ['mssql', 'UPDATE dbo.t SET a = 1, b = 2 FROM dbo.t JOIN dbo.u ON u.id = t.id WHERE u.x = 1'],
    ['mssql', 'UPDATE TOP (10) dbo.t WITH (ROWLOCK) SET a = 1 WHERE b = 2'],
    ['mssql', 'UPDATE [dbo].[t] SET [a] = 1'],
    ['mssql', 'UPDATE @t SET a = 1'],
    ['mssql', 'WITH c AS (SELECT * FROM t) UPDATE c SET a = 1'],
    [
      'mssql',
      'MERGE dbo.t AS x USING dbo.u AS y ON x.id = y.id WHEN MATCHED THEN UPDATE SET x.a = y.a WHEN NOT MATCHED THEN INSERT (id) VALUES (y.id);'
    ],
    ['mssql', 'INSERT INTO t SELECT * FROM u'],
    ['mssql', 'INSERT INTO t (a) VALUES (1)'],
    ['mssql', 'INSERT dbo.t WITH (TABLOCK) (a) SELECT a FROM u'],
    ['mssql', 'DELETE TOP (1) FROM dbo.t OUTPUT deleted.*'],
    ['mssql', 'DROP TABLE IF EXISTS dbo.t'],
    ['mssql', 'ALTER TABLE dbo.t DROP COLUMN IF EXISTS c'],
    ['mssql', 'CREATE TABLE dbo.t (a int)'],
    ['mssql', 'CREATE TABLE #scratch (a int)'],
    ['mssql', 'ALTER TABLE dbo.t ADD b int'],
    ['mssql', 'TRUNCATE TABLE dbo.t'],
    ['mssql', 'CREATE TABLE a (id int REFERENCES b (id) ON DELETE CASCADE ON UPDATE SET NULL)'],
    ['mssql', 'SELECT * INTO #x FROM t'],
    ['mssql', 'SELECT * FROM t WITH (UPDLOCK)'],
    ['mssql', 'SELECT NEXT VALUE FOR dbo.s']
  ] as [Dialect, string][])('%s allows %j', (dialect, sql) => {
    expect(rejection(dialect, 'write', sql)).toBeUndefined();
  });
});

describe('statement guard, write mode: escapes still refused', () => {
  it.each([
    ['postgres', 'COMMIT', `COMMIT controls the transaction sqlbridge runs every statement in; ${NEVER}`],
    ['postgres', 'UPDATE t SET a = 1; COMMIT', 'COMMIT controls the transaction'],
    ['postgres', 'ROLLBACK', 'ROLLBACK controls the transaction'],
    ['postgres', 'BEGIN', 'BEGIN controls the transaction'],
    ['postgres', 'SET search_path = evil', `SET changes the database session, which other callers share; ${NEVER}`],
    [
      'postgres',
      "UPDATE t SET a = set_config('x', 'y', false)",
      `set_config() changes the database session, which other callers share; ${NEVER}`
    ],
    ['postgres', 'SELECT pg_advisory_lock(1)', `advisory locks outlive the statement; ${NEVER}`],
    ['postgres', "INSERT INTO t SELECT pg_read_file('/etc/passwd')", 'pg_read_file() reads or writes files'],
    ['postgres', 'GRANT ALL ON t TO PUBLIC', `GRANT changes permissions; ${NEVER}`],
    ['postgres', 'REVOKE ALL ON t FROM PUBLIC', 'REVOKE changes permissions'],
    ['postgres', 'ALTER SYSTEM SET fsync = off', 'ALTER SYSTEM changes the server’s configuration'],
    ['postgres', 'CREATE ROLE evil', 'CREATE ROLE changes the server, not the data'],
    ['postgres', "ALTER ROLE postgres PASSWORD 'x'", 'ALTER ROLE changes the server, not the data'],
    ['postgres', 'CREATE EXTENSION dblink', 'CREATE EXTENSION changes the server, not the data'],
    ['postgres', 'CREATE OR REPLACE LANGUAGE plperlu', 'procedural languages run code'],
    [
      'postgres',
      'ALTER DEFAULT PRIVILEGES GRANT ALL ON TABLES TO PUBLIC',
      'ALTER DEFAULT PRIVILEGES changes permissions'
    ],
    ['postgres', 'CREATE EVENT TRIGGER e ON ddl_command_start EXECUTE FUNCTION f()', 'event triggers run code'],
    ['postgres', "COPY t FROM '/tmp/x'", `COPY reads or writes files and programs on the database server; ${NEVER}`],
    ['postgres', 'LOCK TABLE t', 'LOCK locks tables'],
    ['mysql', 'COMMIT', 'COMMIT controls the transaction'],
    ['mysql', 'SET autocommit = 1', 'SET changes the database session'],
    ['mysql', 'GRANT ALL ON *.* TO x', 'GRANT changes permissions'],
    [
      'mysql',
      "INSERT INTO t SELECT * FROM u INTO OUTFILE '/tmp/x'",
      `INTO OUTFILE writes a file on the database server; ${NEVER}`
    ],
    ['mysql', 'SELECT 1 INTO @a', `SELECT … INTO writes a file, variables or a table; ${NEVER}`],
    ['mysql', 'INSERT INTO t SELECT 1 INTO @a', 'SELECT … INTO writes a file, variables or a table'],
    [
      'mysql',
      "INSERT INTO t VALUES (LOAD_FILE('/etc/passwd'))",
      `LOAD_FILE() reads a file on the database server; ${NEVER}`
    ],
    ['mysql', "UPDATE t SET a = GET_LOCK('x', 1)", 'GET_LOCK() takes a named lock'],
    ['mysql', 'UPDATE t SET a = @x := 1', `:= assigns a user variable, which outlives the statement; ${NEVER}`],
    ['mysql', 'CALL p()', 'CALL runs a stored procedure'],
    ['sqlite', 'END', 'END controls the transaction'],
    ['sqlite', "ATTACH DATABASE '/tmp/x.db' AS x", `ATTACH opens another database file; ${NEVER}`],
    [
      'sqlite',
      "INSERT INTO t VALUES (load_extension('/tmp/x.so'))",
      `load_extension() loads native code into the server; ${NEVER}`
    ],
    ['sqlite', 'PRAGMA journal_mode = WAL', 'PRAGMA journal_mode can change the database or the connection'],
    ['sqlite', "VACUUM INTO '/tmp/copy.db'", 'VACUUM rewrites the database file'],
    ['mssql', 'COMMIT', `COMMIT controls the transaction sqlbridge runs every statement in; ${NEVER}`],
    ['mssql', 'DELETE FROM t COMMIT', 'COMMIT controls the transaction'],
    ['mssql', 'UPDATE t SET a = 1 ROLLBACK', 'ROLLBACK controls the transaction'],
    ['mssql', 'BEGIN TRAN UPDATE t SET a = 1', 'BEGIN controls the transaction'],
    ['mssql', 'SAVE TRANSACTION s', 'SAVE controls the transaction'],
    [
      'mssql',
      'UPDATE t SET a = 1 SET NOCOUNT ON',
      `SET changes the database session, which other callers share; ${NEVER}`
    ],
    ['mssql', 'UPDATE t SET a = 1; SET IMPLICIT_TRANSACTIONS OFF', 'SET changes the database session'],
    ['mssql', 'UPDATE t SET a = 1 WHERE b = 2 SET ROWCOUNT 1', 'SET changes the database session'],
    ['mssql', 'DELETE FROM t SET LOCK_TIMEOUT 0', 'SET changes the database session'],
    ['mssql', 'SET NOCOUNT ON UPDATE t SET a = 1', 'SET changes the database session'],
    ['mssql', 'EXEC dbo.archive', `EXEC runs a procedure or SQL text the guard cannot check; ${NEVER}`],
    ['mssql', 'INSERT INTO t EXEC dbo.p', 'EXEC runs a procedure or SQL text'],
    ['mssql', "EXEC ('DELETE FROM dbo.t') AT [LOOPBACK]", 'EXEC runs a procedure or SQL text'],
    ['mssql', 'GRANT SELECT ON dbo.t TO public', `GRANT changes permissions; ${NEVER}`],
    ['mssql', 'DENY SELECT ON dbo.t TO public', 'DENY changes permissions'],
    [
      'mssql',
      "CREATE LOGIN evil WITH PASSWORD = 'x'",
      `CREATE LOGIN changes the server or its security, not the data; ${NEVER}`
    ],
    ['mssql', 'CREATE USER evil FOR LOGIN evil', 'CREATE USER changes the server or its security'],
    ['mssql', 'ALTER SERVER ROLE sysadmin ADD MEMBER evil', 'ALTER SERVER changes the server or its security'],
    ['mssql', 'ALTER ROLE db_owner ADD MEMBER guest', 'ALTER ROLE changes the server or its security'],
    ['mssql', 'ALTER DATABASE CURRENT SET READ_WRITE', 'ALTER DATABASE changes the server or its security'],
    ['mssql', 'CREATE TRIGGER tr ON dbo.t AFTER INSERT AS DELETE FROM dbo.u', 'CREATE TRIGGER defines code'],
    ['mssql', 'DISABLE TRIGGER ALL ON dbo.t', 'DISABLE TRIGGER changes what runs on writes'],
    ['mssql', 'UPDATE STATISTICS dbo.t WITH FULLSCAN', `UPDATE STATISTICS rewrites statistics; ${NEVER}`],
    ['mssql', "INSERT INTO t SELECT * FROM OPENROWSET(BULK 'c:\\x', SINGLE_CLOB) AS x", 'OPENROWSET reads files'],
    ['mssql', "sp_configure 'xp_cmdshell', 1", `sp_ procedures run code on the server; ${NEVER}`],
    ['mssql', "WAITFOR DELAY '00:10:00'", 'WAITFOR holds a connection'],
    ['mssql', 'DECLARE @x int', 'DECLARE starts procedural code'],
    ['mssql', 'IF 1 = 1 DELETE FROM t', 'IF starts procedural code']
  ] as [Dialect, string, string][])('%s refuses %j: %s', (dialect, sql, reason) => {
    expect(rejection(dialect, 'write', sql)).toContain(reason);
  });

  it.each([
    ['CREATE TABLE t (a int)', 'CREATE'],
    ['ALTER TABLE t ADD b int', 'ALTER'],
    ['DROP TABLE IF EXISTS t', 'DROP'],
    ['TRUNCATE TABLE t', 'TRUNCATE'],
    ['RENAME TABLE a TO b', 'RENAME']
  ])('refuses the MySQL schema change %j in writes, since it commits by itself', (sql, keyword) => {
    expect(rejection('mysql', 'write', sql)).toBe(
      `${keyword} commits by itself in this database, so it cannot run inside sqlbridge’s transaction; make schema changes with a migration tool`
    );
  });

  it.each([
    ['postgres', 'CREATE TABLE t (a int)'],
    ['postgres', 'DROP TABLE t'],
    ['sqlite', 'CREATE TABLE t (a)'],
    ['sqlite', 'DROP TABLE t'],
    ['mssql', 'CREATE TABLE t (a int)'],
    ['mssql', 'DROP TABLE t']
  ] as [Dialect, string][])('%s runs the schema change %j inside the transaction in writes', (dialect, sql) => {
    expect(rejection(dialect, 'write', sql)).toBeUndefined();
    expect(rejection(dialect, 'read', sql)).toContain(`changes the schema; ${READ_ONLY}`);
  });

  // In T-SQL, FROBNICATE t runs the procedure FROBNICATE: see the procedure tests below.
  it.each(ALL.filter(d => d !== 'mssql'))('%s names statements it cannot classify in writes', dialect => {
    expect(rejection(dialect, 'write', 'FROBNICATE t')).toBe(
      'sqlbridge cannot tell what FROBNICATE does, so it does not run it; only statements that read or change data are allowed'
    );
  });
});

describe('StatementGuard.check', () => {
  it.each([
    ['postgres', 'SELECT 1; SELECT 2;', ['SELECT 1', 'SELECT 2']],
    ['postgres', '  SELECT /* kept */ 1 -- dropped\n;\n\nSELECT 2 ', ['SELECT /* kept */ 1', 'SELECT 2']],
    ['postgres', "SELECT ';' AS s; VALUES (1)", ["SELECT ';' AS s", 'VALUES (1)']],
    ['mysql', 'SELECT 1 # first\n; SHOW TABLES', ['SELECT 1', 'SHOW TABLES']],
    ['sqlite', 'PRAGMA table_info(t); SELECT 1', ['PRAGMA table_info(t)', 'SELECT 1']],
    ['mssql', 'SELECT 1 SELECT 2', ['SELECT 1', 'SELECT 2']],
    ['mssql', ';WITH c AS (SELECT 1 AS x) SELECT x FROM c', ['WITH c AS (SELECT 1 AS x) SELECT x FROM c']],
    ['mssql', 'SELECT 1\nSELECT [a]]b] FROM t -- end', ['SELECT 1', 'SELECT [a]]b] FROM t']]
  ] as [Dialect, string, string[]][])('%s returns the statements of %j as written', (dialect, sql, expected) => {
    expect(statements(dialect, 'read', sql)).toEqual(expected);
  });

  it('returns the statements in write mode too', () => {
    expect(statements('mssql', 'write', 'UPDATE t SET a = 1 DELETE FROM u')).toEqual([
      'UPDATE t SET a = 1',
      'DELETE FROM u'
    ]);
  });

  it.each([
    ['read', 'send one statement that only reads data (SELECT or WITH … SELECT)'],
    ['write', 'send statements that read or change data; sqlbridge runs them in a transaction of its own']
  ] as [GuardMode, string][])('throws statement_rejected with the reason as message in %s mode', (mode, hint) => {
    const sql = 'SELECT 1; COMMIT';
    let thrown: unknown;
    try {
      GUARDS.postgres.check(sql, { mode, maxStatements: 5 });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(SqlbridgeError);
    const error = thrown as SqlbridgeError;
    expect(error.code).toBe('statement_rejected');
    expect(error.message).toBe(GUARDS.postgres.rejection(sql, { mode, maxStatements: 5 }));
    expect(error.message).toContain('COMMIT controls the transaction');
    expect(error.hint).toBe(hint);
    expect(error.expose).toBe(true);
  });

  it('throws for too many statements, empty input and unreadable SQL alike', () => {
    for (const sql of ['SELECT 1; SELECT 2', '', "SELECT 'x"]) {
      expect(() => GUARDS.sqlite.check(sql, { mode: 'read', maxStatements: 1 })).toThrow(
        GUARDS.sqlite.rejection(sql, { mode: 'read', maxStatements: 1 })
      );
    }
  });
});

describe('unquote', () => {
  it.each([
    ['postgres', '"a""b"', 'a"b'],
    ['mssql', '[a]]b]', 'a]b'],
    ['mysql', '`a``b`', 'a`b'],
    ['postgres', 'plain', 'plain']
  ] as [Dialect, string, string][])('%s reads %j as %j', (dialect, text, name) => {
    const [token] = lex(text, RULES[dialect].lexer);
    expect(token).toBeDefined();
    expect(unquote(token!)).toBe(name);
  });
});

describe('disagreements with the real engines (each once got past the guard)', () => {
  it.each([
    [
      'postgres',
      'read',
      'SELECT \u00a0$$, pg_advisory_lock(1), \u00a0$$ FROM (SELECT 1 AS "\u00a0$$") t',
      'U+00A0 outside a string'
    ],
    [
      'postgres',
      'read',
      'SELECT 1 AS \u3000$$; COMMIT; DELETE FROM canary; SELECT 1 AS \u3000$$',
      'U+3000 outside a string'
    ],
    ['mysql', 'read', 'SELECT 1--\u00a0+GET_LOCK(0x61, 0) FROM t', 'U+00A0 outside a string'],
    ['mysql', 'read', "SELECT @'\\' , ', GET_LOCK(0x61, 0) #'", 'a backslash before a quote'],
    ['mysql', 'read', 'SELECT @"\\" , ", GET_LOCK(0x61, 0) #"', 'a backslash before a quote'],
    ['mysql', 'read', "SELECT 1 #\r'\n, GET_LOCK(0x61, 0) #'", 'a carriage return without a line feed'],
    ['mysql', 'read', "SELECT 1 -- \r'\n, RELEASE_LOCK(0x61) -- '", 'a carriage return without a line feed'],
    ['sqlite', 'read', "SELECT 1 --\r'\n, 2 AS x --'", 'a carriage return without a line feed'],
    ['sqlite', 'read', "SELECT $a('), load_extension(char(47)), $b(')", 'named parameters'],
    ['sqlite', 'read', 'SELECT :a, @b, #c', 'named parameters'],
    ['mssql', 'read', "SELECT 1 --\r'\nDELETE FROM dbo.canary --'", 'a carriage return without a line feed'],
    ['mssql', 'read', 'SELECT 1eDELETE FROM dbo.canary', 'a number runs straight into a name'],
    ['mssql', 'read', 'SELECT 1 AS x\u00a0DELETE FROM dbo.canary', 'U+00A0 outside a string'],
    ['mssql', 'read', 'SELECT 1\u200bDELETE dbo.canary', 'U+200B outside a string'],
    [
      'mssql',
      'write',
      'ALTER TABLE dbo.orders ADD CONSTRAINT fk FOREIGN KEY (customer_id) REFERENCES dbo.customers (id) ON UPDATE CASCADE SET IMPLICIT_TRANSACTIONS ON',
      'SET changes the database session'
    ],
    ['mssql', 'write', 'DROP SECURITY POLICY dbo.p', 'DROP SECURITY POLICY changes row-level security'],
    ['postgres', 'write', "UPDATE pg_settings SET setting = 'x' WHERE name = 'search_path'", 'writing pg_settings'],
    ['postgres', 'write', 'CREATE TEMP TABLE canary AS SELECT 1 AS id', 'temporary objects'],
    [
      'postgres',
      'write',
      'CREATE FUNCTION f() RETURNS int AS $$ SELECT pg_advisory_lock(42) $$ LANGUAGE sql',
      'CREATE FUNCTION defines code'
    ],
    ['postgres', 'write', 'CREATE OR REPLACE TRUSTED LANGUAGE plx', 'procedural languages'],
    ['postgres', 'write', 'CREATE POLICY p ON canary USING (true)', 'CREATE POLICY changes row-level security'],
    ['postgres', 'write', 'ALTER TABLE canary DISABLE ROW LEVEL SECURITY', 'ROW LEVEL SECURITY'],
    ['postgres', 'write', 'ALTER TABLE canary OWNER TO someone', 'OWNER TO changes ownership'],
    ['postgres', 'write', 'DROP OWNED BY someone', 'DROP OWNED removes'],
    ['postgres', 'write', 'CREATE RULE r AS ON INSERT TO canary DO ALSO NOTIFY x', 'CREATE RULE defines code'],
    ['postgres', 'read', "SELECT brin_summarize_new_values('i')", 'this function changes an index'],
    ['postgres', 'read', "SELECT gin_clean_pending_list('i')", 'this function changes an index'],
    ['mysql', 'write', "UPDATE mysql.global_priv SET priv = '{}'", 'the mysql schema'],
    ['mysql', 'read', 'DESC ANALYZE DELETE FROM t', 'DESC DELETE may run the statement'],
    ['mysql', 'read', 'SHOW TABLES WHERE 1 IN (SELECT 1 FROM t LOCK IN SHARE MODE)', 'LOCK IN SHARE MODE'],
    ['mssql', 'read', "SELECT * FROM sys.fn_get_audit_file_v2('x', DEFAULT, DEFAULT, DEFAULT, DEFAULT)", 'reads files']
  ] as [Dialect, GuardMode, string, string][])('%s %s refuses %j', (dialect, mode, sql, reason) => {
    expect(rejection(dialect, mode, sql, 5)).toContain(reason);
  });

  it.each([
    ['mssql', 'read', "SELECT * FROM dbo.t OPTION (USE HINT ('FORCE_LEGACY_CARDINALITY_ESTIMATION'))"],
    ['mssql', 'read', 'SELECT * FROM dbo.a INNER MERGE JOIN dbo.b ON a.id = b.id'],
    ['mssql', 'read', 'SELECT * FROM dbo.a JOIN dbo.b ON a.id = b.id OPTION (MERGE JOIN)'],
    ['mssql', 'read', 'SELECT sp_code, xp_total FROM dbo.rates'],
    ['mssql', 'read', 'SELECT CASE WHEN 1 = 1 THEN 1 END conversation'],
    ['mssql', 'write', 'ALTER TABLE dbo.t SET (LOCK_ESCALATION = AUTO)'],
    ['mssql', 'write', 'CREATE TABLE a (id int REFERENCES b (id) ON DELETE SET NULL ON UPDATE SET DEFAULT)'],
    ['mysql', 'read', "SELECT INSERT('abcdef', 2, 3, 'XYZ')"],
    ['mysql', 'read', 'EXPLAIN orders'],
    ['mysql', 'read', 'SELECT 0b101, 0x1F'],
    ['postgres', 'read', 'SELECT name, setting FROM pg_settings'],
    ['postgres', 'read', 'SELECT prolang FROM pg_catalog.pg_proc LIMIT 1'],
    ['sqlite', 'write', "INSERT INTO notes (temp, body) VALUES (21.5, 'temp')"],
    ['sqlite', 'write', "UPDATE readings SET temp = 'temp' || '.' WHERE temp > 30"],
    ['sqlite', 'read', 'SELECT * FROM temp.sqlite_master']
  ] as [Dialect, GuardMode, string][])('%s %s allows %j', (dialect, mode, sql) => {
    expect(rejection(dialect, mode, sql)).toBeUndefined();
  });

  it('still refuses a procedure named as a statement', () => {
    expect(rejection('mssql', 'read', "master.dbo.xp_cmdshell N'dir'")).toContain('xp_ procedures run code');
    expect(rejection('mssql', 'read', 'sp_who')).toContain('sp_ procedures run code');
  });
});

describe('second review', () => {
  // Each of these was checked against PostgreSQL 15 or MariaDB 10.11: the engine reads the text as the guard does.
  it.each([
    ['postgres', 'read', 'SELECT 1 /* /*/ */ ; DELETE FROM t */'],
    ['postgres', 'read', 'SELECT 1 /* *//* ; DELETE FROM t */'],
    ['postgres', 'read', 'SELECT 1 +/* ; DELETE FROM t */ 2'],
    ['postgres', 'read', 'SELECT @-- ; DELETE FROM t\n 5'],
    ['postgres', 'read', 'SELECT 2 *//* ; DELETE FROM t */ 3'],
    ['postgres', 'read', 'SELECT "language" FROM films'],
    ['mysql', 'read', 'SELECT 1 /*m!, SLEEP(5) */'],
    ['mysql', 'read', 'SELECT 1 /* !, SLEEP(5) */'],
    ['mysql', 'read', 'SELECT 1 --\u000b, SLEEP(5)\n'],
    ['mysql', 'read', 'SELECT 1 --'],
    ['mysql', 'read', 'SELECT PREVIOUS VALUE FOR s, LASTVAL(s)'],
    ['mysql', 'read', 'SELECT @a.b, @@session.sql_mode']
  ] as [Dialect, GuardMode, string][])('%s %s allows %j, which the engine reads the same way', (dialect, mode, sql) => {
    expect(rejection(dialect, mode, sql)).toBeUndefined();
  });

  it.each([
    ['postgres', 'read', 'SELECT 1 /*/ */ ; DELETE FROM t', 'DELETE changes data'],
    ['postgres', 'read', 'SELECT 1 /* **/ ; DELETE FROM t', 'DELETE changes data'],
    ['postgres', 'read', "SELECT namE'\\'; DELETE FROM t; --'", 'a backslash before a quote'],
    ['mysql', 'read', 'SELECT 1 /*M!100000 , SLEEP(5) */', 'executable comments'],
    ['mysql', 'read', "SELECT N'\\' , GET_LOCK(0x61, 0) #'", 'a backslash before a quote'],
    ['mysql', 'read', "SELECT _utf8mb4'\\' , GET_LOCK(0x61, 0) #'", 'a backslash before a quote'],
    ['mssql', 'read', 'SELECT 1 x: DELETE dbo.t', 'DELETE changes data'],
    ['mssql', 'read', "SEND ON CONVERSATION @h (N'x')", 'SEND puts messages on a Service Broker queue'],
    ['mssql', 'read', 'SELECT 1 GET CONVERSATION GROUP @g FROM dbo.q', 'GET CONVERSATION GROUP locks'],
    ['mssql', 'read', 'SELECT 1 MOVE CONVERSATION @h TO @g', 'MOVE CONVERSATION changes'],
    ['mssql', 'read', 'SELECT 1 END CONVERSATION @h WITH CLEANUP', 'Service Broker conversation statements'],
    ['mssql', 'read', "BEGIN DIALOG @h FROM SERVICE a TO SERVICE 'b'", 'BEGIN controls the transaction'],
    ['mssql', 'write', 'UPDATE dbo.t SET a = 1 ENABLE TRIGGER ALL ON DATABASE', 'ENABLE TRIGGER changes what runs'],
    [
      'postgres',
      'write',
      'CREATE OR REPLACE TRIGGER tr AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION f()',
      'CREATE TRIGGER defines code'
    ],
    ['postgres', 'write', 'CREATE PROCEDURE p() BEGIN ATOMIC SELECT 1; END', 'CREATE PROCEDURE defines code'],
    ['postgres', 'write', 'CREATE GLOBAL TEMPORARY TABLE x (a int)', 'temporary objects'],
    ['postgres', 'write', 'CREATE LOCAL TEMP VIEW v AS SELECT 1', 'temporary objects'],
    [
      'postgres',
      'write',
      'IMPORT FOREIGN SCHEMA s FROM SERVER x INTO public',
      'IMPORT FOREIGN SCHEMA reaches another server'
    ],
    ['postgres', 'write', 'CREATE SERVER x FOREIGN DATA WRAPPER file_fdw', 'CREATE SERVER changes the server']
  ] as [Dialect, GuardMode, string, string][])('%s %s refuses %j', (dialect, mode, sql, reason) => {
    expect(rejection(dialect, mode, sql, 5)).toContain(reason);
  });

  it('refuses a SQLite trigger in writes (its body always needs a semicolon before END)', () => {
    expect(
      rejection('sqlite', 'write', 'CREATE TRIGGER tr AFTER INSERT ON t BEGIN DELETE FROM u; END', 5)
    ).toBeDefined();
  });

  it('reads E after a name as part of the name, not as an escape-string prefix', () => {
    const tokens = lex("x namE'\\n'", RULES.postgres.lexer);
    expect(tokens.map(t => [t.kind, t.text])).toEqual([
      ['word', 'x'],
      ['word', 'namE'],
      ['string', "'\\n'"]
    ]);
  });
});

describe('findings of the second review (each once got past the guard)', () => {
  it.each([
    ['mysql', 'read', "SELECT 42, \\NINTO OUTFILE '/tmp/x.txt'", 'a backslash outside a string'],
    ['mysql', 'read', 'SELECT 7, \\NINTO @a, @b', 'a backslash outside a string'],
    ['mysql', 'read', "SELECT @a#'\n, GET_LOCK(0x61, 0) AS got #'", 'GET_LOCK() takes a named lock'],
    ['mysql', 'read', "SELECT @@version_comment#'\n, LOAD_FILE(0x2f) #'", 'LOAD_FILE() reads a file'],
    ['mssql', 'read', 'SELECT @[x] DELETE FROM dbo.t --[', 'a variable name cannot be quoted'],
    [
      'postgres',
      'read',
      "SELECT * FROM crosstab('SELECT 1::text, 2::text, pg_advisory_lock(4242)::text') AS ct(a text, b text)",
      'crosstab() runs SQL text'
    ],
    [
      'postgres',
      'read',
      "SELECT * FROM connectby('t', 'a', 'b', '0', 0) AS t(a oid, b oid, l int)",
      'connectby() runs SQL text'
    ],
    [
      'postgres',
      'read',
      "SELECT * FROM xpath_table('k', 'd', 't', '/a', 'true') AS t(k int, a text)",
      'xpath_table() runs SQL text'
    ],
    ['postgres', 'read', "SELECT heap_force_kill('t'::regclass, ARRAY['(0,1)']::tid[])", 'outside any transaction'],
    ['postgres', 'read', "SELECT pg_truncate_visibility_map('t')", 'outside any transaction'],
    ['postgres', 'read', 'SELECT pg_log_standby_snapshot()', 'changes the state of the database server'],
    ['postgres', 'write', "CREATE VIEW pg_temp.customers AS SELECT 99 AS id, 'forged' AS name", 'temporary objects'],
    ['postgres', 'write', 'CREATE TABLE "pg_temp".x (a int)', 'temporary objects'],
    ['postgres', 'write', 'CREATE TABLE pg_temp_3.x (a int)', 'temporary objects'],
    ['postgres', 'write', 'SELECT * INTO pg_temp.x FROM canary', 'temporary objects'],
    [
      'postgres',
      'write',
      "UPDATE \"pg_settings\" SET setting = 'pg_temp, public' WHERE name = 'search_path'",
      'writing pg_settings'
    ],
    ['postgres', 'write', 'UPDATE "pg_catalog".pg_authid SET rolsuper = true WHERE rolname = \'x\'', 'system catalog'],
    ['postgres', 'write', "UPDATE pg_authid SET rolsuper = true WHERE rolname = 'x'", 'system catalog'],
    [
      'postgres',
      'write',
      "CREATE FOREIGN TABLE ft (line text) SERVER files OPTIONS (program 'id')",
      'foreign tables reach files'
    ],
    ['postgres', 'write', "ALTER FOREIGN TABLE t OPTIONS (SET filename '/etc/passwd')", 'foreign tables reach files'],
    ['postgres', 'write', 'ALTER TABLE orders DISABLE TRIGGER USER', 'DISABLE TRIGGER changes what runs'],
    ['postgres', 'write', 'ALTER TABLE orders ENABLE REPLICA TRIGGER t', 'ENABLE REPLICA changes what runs'],
    ['postgres', 'write', 'DROP TRIGGER audit_tr ON orders', 'DROP TRIGGER changes what runs'],
    ['postgres', 'write', 'ALTER TABLE orders DISABLE RULE r', 'DISABLE RULE changes what runs'],
    ['postgres', 'write', 'ALTER EVENT TRIGGER e DISABLE', 'ALTER EVENT changes what runs'],
    ['postgres', 'write', 'CREATE SCHEMA s AUTHORIZATION pg_monitor', 'AUTHORIZATION gives ownership'],
    ['postgres', 'write', 'ALTER FUNCTION audit_fn() SECURITY DEFINER', 'ALTER FUNCTION changes how code'],
    ['postgres', 'write', 'ALTER FUNCTION report() SET role = finance', 'ALTER FUNCTION changes how code'],
    ['postgres', 'write', 'ALTER ROUTINE report() SET search_path = evil', 'ALTER ROUTINE changes how code'],
    ['postgres', 'write', 'ALTER AGGREGATE agg(int) SET SCHEMA s', 'ALTER AGGREGATE changes how code'],
    ['postgres', 'write', 'SELECT pid, query FROM pg_stat_activity', 'pg_stat_activity shows the statements'],
    ['postgres', 'read', 'SELECT * FROM pg_stat_statements', 'pg_stat_statements shows the statements'],
    ['postgres', 'read', 'SELECT umoptions FROM pg_user_mappings', 'user mappings hold the passwords'],
    ['postgres', 'read', 'SELECT umoptions FROM pg_catalog.pg_user_mapping', 'user mappings hold the passwords'],
    [
      'postgres',
      'read',
      'SELECT option_value FROM information_schema.user_mapping_options',
      'user mappings hold the passwords'
    ],
    ['postgres', 'write', 'SELECT "umoptions" FROM "pg_user_mappings"', 'user mappings hold the passwords'],
    ['postgres', 'read', 'SELECT pg_stat_get_activity(NULL)', 'pg_stat_get_activity() shows'],
    ['mysql', 'read', 'SHOW PROCESSLIST', 'the process list shows'],
    ['mysql', 'write', 'SELECT * FROM information_schema.processlist', 'the process list shows'],
    ['mysql', 'read', 'SELECT * FROM `performance_schema`.`threads`', 'performance_schema.threads shows'],
    ['mysql', 'read', 'SELECT * FROM sys.x$session', 'sys.x$session shows'],
    ['mysql', 'read', 'SELECT sql_text FROM performance_schema.events_statements_current', 'statement events'],
    ['mysql', 'read', 'SHOW GRANTS FOR CURRENT_USER()', 'password hash'],
    ['mysql', 'read', 'SHOW CREATE USER CURRENT_USER', 'password hash'],
    ['mysql', 'read', 'SHOW ENGINE INNODB STATUS', 'SHOW ENGINE'],
    ['mysql', 'read', 'SHOW EXPLAIN FOR 12', 'SHOW EXPLAIN'],
    ['mysql', 'read', 'EXPLAIN FOR CONNECTION 12', 'EXPLAIN FOR CONNECTION'],
    ['mysql', 'read', 'SHOW BINLOG EVENTS', 'every change written'],
    [
      'postgres',
      'write',
      'CREATE OR REPLACE TRANSFORM FOR int LANGUAGE plx (FROM SQL WITH FUNCTION f(internal))',
      'transforms run code'
    ],
    ['sqlite', 'write', 'CREATE TEMP TABLE orders AS SELECT * FROM main.orders', 'temporary objects'],
    ['sqlite', 'write', 'CREATE TEMP VIEW orders AS SELECT 99 AS id', 'temporary objects'],
    ['sqlite', 'write', 'CREATE TABLE temp.orders (id int)', 'temporary objects'],
    ['sqlite', 'write', 'CREATE TABLE "temp".orders (id int)', 'temporary objects'],
    ['sqlite', 'write', 'CREATE TABLE `TEMP`.orders (id int)', 'temporary objects'],
    ['sqlite', 'write', 'CREATE TABLE [temp].orders (id int)', 'temporary objects'],
    ['sqlite', 'write', "CREATE TABLE 'temp'.orders (id int)", 'temporary objects'],
    ['sqlite', 'write', 'CREATE VIEW "TEMP".v AS SELECT 1', 'temporary objects'],
    ['sqlite', 'write', 'CREATE INDEX temp.ix ON orders (id)', 'temporary objects'],
    ['sqlite', 'write', "INSERT INTO 'temp' . canary VALUES (1)", 'temporary objects'],
    ['mssql', 'write', 'CREATE PROCEDURE dbo.p AS DELETE FROM dbo.t', 'CREATE PROCEDURE defines code'],
    ['mssql', 'write', 'ALTER PROCEDURE dbo.nightly AS DELETE FROM dbo.audit', 'ALTER PROCEDURE changes code'],
    [
      'mssql',
      'write',
      'CREATE OR ALTER PROCEDURE dbo.p AS DELETE FROM dbo.t',
      'CREATE OR ALTER PROCEDURE defines code'
    ],
    ['mssql', 'write', 'ALTER TABLE dbo.t SET (SYSTEM_VERSIONING = OFF)', 'SYSTEM_VERSIONING'],
    [
      'mssql',
      'write',
      "UPDATE dbo.t SET a = 1 END CONVERSATION ('C8A2E8A3-0000-0000-0000-000000000000')",
      'conversation'
    ],
    ['mysql', 'write', "UPDATE `mysql`.global_priv SET Priv = '{}'", 'the mysql schema'],
    ['mysql', 'write', "UPDATE performance_schema.setup_consumers SET ENABLED = 'NO'", 'performance_schema'],
    ['mysql', 'write', "UPDATE sys.sys_config SET value = 'x'", 'the sys schema'],
    ['mysql', 'read', "SELECT spider_direct_sql('SELECT 1', 't', 'srv \"x\"')", 'Spider functions']
  ] as [Dialect, GuardMode, string, string][])('%s %s refuses %j', (dialect, mode, sql, reason) => {
    expect(rejection(dialect, mode, sql)).toContain(reason);
  });

  it.each([
    ['postgres', 'read', 'SELECT language, count(*) FROM films GROUP BY language ORDER BY 2 DESC'],
    ['postgres', 'write', "UPDATE users SET language = 'de' WHERE id = 1"],
    ['postgres', 'write', 'UPDATE readings SET temp = 20'],
    ['postgres', 'write', 'INSERT INTO table_stats SELECT relname, n_live_tup FROM pg_catalog.pg_stat_user_tables'],
    ['sqlite', 'write', 'UPDATE readings SET temp = 20'],
    ['mysql', 'read', 'SELECT @@session.sql_mode, @a.b'],
    ['mysql', 'write', 'UPDATE t SET sys = 1'],
    ['mssql', 'read', 'SELECT @@ROWCOUNT, @x#y'],
    ['mssql', 'write', 'ALTER TABLE dbo.t SET (LOCK_ESCALATION = AUTO)']
  ] as [Dialect, GuardMode, string][])('%s %s allows %j', (dialect, mode, sql) => {
    expect(rejection(dialect, mode, sql)).toBeUndefined();
  });
});

describe('the caller’s identity: read freely, changed never', () => {
  const IDENTITY =
    'would change the caller’s identity, which sqlbridge sets for row-level security; sqlbridge never runs it';

  it.each([
    ['postgres', "SELECT set_config('sqlbridge.department', '9', true)", "set_config('sqlbridge.department', …)"],
    ['postgres', "SELECT pg_catalog.set_config('SQLBRIDGE.subject', 'ana', false)", 'set_config('],
    ['postgres', "SELECT * FROM t WHERE set_config(E'sqlbridge.department', '9', true) <> ''", 'set_config('],
    ['postgres', 'SELECT "set_config"($$sqlbridge.department$$, \'9\', true)', 'set_config('],
    ['postgres', "SET sqlbridge.department = '9'", 'SET sqlbridge.department'],
    ['postgres', "SET LOCAL sqlbridge.department TO '9'", 'SET sqlbridge.department'],
    ['postgres', "SET SESSION sqlbridge.subject = 'ana'", 'SET sqlbridge.subject'],
    ['postgres', 'SET "sqlbridge"."department" = 9', 'SET sqlbridge.department'],
    ['postgres', 'SET SqlBridge.department = 9', 'SET sqlbridge.department'],
    ['postgres', 'RESET sqlbridge.department', 'RESET sqlbridge.department'],
    ['postgres', "SELECT 1; SET LOCAL sqlbridge.department = '9'", 'SET sqlbridge.department'],
    ['postgres', "ALTER FUNCTION visible() SET sqlbridge.department = '9'", 'SET sqlbridge.department'],
    ['postgres', "ALTER ROLE reader SET sqlbridge.department = '9'", 'SET sqlbridge.department'],
    ['mysql', 'SET @sqlbridge_department = 9', 'SET @sqlbridge_department = …'],
    ['mysql', 'SET @sqlbridge_department := 9', '@sqlbridge_department := …'],
    ['mysql', "SET @a = 1, @SQLBRIDGE_Department = '9'", 'SET @SQLBRIDGE_Department = …'],
    ['mysql', 'SET @`sqlbridge_department` = 9', 'SET @`sqlbridge_department` = …'],
    ['mysql', "SET @'sqlbridge_subject' = 'ana'", "SET @'sqlbridge_subject' = …"],
    ['mysql', 'SELECT @sqlbridge_department := 9', '@sqlbridge_department := …'],
    ['mysql', 'SELECT * FROM t WHERE (@sqlbridge_department := 9) IS NOT NULL', '@sqlbridge_department := …'],
    ['mysql', 'SELECT 9 INTO @sqlbridge_department', 'INTO @sqlbridge_department'],
    ['mysql', 'SELECT 1, 9 INTO @a, @sqlbridge_department', 'INTO @sqlbridge_department'],
    ['mssql', "EXEC sys.sp_set_session_context @key = N'DepartmentID', @value = 9", 'sp_set_session_context'],
    ['mssql', "EXECUTE sp_set_session_context N'DepartmentID', 9, 0", 'sp_set_session_context'],
    ['mssql', "sp_set_session_context N'DepartmentID', 9", 'sp_set_session_context'],
    ['mssql', "sys.sp_set_session_context @key = N'DepartmentID', @value = 9", 'sp_set_session_context'],
    ['mssql', "EXEC [sys].[sp_set_session_context] N'DepartmentID', 9", 'sp_set_session_context'],
    ['mssql', "SELECT 1; EXEC \"sp_set_session_context\" N'subject', N'ana'", 'sp_set_session_context']
  ] as [Dialect, string, string][])('%s refuses %j in every environment', (dialect, sql, what) => {
    for (const mode of ['read', 'write'] as const) {
      const reason = rejection(dialect, mode, sql, 2) ?? '';
      expect(reason.startsWith(what), `${mode}: ${reason}`).toBe(true);
      expect(reason.endsWith(` ${IDENTITY}`), `${mode}: ${reason}`).toBe(true);
    }
  });

  it.each([
    [
      'mysql',
      'SET STATEMENT max_statement_time = 1 FOR SELECT @sqlbridge_department',
      'SET changes the database session'
    ],
    ['mysql', 'SELECT @x := @sqlbridge_department', ':= assigns a user variable'],
    ['postgres', 'RESET ALL', 'RESET changes the database session'],
    [
      'postgres',
      "SELECT set_config('sqlbridge' || '.department', '9', true)",
      'set_config() changes the database session'
    ],
    ['postgres', "UPDATE pg_settings SET setting = '9' WHERE name = 'sqlbridge.department'", 'pg_settings']
  ] as [Dialect, string, string][])('%s refuses %j for its own reason, in writes too', (dialect, sql, reason) => {
    expect(rejection(dialect, 'read', sql)).toBeDefined();
    expect(rejection(dialect, 'write', sql)).toContain(reason);
  });

  it.each([
    ['postgres', "SELECT nullif(current_setting('sqlbridge.department', true), '')::int AS department"],
    ['postgres', 'SHOW sqlbridge.department'],
    ['postgres', 'SELECT * FROM sqlbridge.orders'],
    ['mysql', 'SELECT @sqlbridge_department, @sqlbridge_subject = "ana" AS is_ana'],
    ['mysql', 'SELECT * FROM t WHERE department_id = @sqlbridge_department'],
    ['mssql', "SELECT CAST(SESSION_CONTEXT(N'DepartmentID') AS int) AS department"],
    ['sqlite', "SELECT sqlbridge_identity('department') AS department"]
  ] as [Dialect, string][])('%s lets %j read it', (dialect, sql) => {
    expect(rejection(dialect, 'read', sql)).toBeUndefined();
  });
});

describe('SQL Server: the procedure a statement runs by naming it', () => {
  const procedure = (sql: string): string | undefined => mssqlGuardRules.procedureCall(lex(sql, RULES.mssql.lexer));

  it.each([
    ['sales.touch_prices', 'sales.touch_prices'],
    ['sales.touch_prices @percent = 5', 'sales.touch_prices'],
    ['[sales].[touch prices] 5', '[sales].[touch prices]'],
    ['Shop..Archive', 'Shop..Archive'],
    ['FROBNICATE t', 'FROBNICATE']
  ])('%j runs %s, named as written', (sql, name) => {
    expect(procedure(sql)).toBe(name);
  });

  it('names no procedure for a statement that does not begin with a name', () => {
    expect(procedure('(SELECT 1)')).toBeUndefined();
    expect(procedure("N'text'")).toBeUndefined();
  });

  it.each([
    ['read', 'sales.touch_prices', 'statements that read data'],
    ['write', 'sales.touch_prices @percent = 5', 'statements that read or change data'],
    ['read', '[sales].[touch prices]', 'statements that read data']
  ] as [GuardMode, string, string][])('refuses %s %j naming the procedure as written', (mode, sql, allowed) => {
    const name = mssqlGuardRules.procedureCall(lex(sql, RULES.mssql.lexer)) ?? '';
    expect(rejection('mssql', mode, sql)).toBe(
      `sqlbridge cannot tell what the procedure ${name} does, so it does not run it; only ${allowed} are allowed`
    );
    expect(rejection('mssql', mode, sql)).not.toMatch(/\bSALES\b/);
  });

  it('refuses a bare procedure call whatever the name', () => {
    for (const sql of ['sales.touch_prices', '[sales].[touch_prices]', 'touch_prices 5']) {
      expect(rejection('mssql', 'read', sql), sql).toBeDefined();
      expect(rejection('mssql', 'write', sql), sql).toBeDefined();
    }
  });
});

describe('statement guard: phrases', () => {
  const rules: GuardRules = {
    ...postgresGuardRules,
    phrases: [
      { words: ['FOR', 'NO', 'KEY', 'UPDATE'], reason: 'the longer phrase, listed first' },
      { words: ['FOR', 'NO'], reason: 'the shorter phrase, listed second' },
      { words: ['LOCK', 'FOR'], reason: 'a phrase whose second word begins another' }
    ]
  };
  const guard = new StatementGuard(rules);

  it('refuses with the first listed phrase that matches, among phrases that begin with the same word', () => {
    expect(guard.rejection('SELECT 1 FROM t FOR NO KEY UPDATE', { mode: 'read', maxStatements: 1 })).toBe(
      'the longer phrase, listed first; not allowed in a read-only environment'
    );
    expect(guard.rejection('SELECT 1 FROM t FOR NO WAIT', { mode: 'read', maxStatements: 1 })).toBe(
      'the shorter phrase, listed second; not allowed in a read-only environment'
    );
  });

  it('matches a phrase wherever its first word stands, and only there', () => {
    expect(guard.rejection('SELECT lock FOR x FROM t', { mode: 'read', maxStatements: 1 })).toBe(
      'a phrase whose second word begins another; not allowed in a read-only environment'
    );
    expect(guard.rejection('SELECT no, key FROM t', { mode: 'read', maxStatements: 1 })).toBeUndefined();
  });
});
