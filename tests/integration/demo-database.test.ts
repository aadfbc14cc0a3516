import { copyFileSync, existsSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, expect, inject, it } from 'vitest';
import { DemoDatabase, DEMO_FILE } from '../../src/demo/demo-database.ts';
import { DemoGenerator } from '../../src/demo/generator.ts';
import { DEMO_APPLICATION_ID } from '../../src/demo/schema.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { emptyDir } from '../helpers/data-dir.ts';
import { contentChecksum, openReadOnly } from '../helpers/demo-truth.ts';

const logger = createLogger('silent');
const HOUR = 3_600_000;

function generated(until: number, steps: number[] = []): DatabaseSync {
  const db = new DatabaseSync(':memory:');
  const generator = new DemoGenerator(db);
  generator.initialize();
  for (const step of steps) generator.extendTo(step);
  generator.extendTo(until);
  return db;
}

describe('demo database', () => {
  const template = inject('demoTemplate');

  it('has at least 8 tables with primary keys, foreign keys, indexes and views', () => {
    const db = openReadOnly(template);
    try {
      const tables = db
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        .all()
        .map(r => String(r['name']));
      expect(tables.length).toBeGreaterThanOrEqual(8);
      for (const table of tables) {
        const pk = db.prepare('SELECT count(*) AS n FROM pragma_table_info(?) WHERE pk > 0').get(table);
        expect(Number(pk?.['n']), `${table} has a primary key`).toBeGreaterThan(0);
      }
      const foreignKeys = tables.flatMap(t => db.prepare('SELECT DISTINCT id FROM pragma_foreign_key_list(?)').all(t));
      expect(foreignKeys.length).toBeGreaterThanOrEqual(10);
      const indexes = db
        .prepare("SELECT count(*) AS n FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL")
        .get();
      expect(Number(indexes?.['n'])).toBeGreaterThanOrEqual(8);
      const views = db
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'view' ORDER BY name")
        .all()
        .map(r => r['name']);
      expect(views).toEqual(['monthly_acquisition', 'order_line_revenue']);
      const largest = Math.max(...tables.map(t => Number(db.prepare(`SELECT count(*) AS n FROM "${t}"`).get()?.['n'])));
      expect(largest).toBeGreaterThanOrEqual(100_000);
    } finally {
      db.close();
    }
  });

  it('uses realistic types: exact decimals, timestamps, dates, booleans, binary, GUIDs and NULLs', () => {
    const db = openReadOnly(template);
    try {
      const declared = (table: string) =>
        new Map(
          db
            .prepare('SELECT name, type, "notnull" AS nn FROM pragma_table_info(?)')
            .all(table)
            .map(r => [String(r['name']), { type: String(r['type']), nullable: r['nn'] === 0 }])
        );
      const payments = declared('payment_transactions');
      expect(payments.get('amount')?.type).toBe('DECIMAL(12,2)');
      expect(payments.get('attempted_at')?.type).toBe('TIMESTAMP');
      expect(payments.get('gateway_response')?.type).toBe('BLOB');
      expect(payments.get('transaction_id')?.type).toBe('CHAR(36)');
      expect(payments.get('order_id')?.nullable).toBe(true);
      expect(declared('products').get('launched_on')?.type).toBe('DATE');
      expect(declared('customers').get('is_business')?.type).toBe('BOOLEAN');
      const sample = db
        .prepare(
          'SELECT transaction_id, typeof(gateway_response) AS blob, attempted_at FROM payment_transactions LIMIT 1'
        )
        .get();
      expect(sample?.['transaction_id']).toMatch(
        /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
      );
      expect(sample?.['blob']).toBe('blob');
      expect(sample?.['attempted_at']).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
      for (const [table, column] of [
        ['customers', 'company_name'],
        ['payment_transactions', 'order_id'],
        ['payment_transactions', 'failure_code'],
        ['products', 'discontinued_on']
      ]) {
        const nulls = db.prepare(`SELECT count(*) AS n FROM ${table ?? ''} WHERE ${column ?? ''} IS NULL`).get();
        expect(Number(nulls?.['n']), `${table}.${column} has NULLs`).toBeGreaterThan(0);
      }
    } finally {
      db.close();
    }
  });

  it('holds the answers to the original guide’s questions', () => {
    const db = openReadOnly(template);
    try {
      const q4 = db
        .prepare(
          "SELECT category, SUM(revenue) AS revenue FROM order_line_revenue WHERE quarter = '2024-Q4' GROUP BY category"
        )
        .all();
      expect(q4.length).toBeGreaterThanOrEqual(10);
      const failedToday = db
        .prepare(
          "SELECT count(*) AS n FROM payment_transactions WHERE status = 'failed' AND attempted_at >= datetime('now', '-24 hours')"
        )
        .get();
      expect(Number(failedToday?.['n'])).toBeGreaterThan(20);
      const cac = db
        .prepare(
          'SELECT region, SUM(marketing_spend) / SUM(new_customers) AS cac FROM monthly_acquisition GROUP BY region'
        )
        .all();
      expect(cac).toHaveLength(6);
      const values = cac.map(r => Number(r['cac']));
      expect(Math.max(...values) / Math.min(...values)).toBeGreaterThan(1.8);
      const top = db
        .prepare(
          "SELECT customer_id, SUM(total) AS revenue FROM orders WHERE status <> 'cancelled' GROUP BY customer_id ORDER BY revenue DESC LIMIT 10"
        )
        .all();
      const median = db
        .prepare(
          "SELECT SUM(total) AS revenue FROM orders WHERE status <> 'cancelled' GROUP BY customer_id ORDER BY revenue LIMIT 1 OFFSET (SELECT count(DISTINCT customer_id) / 2 FROM orders)"
        )
        .get();
      expect(Number(top[9]?.['revenue'])).toBeGreaterThan(10 * Number(median?.['revenue']));
    } finally {
      db.close();
    }
  });

  it('is generated deterministically', () => {
    const until = Date.UTC(2023, 1, 15, 9, 30, 0);
    expect(contentChecksum(generated(until))).toBe(contentChecksum(generated(until)));
  });

  it('grows minute by minute into exactly what one generation gives', () => {
    const until = Date.UTC(2023, 2, 3, 17, 45, 12);
    const start = until - 3 * 24 * HOUR;
    const steps = Array.from({ length: 40 }, (_, i) => start + i * 1.7 * HOUR + 61_000);
    expect(contentChecksum(generated(until, [start, ...steps]))).toBe(contentChecksum(generated(until)));
  });

  it('keeps the last hour current while the server runs', () => {
    const dataDir = emptyDir('feed-');
    let now = Date.UTC(2023, 0, 20, 12, 0, 0);
    const demo = DemoDatabase.open({ dataDir, logger, liveFeed: false, now: () => now });
    const db = openReadOnly(join(dataDir, DEMO_FILE));
    try {
      const latest = () => String(db.prepare('SELECT max(attempted_at) AS t FROM payment_transactions').get()?.['t']);
      expect(latest() <= '2023-01-20 12:00:00').toBe(true);
      now += 6 * HOUR;
      demo.catchUp();
      expect(latest() > '2023-01-20 12:00:00').toBe(true);
      expect(latest() <= '2023-01-20 18:00:00').toBe(true);
      const recent = db.prepare("SELECT count(*) AS n FROM orders WHERE ordered_at > '2023-01-20 12:00:00'").get();
      expect(Number(recent?.['n'])).toBeGreaterThan(0);
    } finally {
      db.close();
      demo.close();
    }
  });

  it('lets two processes extend the same file without duplicating anything', () => {
    const dataDir = emptyDir('shared-');
    let now = Date.UTC(2023, 0, 10);
    const first = DemoDatabase.open({ dataDir, logger, liveFeed: false, now: () => now });
    const second = DemoDatabase.open({ dataDir, logger, liveFeed: false, now: () => now });
    for (let i = 0; i < 10; i++) {
      now += 47 * 60_000;
      (i % 2 === 0 ? first : second).catchUp();
      (i % 3 === 0 ? second : first).catchUp();
    }
    first.close();
    second.close();
    const shared = openReadOnly(join(dataDir, DEMO_FILE));
    try {
      expect(contentChecksum(shared)).toBe(contentChecksum(generated(now)));
    } finally {
      shared.close();
    }
  });

  it('rebuilds a demo file of an older format and leaves a foreign file alone', () => {
    const dataDir = emptyDir('formats-');
    const path = join(dataDir, DEMO_FILE);
    const old = new DatabaseSync(path);
    old.exec(`PRAGMA application_id = ${DEMO_APPLICATION_ID - 1}; CREATE TABLE leftovers (x)`);
    old.close();
    const now = Date.UTC(2023, 0, 3);
    DemoDatabase.open({ dataDir, logger, liveFeed: false, now: () => now }).close();
    const rebuilt = openReadOnly(path);
    expect(rebuilt.prepare("SELECT count(*) AS n FROM sqlite_schema WHERE name = 'leftovers'").get()?.['n']).toBe(0);
    rebuilt.close();

    const foreignDir = emptyDir('foreign-');
    const foreign = new DatabaseSync(join(foreignDir, DEMO_FILE));
    foreign.exec('CREATE TABLE precious (x)');
    foreign.close();
    expect(() => DemoDatabase.open({ dataDir: foreignDir, logger, liveFeed: false, now: () => now })).toThrow(
      'the data directory holds a demo.sqlite that sqlbridge did not create'
    );
    expect(existsSync(join(foreignDir, DEMO_FILE))).toBe(true);
  });

  it('reuses an existing file instead of generating again', () => {
    const dataDir = emptyDir('reuse-');
    const path = join(dataDir, DEMO_FILE);
    copyFileSync(template, path);
    const before = statSync(path).ino;
    const orders = (db: DatabaseSync) => Number(db.prepare('SELECT count(*) AS n FROM orders').get()?.['n']);
    const original = openReadOnly(template);
    const count = orders(original);
    original.close();
    DemoDatabase.open({ dataDir, logger, liveFeed: false }).close();
    expect(statSync(path).ino).toBe(before);
    const reused = openReadOnly(path);
    expect(orders(reused)).toBeGreaterThanOrEqual(count);
    reused.close();
  });

  it('removes what builds stopped before they finished left behind, and no build still running', () => {
    const dataDir = emptyDir('abandoned-');
    copyFileSync(template, join(dataDir, DEMO_FILE));
    // No process has the largest pid there can be; this process's own is a container's at every start.
    const gone = 4_194_304;
    const files = {
      own: `${DEMO_FILE}.${process.pid}.abc123.tmp`,
      stale: `${DEMO_FILE}.${gone}.def456.tmp`,
      fresh: `${DEMO_FILE}.${gone}.ghi789.tmp`,
      other: 'demo.sqlite.notes.tmp'
    };
    for (const name of Object.values(files)) writeFileSync(join(dataDir, name), 'partial');
    const longAgo = new Date(Date.now() - 10 * 60_000);
    utimesSync(join(dataDir, files.stale), longAgo, longAgo);
    DemoDatabase.open({ dataDir, logger, liveFeed: false }).close();
    const left = readdirSync(dataDir).filter(name => name.endsWith('.tmp'));
    expect(left.sort()).toEqual([files.fresh, files.other].sort());
  });
});
