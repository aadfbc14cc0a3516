import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport, type Transport } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_FILE } from '../../src/demo/demo-database.ts';
import { demoDataDir } from '../helpers/data-dir.ts';
import { q4Revenue2024, rowCount } from '../helpers/demo-truth.ts';
import { MAIN, startServer, type RunningServer } from '../helpers/server-process.ts';

/**
 * The real server process driven by the official MCP client SDK: over Streamable HTTP as a
 * 2026-07-28 client and as a 2025-11-25 client, and over stdio. Every tool is called, every
 * structuredContent is validated against the tool's advertised outputSchema, and answers are
 * checked against the demo data read independently.
 */

interface Mode {
  name: string;
  transport: 'http' | 'stdio';
  pin?: '2026-07-28';
  expectedEra: 'modern' | 'legacy';
  expectedVersion: string | undefined;
}

const MODES: Mode[] = [
  {
    name: 'Streamable HTTP as a 2026-07-28 client',
    transport: 'http',
    pin: '2026-07-28',
    expectedEra: 'modern',
    expectedVersion: '2026-07-28'
  },
  {
    name: 'Streamable HTTP as a 2025-11-25 client',
    transport: 'http',
    expectedEra: 'legacy',
    expectedVersion: '2025-11-25'
  },
  { name: 'stdio', transport: 'stdio', expectedEra: 'legacy', expectedVersion: '2025-11-25' }
];

const TOOL_NAMES = ['list_tables', 'describe_table', 'execute_sql', 'get_table_sample'];

type ToolResult = Awaited<ReturnType<Client['callTool']>>;

function text(result: ToolResult): string {
  const first = (result.content as { type: string; text?: string }[])[0];
  return first?.type === 'text' ? (first.text ?? '') : '';
}

for (const mode of MODES) {
  describe(mode.name, () => {
    let dataDir: string;
    let server: RunningServer | undefined;
    let client: Client;
    const validators = new Map<string, ValidateFunction>();

    /** Calls a tool and, when it succeeded, checks structuredContent against the advertised outputSchema. */
    async function call(name: string, args: Record<string, unknown> = {}): Promise<ToolResult> {
      const result = await client.callTool({ name, arguments: args });
      if (result.isError !== true) {
        const validate = validators.get(name);
        expect(validate, `no outputSchema for ${name}`).toBeDefined();
        const valid = validate?.(result.structuredContent);
        expect(validate?.errors ?? [], `${name} structuredContent does not match its outputSchema`).toEqual([]);
        expect(valid).toBe(true);
      }
      return result;
    }

    beforeAll(async () => {
      dataDir = demoDataDir();
      client = new Client(
        { name: 'sqlbridge-e2e', version: '1.0.0' },
        mode.pin === undefined ? {} : { versionNegotiation: { mode: { pin: mode.pin } } }
      );
      let transport: Transport;
      if (mode.transport === 'http') {
        server = await startServer({ args: ['demo', '--no-auth', '--data-dir', dataDir, '--log-level', 'debug'] });
        transport = new StreamableHTTPClientTransport(new URL(`${server.baseUrl}/demo/mcp`));
      } else {
        transport = new StdioClientTransport({
          command: process.execPath,
          args: [MAIN, 'stdio', '--demo', '--data-dir', dataDir],
          env: { PATH: process.env['PATH'] ?? '' },
          stderr: 'pipe'
        });
      }
      await client.connect(transport);
      const { tools } = await client.listTools();
      const ajv = new Ajv2020({ strict: false, allErrors: true });
      for (const tool of tools) {
        if (tool.outputSchema !== undefined) validators.set(tool.name, ajv.compile(tool.outputSchema));
      }
    });

    afterAll(async () => {
      await client.close();
      await server?.stop();
    });

    it('negotiates the protocol revision it asked for', () => {
      expect(client.getProtocolEra()).toBe(mode.expectedEra);
      if (mode.expectedEra === 'legacy') expect(client.getNegotiatedProtocolVersion()).toBe(mode.expectedVersion);
      expect(client.getInstructions()).toContain('SQLite');
    });

    it('lists the four tools with titles, schemas and honest read-only annotations', async () => {
      const { tools } = await client.listTools();
      expect(tools.map(t => t.name)).toEqual(TOOL_NAMES);
      for (const tool of tools) {
        expect(tool.title, tool.name).toBeTruthy();
        expect(tool.description?.length ?? 0, tool.name).toBeGreaterThan(40);
        expect(tool.inputSchema.type).toBe('object');
        expect(tool.outputSchema?.type).toBe('object');
        expect(tool.annotations).toMatchObject({ readOnlyHint: true, destructiveHint: false, openWorldHint: false });
      }
      const sample = tools.find(t => t.name === 'get_table_sample');
      expect(sample?.inputSchema.properties?.['limit']).toMatchObject({ type: 'integer', default: 10, maximum: 100 });
      expect(tools.find(t => t.name === 'execute_sql')?.inputSchema.required).toEqual(['query']);
      expect(tools.find(t => t.name === 'describe_table')?.inputSchema.required).toEqual(['table_name']);
    });

    it('list_tables names every table and view with row estimates', async () => {
      const result = await call('list_tables');
      const structured = result.structuredContent as {
        tables: { schema: string; name: string; type: string; rowEstimate: number | null }[];
        count: number;
      };
      const byName = new Map(structured.tables.map(t => [t.name, t]));
      for (const table of [
        'customers',
        'orders',
        'order_items',
        'payment_transactions',
        'products',
        'product_categories',
        'regions',
        'marketing_channels',
        'marketing_spend',
        'returns'
      ]) {
        expect(byName.get(table)?.type, table).toBe('table');
      }
      expect(byName.get('order_line_revenue')?.type).toBe('view');
      expect(structured.count).toBe(structured.tables.length);
      const items = rowCount(join(dataDir, DEMO_FILE), 'order_items');
      const estimate = byName.get('order_items')?.rowEstimate ?? 0;
      expect(estimate).toBeGreaterThan(items * 0.9);
      expect(estimate).toBeLessThanOrEqual(items);
      expect(text(result)).toContain('| main | order_items | table |');
    });

    it('describe_table shows a composite primary key and a multi-column foreign key', async () => {
      const result = await call('describe_table', { table_name: 'main.returns' });
      const structured = result.structuredContent as {
        name: string;
        primaryKey: { columns: string[] } | null;
        foreignKeys: { columns: string[]; referencedTable: string; referencedColumns: string[] }[];
        columns: {
          name: string;
          dataType: string;
          nullable: boolean;
          precision: number | null;
          scale: number | null;
        }[];
      };
      expect(structured.name).toBe('returns');
      expect(structured.foreignKeys).toEqual([
        expect.objectContaining({
          columns: ['order_id', 'line_number'],
          referencedTable: 'order_items',
          referencedColumns: ['order_id', 'line_number']
        })
      ]);
      const items = (await call('describe_table', { table_name: 'order_items' }))
        .structuredContent as typeof structured;
      expect(items.primaryKey?.columns).toEqual(['order_id', 'line_number']);
      expect(items.columns.find(c => c.name === 'unit_price')).toMatchObject({
        dataType: 'DECIMAL(10,2)',
        precision: 10,
        scale: 2,
        nullable: false
      });
      expect(text(result)).toContain('(order_id, line_number) → main.order_items (order_id, line_number)');
    });

    it('answers "revenue by product category for Q4 2024" exactly as an independent sum', async () => {
      const truth = q4Revenue2024(join(dataDir, DEMO_FILE));
      const result = await call('execute_sql', {
        query: `SELECT pc.name AS category,
                       ROUND(SUM(oi.quantity * oi.unit_price - oi.discount_amount), 2) AS revenue
                  FROM order_items oi
                  JOIN orders o ON o.order_id = oi.order_id
                  JOIN products p ON p.product_id = oi.product_id
                  JOIN product_categories pc ON pc.category_id = p.category_id
                 WHERE o.ordered_at >= '2024-10-01' AND o.ordered_at < '2025-01-01'
                   AND o.status IN ('paid', 'shipped', 'delivered')
                 GROUP BY pc.name
                 ORDER BY revenue DESC`
      });
      expect(result.isError).toBeFalsy();
      const rows = (result.structuredContent as { rows: [string, number][] }).rows;
      expect(rows.length).toBe(truth.size);
      expect(truth.size).toBeGreaterThanOrEqual(10);
      for (const [category, revenue] of rows) {
        expect(Math.round(revenue * 100), category).toBe(truth.get(category));
      }
      // The reporting view agrees with the raw tables.
      const viaView = await call('execute_sql', {
        query:
          "SELECT category, ROUND(SUM(revenue), 2) FROM order_line_revenue WHERE quarter = '2024-Q4' GROUP BY category"
      });
      for (const [category, revenue] of (viaView.structuredContent as { rows: [string, number][] }).rows) {
        expect(Math.round(revenue * 100), category).toBe(truth.get(category));
      }
    });

    it('returns exact values: decimals as strings, booleans, GUIDs, base64 binary, NULL', async () => {
      const result = await call('execute_sql', {
        query: `SELECT p.unit_price, p.is_active, p.discontinued_on, p.thumbnail_png, t.transaction_id, t.amount
                  FROM products p, payment_transactions t
                 WHERE p.discontinued_on IS NULL ORDER BY p.product_id, t.transaction_id LIMIT 1`
      });
      const [row] = (result.structuredContent as { rows: unknown[][] }).rows;
      const [price, active, discontinued, thumbnail, guid, amount] = row ?? [];
      expect(price).toMatch(/^\d+\.\d{2}$/);
      expect(amount).toMatch(/^\d+\.\d{2}$/);
      expect(active).toBe(true);
      expect(discontinued).toBeNull();
      expect(thumbnail).toMatch(/^iVBORw0KGgo[A-Za-z0-9+/=]+… \(\d+ bytes, shortened\)$/);
      expect(guid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    });

    it('get_table_sample returns 10 rows by default and refuses a limit over the cap', async () => {
      const result = await call('get_table_sample', { table_name: 'ORDERS' });
      const structured = result.structuredContent as {
        schema: string;
        table: string;
        rowCount: number;
        columns: { name: string }[];
      };
      expect(structured).toMatchObject({ schema: 'main', table: 'orders', rowCount: 10 });
      expect(structured.columns.map(c => c.name)).toContain('order_number');
      const five = await call('get_table_sample', { table_name: 'regions', limit: 5 });
      expect((five.structuredContent as { rowCount: number }).rowCount).toBe(5);
      const tooMany = await client.callTool({
        name: 'get_table_sample',
        arguments: { table_name: 'orders', limit: 100_000 }
      });
      expect(tooMany.isError).toBe(true);
      expect(text(tooMany)).toMatch(/limit/i);
    });

    it('caps a 100,000-row result, says so, and stops reading', async () => {
      const result = await call('execute_sql', {
        query: 'WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000) SELECT i FROM n'
      });
      const structured = result.structuredContent as {
        rowCount: number;
        truncated: boolean;
        truncation: string;
        note: string;
        rows: number[][];
      };
      expect(structured).toMatchObject({ rowCount: 1000, truncated: true, truncation: 'max_rows' });
      expect(structured.rows.at(-1)).toEqual([1000]);
      expect(structured.note).toContain('1000-row limit');
      // The demo is SQLite: the note pages in its SQL.
      expect(structured.note).toContain('page with LIMIT/OFFSET');
      expect(text(result)).toContain('1000-row limit');
      if (server !== undefined) {
        const event = await server.logLine(
          l => l['msg'] === 'query' && l['kind'] === 'query' && l['truncated'] === true
        );
        expect(event['rowsRead']).toBe(1001);
      }
    });

    it('reports SQL errors as tool errors with the database message', async () => {
      const missing = await client.callTool({
        name: 'execute_sql',
        arguments: { query: 'SELECT * FROM no_such_table' }
      });
      expect(missing.isError).toBe(true);
      expect(text(missing)).toContain('no such table: no_such_table');
      const unknownTable = await client.callTool({ name: 'describe_table', arguments: { table_name: 'nope' } });
      expect(unknownTable.isError).toBe(true);
      expect(text(unknownTable)).toContain('list_tables');
    });

    it('refuses writes in the read-only demo', async () => {
      const result = await client.callTool({
        name: 'execute_sql',
        arguments: { query: "DELETE FROM regions WHERE code = 'NA'" }
      });
      expect(result.isError).toBe(true);
      expect(text(result)).toMatch(/read-only/);
      const after = await call('execute_sql', { query: "SELECT COUNT(*) FROM regions WHERE code = 'NA'" });
      expect((after.structuredContent as { rows: number[][] }).rows).toEqual([[1]]);
    });
  });
}
