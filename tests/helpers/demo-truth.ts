import { createHash } from 'node:crypto';
import { DatabaseSync } from 'node:sqlite';

/**
 * Answers computed straight from the demo database file, without sqlbridge: raw rows read here and
 * summed in JavaScript with integer cents, so they check the server independently.
 */

export function openReadOnly(path: string): DatabaseSync {
  return new DatabaseSync(path, { readOnly: true });
}

const cents = (value: unknown): number => Math.round(Number(value) * 100);

/** Revenue (cents) per category for orders placed in 2024-Q4 that were paid. */
export function q4Revenue2024(path: string): Map<string, number> {
  const db = openReadOnly(path);
  try {
    const rows = db
      .prepare(
        `SELECT pc.name AS category, oi.quantity, oi.unit_price, oi.discount_amount
           FROM order_items oi
           JOIN orders o ON o.order_id = oi.order_id
           JOIN products p ON p.product_id = oi.product_id
           JOIN product_categories pc ON pc.category_id = p.category_id
          WHERE o.ordered_at >= '2024-10-01' AND o.ordered_at < '2025-01-01'
            AND o.status IN ('paid', 'shipped', 'delivered')`
      )
      .all();
    const totals = new Map<string, number>();
    for (const row of rows) {
      const line = Number(row['quantity']) * cents(row['unit_price']) - cents(row['discount_amount']);
      const category = String(row['category']);
      totals.set(category, (totals.get(category) ?? 0) + line);
    }
    return totals;
  } finally {
    db.close();
  }
}

/** Count of rows in a table. */
export function rowCount(path: string, table: string): number {
  const db = openReadOnly(path);
  try {
    const row = db.prepare(`SELECT COUNT(*) AS n FROM "${table.replaceAll('"', '""')}"`).get();
    return Number(row?.['n']);
  } finally {
    db.close();
  }
}

/** A digest of every row of every table, in key order: equal digests mean equal content. */
export function contentChecksum(db: DatabaseSync): string {
  const hash = createHash('sha256');
  const tables = db
    .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
    .all();
  for (const { name } of tables) {
    hash.update(`table ${String(name)}\n`);
    for (const row of db.prepare(`SELECT * FROM "${String(name)}" ORDER BY 1, 2`).all()) {
      hash.update(
        JSON.stringify(row, (_key, value: unknown) =>
          value instanceof Uint8Array ? Buffer.from(value).toString('hex') : value
        )
      );
    }
  }
  return hash.digest('hex');
}
