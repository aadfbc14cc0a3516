import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MSSQL_URL } from '../dialects/engines/mssql.ts';
import { mysqlAdmin } from '../dialects/engines/mysql.ts';
import type { AuditRecord } from '../../src/audit/record.ts';
import { auditFileIn, untilAuditFile } from '../helpers/audit-file.ts';
import { emptyDir } from '../helpers/data-dir.ts';
import { startServer, type RunningServer } from '../helpers/server-process.ts';
import { createShop, type Shop, type ShopEngine } from '../helpers/shop.ts';

/**
 * execute_write_sql in read-write environments, through the official MCP client and the real
 * server: offered only there, committed only when every statement succeeds, never a way to escape
 * the transaction or the session, and execute_sql stays read-only beside it.
 */

interface Target {
  engine: ShopEngine;
  name: string;
  /** Schema changes run inside sqlbridge's transaction (not MySQL, which commits DDL by itself). */
  transactionalDdl: boolean;
  /** A write returning more rows than the environment's 2-row limit. */
  returningWrite: string;
  /** The engine's way to set a savepoint, and what the refusal says. */
  savepoint: [query: string, reason: RegExp];
}

const SAVEPOINT: Target['savepoint'] = ['SAVEPOINT s', /^Not allowed: SAVEPOINT controls the transaction/];

const TARGETS: Target[] = [
  {
    engine: 'sqlite',
    name: 'SQLite',
    transactionalDdl: true,
    returningWrite: "UPDATE orders SET status = 'archived' WHERE id < 110 RETURNING id",
    savepoint: SAVEPOINT
  },
  {
    engine: 'postgres',
    name: 'PostgreSQL',
    transactionalDdl: true,
    returningWrite: "UPDATE orders SET status = 'archived' WHERE id < 110 RETURNING id",
    savepoint: SAVEPOINT
  },
  {
    engine: 'mysql',
    name: 'MariaDB',
    transactionalDdl: false,
    returningWrite: 'DELETE FROM order_items WHERE order_id < 110 RETURNING order_id',
    savepoint: SAVEPOINT
  },
  {
    engine: 'mssql',
    name: 'SQL Server',
    // DDL is transactional in SQL Server: a CREATE TABLE rolls back with the transaction it ran in.
    transactionalDdl: true,
    returningWrite: "UPDATE orders SET status = 'archived' OUTPUT inserted.id WHERE id < 110",
    savepoint: ['SAVE TRANSACTION s', /^Not allowed: SAVE controls the transaction/]
  }
];

type ToolResult = Awaited<ReturnType<Client['callTool']>>;

function text(result: ToolResult): string {
  const first = (result.content as { type: string; text?: string }[])[0];
  return first?.type === 'text' ? (first.text ?? '') : '';
}

for (const target of TARGETS) {
  // SQL Server cannot run on this project's machines; its cases run wherever SQLBRIDGE_TEST_MSSQL_URL names one.
  describe.skipIf(target.engine === 'mssql' && MSSQL_URL === undefined)(`${target.name}: execute_write_sql`, () => {
    let shop: Shop;
    let server: RunningServer;
    let dir: string;
    const clients: Client[] = [];

    async function connect(environment: string): Promise<Client> {
      const client = new Client(
        { name: 'write-e2e', version: '1' },
        { versionNegotiation: { mode: { pin: '2026-07-28' } } }
      );
      await client.connect(new StreamableHTTPClientTransport(new URL(`${server.baseUrl}/${environment}/mcp`)));
      clients.push(client);
      return client;
    }

    async function scalar(client: Client, query: string): Promise<unknown> {
      const result = await client.callTool({ name: 'execute_sql', arguments: { query } });
      expect(result.isError, text(result)).not.toBe(true);
      return (result.structuredContent as { rows: unknown[][] }).rows[0]?.[0];
    }

    beforeAll(async () => {
      shop = await createShop(target.engine);
      dir = emptyDir('writes-');
      const config = join(dir, 'sqlbridge.yaml');
      writeFileSync(
        config,
        [
          'environments:',
          '  rw:',
          '    readOnly: false',
          `    database: ${shop.databaseYaml}`,
          '    limits: { maxStatements: 2, maxRows: 2 }',
          '  ro:',
          `    database: ${shop.databaseYaml}`,
          '    limits: { maxStatements: 2 }',
          ''
        ].join('\n')
      );
      server = await startServer({ args: ['serve', '--no-auth', '--config', config, '--data-dir', dir] });
    }, 120_000);

    afterAll(async () => {
      for (const client of clients) await client.close().catch(() => undefined);
      await server.stop();
      await shop.drop();
    });

    it('is offered, as destructive, only in the read-write environment', async () => {
      const rw = await connect('rw');
      const ro = await connect('ro');
      const tool = (await rw.listTools()).tools.find(t => t.name === 'execute_write_sql');
      expect(tool?.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: true });
      expect((await ro.listTools()).tools.map(t => t.name)).not.toContain('execute_write_sql');
      await expect(
        ro.callTool({ name: 'execute_write_sql', arguments: { query: 'DELETE FROM canary' } })
      ).rejects.toThrow(/Tool execute_write_sql not found/);
    });

    it('commits a write and reports the rows it changed', async () => {
      const rw = await connect('rw');
      const result = await rw.callTool({
        name: 'execute_write_sql',
        arguments: { query: "INSERT INTO canary (id, value) VALUES (10, 'written')" }
      });
      expect(result.isError, text(result)).not.toBe(true);
      expect(result.structuredContent).toMatchObject({ rowsAffected: 1 });
      expect(text(result)).toBe('Committed: 1 row changed.');
      expect(await scalar(rw, 'SELECT value FROM canary WHERE id = 10')).toBe('written');
      const written = (record: AuditRecord): boolean =>
        record.event === 'query.executed' &&
        record.statement === "INSERT INTO canary (id, value) VALUES (10, 'written')";
      const records = await untilAuditFile(auditFileIn(dir), all => all.some(written));
      expect(records.find(written)?.detail).toEqual({ kind: 'write', rowsAffected: 1 });
    });

    it.skipIf(target.engine !== 'mysql')('counts the rows a write changed, not those it matched', async () => {
      const rw = await connect('rw');
      const same = await rw.callTool({
        name: 'execute_write_sql',
        arguments: { query: 'UPDATE canary SET value = value' }
      });
      expect(same.isError, text(same)).not.toBe(true);
      expect(same.structuredContent).toMatchObject({ rowsAffected: 0 });
      expect(text(same)).toBe('Committed: 0 rows changed.');
    });

    it('commits nothing when a later statement fails', async () => {
      const rw = await connect('rw');
      const result = await rw.callTool({
        name: 'execute_write_sql',
        arguments: {
          query:
            "INSERT INTO canary (id, value) VALUES (11, 'first'); INSERT INTO canary (id, value) VALUES (1, 'duplicate')"
        }
      });
      expect(result.isError).toBe(true);
      expect(text(result)).toMatch(/^The database rejected the query:\n<untrusted-data-[0-9a-f]{16}>\n/);
      expect(await scalar(rw, 'SELECT COUNT(*) FROM canary WHERE id = 11')).toBe(0);
      expect(await scalar(rw, 'SELECT value FROM canary WHERE id = 1')).toBe('untouched');
    });

    it('completes a write whose returned rows exceed the row limit, and says it need not run again', async () => {
      const rw = await connect('rw');
      const result = await rw.callTool({ name: 'execute_write_sql', arguments: { query: target.returningWrite } });
      expect(result.isError, text(result)).not.toBe(true);
      expect(result.structuredContent).toMatchObject({ rowCount: 2, truncated: true });
      expect((result.structuredContent as { note?: string }).note).toContain(
        'The statement ran in full; only the first 2 of the rows it returned are shown'
      );
      const remaining =
        target.engine === 'mysql'
          ? await scalar(rw, 'SELECT COUNT(*) FROM order_items WHERE order_id < 110')
          : await scalar(rw, "SELECT COUNT(*) FROM orders WHERE id < 110 AND status <> 'archived'");
      expect(remaining).toBe(0);
    });

    // A SELECT is a write's last statement when a function it calls changes data.
    it.skipIf(target.engine !== 'postgres')(
      'runs a write whose last statement returns rows past the limit to its end before committing',
      async () => {
        const rw = await connect('rw');
        const created = await rw.callTool({
          name: 'execute_write_sql',
          arguments: { query: 'CREATE SEQUENCE tickets' }
        });
        expect(created.isError, text(created)).not.toBe(true);
        const drawn = await rw.callTool({
          name: 'execute_write_sql',
          arguments: { query: "SELECT nextval('tickets') FROM generate_series(1, 500)" }
        });
        expect(drawn.isError, text(drawn)).not.toBe(true);
        expect(drawn.structuredContent).toMatchObject({ rowCount: 2, truncated: true, rowsAffected: null });
        expect(await scalar(rw, 'SELECT last_value FROM tickets')).toBe(500);
      }
    );

    // What a failed write set in its session (PostgreSQL's lastval(), MariaDB's LAST_INSERT_ID()) is gone for the next caller.
    it.skipIf(target.engine !== 'postgres' && target.engine !== 'mysql')(
      'leaves nothing of a failed write in the session the next call gets',
      async () => {
        const rw = await connect('rw');
        if (target.engine === 'mysql') {
          const database = /database: (\w+)/.exec(shop.databaseYaml)?.[1] ?? '';
          await mysqlAdmin(connection =>
            connection.query(`CREATE TABLE ${database}.tickets (id int AUTO_INCREMENT PRIMARY KEY, v int)`)
          );
        }
        const [write, probe] =
          target.engine === 'postgres'
            ? ["SELECT nextval('tickets'); INSERT INTO canary (id, value) VALUES (1, 'duplicate')", 'SELECT lastval()']
            : [
                "INSERT INTO tickets (v) VALUES (1); INSERT INTO canary (id, value) VALUES (1, 'duplicate')",
                'SELECT @@last_insert_id'
              ];
        const failed = await rw.callTool({ name: 'execute_write_sql', arguments: { query: write } });
        expect(failed.isError).toBe(true);
        // As many reads as the pool has connections (4), so whichever order it lends them in, one
        // would get the failed write's connection if it were lent again.
        for (let i = 0; i < 4; i++) {
          const after = await rw.callTool({ name: 'execute_sql', arguments: { query: probe } });
          if (target.engine === 'postgres') {
            expect(after.isError).toBe(true);
            expect(text(after)).toContain('lastval is not yet defined in this session');
          } else {
            expect(after.isError, text(after)).not.toBe(true);
            expect((after.structuredContent as { rows: unknown[][] }).rows[0]?.[0]).toBe(0);
          }
        }
      }
    );

    it.skipIf(target.engine !== 'postgres')('counts the rows a write with RETURNING changed', async () => {
      const rw = await connect('rw');
      const before = Number(await scalar(rw, 'SELECT COUNT(*) FROM orders WHERE id < 120'));
      expect(before).toBeGreaterThan(2);
      const result = await rw.callTool({
        name: 'execute_write_sql',
        arguments: { query: "UPDATE orders SET status = 'reviewed' WHERE id < 120 RETURNING id" }
      });
      expect(result.isError, text(result)).not.toBe(true);
      expect(result.structuredContent).toMatchObject({ rowsAffected: before, rowCount: 2 });
      expect(text(result)).toMatch(new RegExp(`^Committed: ${before} rows changed\\.`));
    });

    it.each([
      ['COMMIT', /^Not allowed: COMMIT controls the transaction/],
      ["INSERT INTO canary (id, value) VALUES (12, 'x'); COMMIT", /^Not allowed: COMMIT controls the transaction/],
      ['BEGIN', /^Not allowed: BEGIN controls the transaction/],
      target.savepoint
    ])('refuses %s and leaves the data as it was', async (query, message) => {
      const rw = await connect('rw');
      const result = await rw.callTool({ name: 'execute_write_sql', arguments: { query } });
      expect(result.isError).toBe(true);
      expect(text(result)).toMatch(message);
      expect(await scalar(rw, 'SELECT COUNT(*) FROM canary WHERE id = 12')).toBe(0);
    });

    it('refuses session changes and file access in writes too', async () => {
      const rw = await connect('rw');
      const escapes: Record<ShopEngine, string[]> = {
        sqlite: [
          "ATTACH DATABASE '/tmp/sqlbridge-escape.db' AS x",
          'PRAGMA query_only = OFF',
          "SELECT load_extension('x')"
        ],
        postgres: [
          "SET search_path = 'x'",
          "SELECT set_config('role', 'x', false)",
          "COPY canary TO '/tmp/sqlbridge-escape.csv'"
        ],
        mysql: [
          'SET @x = 1',
          "SELECT * FROM canary INTO OUTFILE '/tmp/sqlbridge-escape.csv'",
          "SELECT GET_LOCK('x', 1)"
        ],
        mssql: [
          'SET LANGUAGE Italiano',
          "EXEC sys.sp_set_session_context @key = N'subject', @value = N'x'",
          "SELECT * FROM OPENROWSET(BULK 'C:\\Windows\\win.ini', SINGLE_CLOB) AS f",
          "BULK INSERT canary FROM 'C:\\Windows\\win.ini'"
        ]
      };
      for (const query of escapes[target.engine]) {
        const result = await rw.callTool({ name: 'execute_write_sql', arguments: { query } });
        expect(result.isError, query).toBe(true);
        expect(text(result), query).toMatch(/^Not allowed: \S/);
      }
    });

    it(
      target.transactionalDdl
        ? 'runs schema changes inside the transaction'
        : 'refuses schema changes, which would commit by themselves',
      async () => {
        const rw = await connect('rw');
        const result = await rw.callTool({
          name: 'execute_write_sql',
          arguments: { query: 'CREATE TABLE notes (id int PRIMARY KEY)' }
        });
        if (target.transactionalDdl) {
          expect(result.isError, text(result)).not.toBe(true);
          expect(await scalar(rw, 'SELECT COUNT(*) FROM notes')).toBe(0);
        } else {
          expect(result.isError).toBe(true);
          expect(text(result)).toMatch(/^Not allowed: CREATE commits by itself in this database/);
        }
      }
    );

    it('keeps execute_sql read-only in a read-write environment', async () => {
      const rw = await connect('rw');
      const result = await rw.callTool({ name: 'execute_sql', arguments: { query: 'DELETE FROM canary' } });
      expect(result.isError).toBe(true);
      expect(text(result)).toMatch(/^Not allowed: DELETE changes data; not allowed in a read-only environment/);
      expect(await scalar(rw, 'SELECT COUNT(*) FROM canary')).toBe(2);
    });

    it('runs up to maxStatements reads and returns the last one’s rows', async () => {
      const ro = await connect('ro');
      const two = await ro.callTool({ name: 'execute_sql', arguments: { query: 'SELECT 1 AS a; SELECT 2 AS b' } });
      expect(two.isError, text(two)).not.toBe(true);
      expect(two.structuredContent).toMatchObject({ columns: [{ name: 'b' }], rows: [[2]] });
      expect((two.structuredContent as { note?: string }).note).toBe("2 statements ran; the rows are the last one's.");
      const three = await ro.callTool({ name: 'execute_sql', arguments: { query: 'SELECT 1; SELECT 2; SELECT 3' } });
      expect(text(three)).toBe(
        'Not allowed: 3 statements were sent in one call; this environment accepts at most 2\nHint: send one statement that only reads data (SELECT or WITH … SELECT)'
      );
    });
  });
}
