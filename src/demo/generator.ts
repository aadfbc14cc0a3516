import type { DatabaseSync, StatementSync } from 'node:sqlite';
import {
  catalogByDate,
  changesWithin,
  charge,
  newCard,
  planOrder,
  statusAt,
  type CatalogAt,
  type OrderCustomer,
  type OrderPlan
} from './orders.ts';
import { buildProducts, productRow, type Product } from './products.ts';
import { Random, hashKeys } from './random.ts';
import { CATEGORIES, CHANNELS, COMPANY_WORDS, FIRST_NAMES, LAST_NAMES, REGIONS } from './reference-data.ts';
import { DEMO_APPLICATION_ID, DEMO_SCHEMA } from './schema.ts';
import {
  ABANDONED_ATTEMPT_RATE,
  DAY,
  NEW_CUSTOMER_SHARE,
  SIGNUP_ONLY_RATE,
  T0,
  dateText,
  expectedSignupsInMonth,
  ordersPerHour,
  slotOf,
  slotStart,
  timestamp
} from './timeline.ts';

/**
 * Writes the demo business into a SQLite database up to a moment in time. Every row's key and
 * content is a function of the seed and of time only, and rows are inserted with INSERT OR IGNORE,
 * so extending a database minute by minute gives exactly the rows that generating it in one go
 * would. `PRAGMA user_version` holds how far it has been generated (seconds since T0).
 */

export const DEMO_SEED = 'northwind-outfitters';
/** Orders can still change this long after they are placed (payment retries, delivery, returns). */
const ORDER_ACTIVITY_WINDOW = 45 * DAY;

interface Statements {
  customer: StatementSync;
  order: StatementSync;
  item: StatementSync;
  payment: StatementSync;
  return: StatementSync;
  spend: StatementSync;
}

export class DemoGenerator {
  private readonly db: DatabaseSync;
  private readonly seed: string;
  private readonly products: Product[];
  private readonly catalogAt: CatalogAt;
  private statements: Statements | undefined;
  /** Plans of orders that may still change, kept between extensions so the live feed stays cheap. */
  private readonly openPlans = new Map<number, OrderPlan>();

  constructor(db: DatabaseSync, seed = DEMO_SEED) {
    this.db = db;
    this.seed = seed;
    this.products = buildProducts(seed);
    this.catalogAt = catalogByDate(this.products);
  }

  /** Creates the schema and the fixed reference data in an empty database. */
  initialize(): void {
    this.db.exec('PRAGMA foreign_keys = ON');
    this.db.exec('BEGIN');
    this.db.exec(DEMO_SCHEMA);
    const insert = (sql: string, rows: readonly unknown[][]): void => {
      const statement = this.db.prepare(sql);
      for (const row of rows) statement.run(...(row as never[]));
    };
    insert(
      'INSERT INTO regions VALUES (?, ?, ?, ?)',
      REGIONS.map(r => [r.id, r.code, r.name, r.taxRate])
    );
    insert(
      'INSERT INTO marketing_channels VALUES (?, ?, ?)',
      CHANNELS.map(c => [c.id, c.name, c.paid ? 1 : 0])
    );
    insert(
      'INSERT INTO product_categories VALUES (?, ?, ?)',
      CATEGORIES.map(c => [c.id, c.name, c.parentId])
    );
    insert('INSERT INTO products VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)', this.products.map(productRow));
    this.db.exec(`PRAGMA application_id = ${DEMO_APPLICATION_ID}`);
    this.db.exec('PRAGMA user_version = 0');
    this.db.exec('COMMIT');
  }

  /** Seconds since T0 up to which the database holds the business. */
  generatedThrough(): number {
    const row = this.db.prepare('PRAGMA user_version').get() as { user_version: number | bigint } | undefined;
    return T0 + Number(row?.user_version ?? 0) * 1000;
  }

  /**
   * Adds everything that happened after the last extension, up to `now`. Safe to call from several
   * processes at once: the write lock is taken first and the mark re-read under it.
   */
  extendTo(now: number): { from: number; to: number; orders: number } {
    const to = Math.floor(now / 1000) * 1000;
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const through = this.generatedThrough();
      const from = through === T0 ? T0 - 1 : through;
      if (to <= from) {
        this.db.exec('COMMIT');
        return { from, to: from, orders: 0 };
      }
      this.statements ??= this.prepare();
      this.sweepOpenOrders(from, to);
      const orders = this.generateSlots(from, to);
      this.addMarketingSpend(from, to);
      this.db.exec(`PRAGMA user_version = ${Math.floor((to - T0) / 1000)}`);
      this.db.exec('COMMIT');
      return { from, to, orders };
    } catch (error) {
      this.db.exec('ROLLBACK');
      throw error;
    }
  }

  private prepare(): Statements {
    return {
      customer: this.db.prepare('INSERT OR IGNORE INTO customers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)'),
      order: this.db.prepare(
        `INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'USD', ?, ?, ?)
         ON CONFLICT (order_id) DO UPDATE SET status = excluded.status, shipped_at = excluded.shipped_at, delivered_at = excluded.delivered_at`
      ),
      item: this.db.prepare('INSERT OR IGNORE INTO order_items VALUES (?, ?, ?, ?, ?, ?)'),
      payment: this.db.prepare(
        `INSERT OR IGNORE INTO payment_transactions VALUES (?, ?, ?, ?, ?, 'USD', ?, ?, ?, ?, ?, ?, ?)`
      ),
      return: this.db.prepare('INSERT OR IGNORE INTO returns VALUES (?, ?, ?, ?, ?, ?, ?)'),
      spend: this.db.prepare('INSERT OR IGNORE INTO marketing_spend VALUES (?, ?, ?, ?, ?, ?)')
    };
  }

  /** Orders placed before `from` whose payments, shipping or returns fall in (from, to]. */
  private sweepOpenOrders(from: number, to: number): void {
    const open = this.db
      .prepare(
        `SELECT o.order_id, o.ordered_at, o.customer_id, c.region_id, c.is_business
           FROM orders o JOIN customers c ON c.customer_id = o.customer_id
          WHERE o.ordered_at >= ? AND o.ordered_at <= ?`
      )
      .all(timestamp(from - ORDER_ACTIVITY_WINDOW), timestamp(from));
    const horizon = from - ORDER_ACTIVITY_WINDOW;
    for (const [id, plan] of this.openPlans) if (plan.orderedAt < horizon) this.openPlans.delete(id);
    for (const row of open) {
      const id = Number(row['order_id']);
      let plan = this.openPlans.get(id);
      if (plan === undefined) {
        const orderedAt = Date.parse(`${String(row['ordered_at']).replace(' ', 'T')}Z`);
        const customer = {
          id: Number(row['customer_id']),
          regionId: Number(row['region_id']),
          isBusiness: Number(row['is_business']) === 1
        };
        plan = planOrder(this.seed, id, orderedAt, customer, this.catalogAt);
        this.openPlans.set(id, plan);
      }
      if (changesWithin(plan, from, to)) this.writeOrder(plan, to);
    }
  }

  private generateSlots(from: number, to: number): number {
    const firstSlot = slotOf(Math.max(from, T0));
    const all = this.db
      .prepare('SELECT customer_id, region_id, is_business FROM customers WHERE signed_up_at < ? ORDER BY customer_id')
      .all(timestamp(slotStart(firstSlot)))
      .map(row => ({
        id: Number(row['customer_id']),
        regionId: Number(row['region_id']),
        isBusiness: Number(row['is_business']) === 1
      }));
    const existing: KnownCustomers = { all, regulars: all.filter(c => isRegular(this.seed, c.id)) };
    let orders = 0;
    for (let slot = firstSlot; slot <= slotOf(to); slot++) {
      orders += this.generateSlot(slot, existing, from, to);
    }
    return orders;
  }

  /** One hour of business. Customers who signed up in it join `existing` for later hours. */
  private generateSlot(slot: number, existing: KnownCustomers, from: number, to: number): number {
    const random = new Random(this.seed, 'slot', slot);
    const start = slotStart(slot);
    const rate = ordersPerHour(start);
    // Caps keep the per-hour ids (slot × 100 + n) of orders and customers within their hour.
    const orderTimes = offsets(random, Math.min(60, random.poisson(rate)), start);
    const signupOnlyTimes = offsets(random, Math.min(20, random.poisson(rate * SIGNUP_ONLY_RATE)), start);
    const abandonedTimes = offsets(random, Math.min(99, random.poisson(rate * ABANDONED_ATTEMPT_RATE)), start);
    const within = (time: number): boolean => time > from && time <= to;
    const newcomers: OrderCustomer[] = [];
    let customerSeq = 0;
    const signUp = (at: number): OrderCustomer => {
      const { customer, row } = this.newCustomer(slot * 100 + ++customerSeq, at);
      if (within(at)) this.statements?.customer.run(...(row as never[]));
      newcomers.push(customer);
      return customer;
    };

    let written = 0;
    orderTimes.forEach((orderedAt, k) => {
      const isNew = existing.all.length === 0 || random.chance(NEW_CUSTOMER_SHARE);
      const signupAt = Math.max(start, orderedAt - random.int(60, 1800) * 1000);
      const customer = isNew ? signUp(signupAt) : pickExisting(random, existing);
      if (!within(orderedAt)) return;
      const plan = planOrder(this.seed, slot * 100 + k + 1, orderedAt, customer, this.catalogAt);
      if (to - orderedAt < ORDER_ACTIVITY_WINDOW) this.openPlans.set(plan.id, plan);
      this.writeOrder(plan, to);
      written++;
    });
    for (const at of signupOnlyTimes) signUp(at);
    for (const at of abandonedTimes) {
      const customer = existing.all.length === 0 ? undefined : pickExisting(random, existing);
      const amountCents = random.int(1500, 40_000);
      const card = newCard(random);
      const attempts = random.int(1, 2);
      for (let n = 0; n < attempts; n++) {
        const payment = charge(random, amountCents, card, at + n * random.int(30, 300) * 1000, true);
        if (customer !== undefined && within(payment.at)) this.writePayment(payment, null, customer.id);
      }
    }
    newcomers.sort((a, b) => a.id - b.id);
    existing.all.push(...newcomers);
    existing.regulars.push(...newcomers.filter(c => isRegular(this.seed, c.id)));
    return written;
  }

  private newCustomer(id: number, at: number): { customer: OrderCustomer; row: unknown[] } {
    const random = new Random(this.seed, 'customer', id);
    const region = random.weighted(REGIONS.map(r => [r, r.share] as const));
    const channel = random.chance(0.04) ? null : random.weighted(CHANNELS.map(c => [c, c.share] as const));
    const first = random.pick(FIRST_NAMES);
    const last = random.pick(LAST_NAMES);
    const isBusiness = random.chance(0.18);
    const email = `${ascii(first)}.${ascii(last)}${id}@example.com`;
    return {
      customer: { id, regionId: region.id, isBusiness },
      row: [
        id,
        random.uuid(),
        first,
        last,
        email,
        isBusiness ? `${last} ${random.pick(COMPANY_WORDS)}` : null,
        region.id,
        channel?.id ?? null,
        isBusiness ? 1 : 0,
        random.chance(0.55) ? 1 : 0,
        timestamp(at)
      ]
    };
  }

  /** Writes the order as it stands at `to`: the row (or its new status) and every event up to then. */
  private writeOrder(plan: OrderPlan, to: number): void {
    const s = this.statements;
    if (s === undefined) return;
    const upTo = (time: number | null): string | null => (time !== null && time <= to ? timestamp(time) : null);
    s.order.run(
      plan.id,
      `SO-${String(plan.id).padStart(8, '0')}`,
      plan.customer.id,
      timestamp(plan.orderedAt),
      statusAt(plan, to),
      plan.salesChannel,
      plan.subtotalCents / 100,
      plan.shippingCents / 100,
      plan.taxCents / 100,
      plan.totalCents / 100,
      plan.couponCode,
      upTo(plan.shippedAt),
      upTo(plan.deliveredAt)
    );
    for (const line of plan.lines) {
      s.item.run(
        plan.id,
        line.lineNumber,
        line.productId,
        line.quantity,
        line.unitPriceCents / 100,
        line.discountCents / 100
      );
    }
    for (const payment of plan.payments) {
      if (payment.at <= to) this.writePayment(payment, plan.id, plan.customer.id);
    }
    for (const ret of plan.returns) {
      if (ret.at <= to)
        s.return.run(
          ret.id,
          plan.id,
          ret.lineNumber,
          timestamp(ret.at),
          ret.quantity,
          ret.reason,
          ret.refundCents / 100
        );
    }
  }

  private writePayment(payment: ReturnType<typeof charge>, orderId: number | null, customerId: number): void {
    this.statements?.payment.run(
      payment.id,
      orderId,
      customerId,
      payment.kind,
      payment.amountCents / 100,
      payment.status,
      payment.failureCode,
      payment.cardBrand,
      payment.cardLast4,
      timestamp(payment.at),
      payment.settledAt === null ? null : timestamp(payment.settledAt),
      payment.gatewayResponse
    );
  }

  /** Marketing budgets are booked on the first of each month, from the sign-ups the month is expected to bring. */
  private addMarketingSpend(from: number, to: number): void {
    const month = new Date(Math.max(from, T0));
    month.setUTCDate(1);
    month.setUTCHours(0, 0, 0, 0);
    const paid = CHANNELS.filter(c => c.paid);
    const mix = paid.reduce((sum, c) => sum + c.share * c.costFactor, 0);
    for (; month.getTime() <= to; month.setUTCMonth(month.getUTCMonth() + 1)) {
      const start = month.getTime();
      if (!(start > from && start <= to)) continue;
      const signups = expectedSignupsInMonth(start);
      for (const region of REGIONS) {
        for (const channel of paid) {
          const random = new Random(this.seed, 'spend', dateText(start), region.id, channel.id);
          const budget = (signups * region.share * region.targetCac * channel.share * channel.costFactor) / mix;
          const amountCents = Math.round(budget * (0.88 + random.next() * 0.24) * 100);
          const impressions = Math.round((amountCents / 100) * random.int(90, 260));
          const clicks = Math.round(impressions * (0.006 + random.next() * 0.03));
          this.statements?.spend.run(region.id, channel.id, dateText(start), amountCents / 100, impressions, clicks);
        }
      }
    }
  }
}

/** `count` sorted moments within the hour starting at `start`, to the second. */
function offsets(random: Random, count: number, start: number): number[] {
  return Array.from({ length: count }, () => start + random.int(0, 3599) * 1000).sort((a, b) => a - b);
}

/** About one customer in 40 is a regular who places far more orders than the rest. */
export function isRegular(seed: string, customerId: number): boolean {
  return hashKeys(seed, 'regular', customerId) % 40 === 0;
}

/** A returning customer: often one of the regulars, otherwise anyone who has signed up. */
function pickExisting(random: Random, customers: KnownCustomers): OrderCustomer {
  const pool = customers.regulars.length > 0 && random.chance(0.3) ? customers.regulars : customers.all;
  return random.pick(pool);
}

interface KnownCustomers {
  all: OrderCustomer[];
  regulars: OrderCustomer[];
}

function ascii(name: string): string {
  return name
    .normalize('NFD')
    .replace(/[^A-Za-z]/g, '')
    .toLowerCase();
}
