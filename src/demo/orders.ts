import { onSale, type Product } from './products.ts';
import { Random } from './random.ts';
import {
  CARD_BRANDS,
  CATEGORIES,
  COUPONS,
  FAILURE_CODES,
  REGIONS,
  RETURN_REASONS,
  type Category
} from './reference-data.ts';
import { DAY, HOUR } from './timeline.ts';

/**
 * One order's whole life, decided at once from a random source keyed by the order id: its lines,
 * its payment attempts, shipping, delivery, and any returns and refunds. Which of these events have
 * happened is a question of the clock only, so the same order looks the same whenever it is built.
 */

export interface OrderCustomer {
  id: number;
  regionId: number;
  isBusiness: boolean;
}

export interface PlannedLine {
  lineNumber: number;
  productId: number;
  quantity: number;
  unitPriceCents: number;
  discountCents: number;
}

export interface PlannedPayment {
  id: string;
  kind: 'charge' | 'refund';
  amountCents: number;
  status: 'succeeded' | 'failed';
  failureCode: string | null;
  cardBrand: string;
  cardLast4: string;
  at: number;
  settledAt: number | null;
  gatewayResponse: Uint8Array;
}

export interface PlannedReturn {
  id: number;
  lineNumber: number;
  at: number;
  quantity: number;
  reason: string;
  refundCents: number;
}

export interface OrderPlan {
  id: number;
  customer: OrderCustomer;
  orderedAt: number;
  salesChannel: 'web' | 'mobile' | 'phone';
  couponCode: string | null;
  lines: PlannedLine[];
  subtotalCents: number;
  shippingCents: number;
  taxCents: number;
  totalCents: number;
  payments: PlannedPayment[];
  paidAt: number | null;
  /** When the last payment attempt failed and the order was given up. */
  cancelledAt: number | null;
  shippedAt: number | null;
  deliveredAt: number | null;
  returns: PlannedReturn[];
}

export type OrderStatus = 'pending' | 'paid' | 'shipped' | 'delivered' | 'cancelled';

/** Products on sale on one day, by category, with the categories weighted by popularity. */
export interface DailyCatalog {
  byCategory: ReadonlyMap<number, readonly Product[]>;
  categories: readonly (readonly [Category, number])[];
}

export type CatalogAt = (time: number) => DailyCatalog;

export function catalogByDate(products: readonly Product[]): CatalogAt {
  const cache = new Map<number, DailyCatalog>();
  return time => {
    const day = Math.floor(time / DAY);
    let catalog = cache.get(day);
    if (catalog === undefined) {
      const byCategory = new Map<number, Product[]>();
      for (const product of products) {
        if (!onSale(product, day * DAY)) continue;
        const list = byCategory.get(product.categoryId) ?? [];
        list.push(product);
        byCategory.set(product.categoryId, list);
      }
      const categories = CATEGORIES.filter(c => c.popularity > 0 && byCategory.has(c.id)).map(
        c => [c, c.popularity] as const
      );
      catalog = { byCategory, categories };
      cache.set(day, catalog);
    }
    return catalog;
  };
}

const LINE_COUNT: readonly (readonly [number, number])[] = [
  [1, 45],
  [2, 28],
  [3, 14],
  [4, 8],
  [5, 5]
];
const QUANTITY: readonly (readonly [number, number])[] = [
  [1, 80],
  [2, 14],
  [3, 4],
  [4, 2]
];
const SALES_CHANNEL: readonly (readonly ['web' | 'mobile' | 'phone', number])[] = [
  ['web', 58],
  ['mobile', 37],
  ['phone', 5]
];
const FREE_SHIPPING_FROM_CENTS = 7500;
const SHIPPING_CENTS = 695;
/** List prices are 2026 prices; earlier years were about 4 % cheaper per year. */
const PRICE_YEAR = 2026;
const YEARLY_PRICE_RISE = 1.04;

export function planOrder(
  seed: string,
  id: number,
  orderedAt: number,
  customer: OrderCustomer,
  catalogAt: CatalogAt
): OrderPlan {
  const random = new Random(seed, 'order', id);
  const region = REGIONS.find(r => r.id === customer.regionId) ?? REGIONS[0];
  if (region === undefined) throw new Error('no regions');
  const catalog = catalogAt(orderedAt);
  const priceFactor = Math.pow(YEARLY_PRICE_RISE, new Date(orderedAt).getUTCFullYear() - PRICE_YEAR);
  const discountRate = random.chance(0.15) ? random.pick([0.1, 0.15, 0.2]) : 0;
  const couponCode = discountRate > 0 ? random.pick(COUPONS) : null;

  const lines: PlannedLine[] = [];
  const returnRates: number[] = [];
  const used = new Set<number>();
  const lineCount = random.weighted(LINE_COUNT);
  for (let n = 0; n < lineCount; n++) {
    const category = random.weighted(catalog.categories);
    const product = random.pick(catalog.byCategory.get(category.id) ?? []);
    if (used.has(product.id)) continue;
    used.add(product.id);
    returnRates.push(category.returnRate);
    const quantity = random.weighted(QUANTITY) * (customer.isBusiness && random.chance(0.4) ? random.int(2, 6) : 1);
    const unitPriceCents = Math.round(product.listPriceCents * priceFactor);
    lines.push({
      lineNumber: lines.length + 1,
      productId: product.id,
      quantity,
      unitPriceCents,
      discountCents: Math.round(quantity * unitPriceCents * discountRate)
    });
  }
  const subtotalCents = lines.reduce((sum, l) => sum + l.quantity * l.unitPriceCents - l.discountCents, 0);
  const shippingCents = subtotalCents >= FREE_SHIPPING_FROM_CENTS ? 0 : SHIPPING_CENTS;
  const taxCents = Math.round(subtotalCents * region.taxRate);
  const totalCents = subtotalCents + shippingCents + taxCents;

  // Payment attempts: a declined card is retried (sometimes with another card) up to three times.
  const payments: PlannedPayment[] = [];
  let card = newCard(random);
  let at = orderedAt + random.int(5, 90) * 1000;
  let paidAt: number | null = null;
  let cancelledAt: number | null = null;
  for (let attempt = 1; attempt <= 3; attempt++) {
    const declined = random.chance(region.declineRate * (attempt === 1 ? 1 : 2.5));
    payments.push(charge(random, totalCents, card, at, declined));
    if (!declined) {
      paidAt = at;
      break;
    }
    if (attempt === 3 || random.chance(0.25)) {
      cancelledAt = at;
      break;
    }
    if (random.chance(0.4)) card = newCard(random);
    at += random.int(90, 1500) * 1000;
  }

  const shippedAt = paidAt === null ? null : paidAt + random.int(6, 60) * HOUR;
  const deliveredAt = shippedAt === null ? null : shippedAt + random.int(1, 6) * DAY + random.int(0, 23) * HOUR;

  const returns: PlannedReturn[] = [];
  if (deliveredAt !== null) {
    for (const [index, line] of lines.entries()) {
      if (!random.chance(returnRates[index] ?? 0.03)) continue;
      const returnedAt = deliveredAt + random.int(2, 28) * DAY + random.int(0, 86_399) * 1000;
      const refundCents = line.quantity * line.unitPriceCents - line.discountCents;
      returns.push({
        id: id * 10 + line.lineNumber,
        lineNumber: line.lineNumber,
        at: returnedAt,
        quantity: line.quantity,
        reason: random.pick(RETURN_REASONS),
        refundCents
      });
      payments.push({
        id: random.uuid(),
        kind: 'refund',
        amountCents: refundCents,
        status: 'succeeded',
        failureCode: null,
        cardBrand: card.brand,
        cardLast4: card.last4,
        at: returnedAt + random.int(1, 36) * HOUR,
        settledAt: null,
        gatewayResponse: random.bytes(random.int(16, 48))
      });
    }
  }

  return {
    id,
    customer,
    orderedAt,
    salesChannel: random.weighted(SALES_CHANNEL),
    couponCode,
    lines,
    subtotalCents,
    shippingCents,
    taxCents,
    totalCents,
    payments,
    paidAt,
    cancelledAt,
    shippedAt,
    deliveredAt,
    returns
  };
}

/** The order's status as of `now`. */
export function statusAt(plan: OrderPlan, now: number): OrderStatus {
  if (plan.cancelledAt !== null && plan.cancelledAt <= now) return 'cancelled';
  if (plan.paidAt === null || plan.paidAt > now) return 'pending';
  if (plan.shippedAt === null || plan.shippedAt > now) return 'paid';
  if (plan.deliveredAt === null || plan.deliveredAt > now) return 'shipped';
  return 'delivered';
}

/** Whether anything about the order happens in the window (from, to]. */
export function changesWithin(plan: OrderPlan, from: number, to: number): boolean {
  const within = (time: number | null): boolean => time !== null && time > from && time <= to;
  return (
    within(plan.orderedAt) ||
    within(plan.paidAt) ||
    within(plan.cancelledAt) ||
    within(plan.shippedAt) ||
    within(plan.deliveredAt) ||
    plan.payments.some(p => within(p.at)) ||
    plan.returns.some(r => within(r.at))
  );
}

export interface Card {
  brand: string;
  last4: string;
}

export function newCard(random: Random): Card {
  return { brand: random.weighted(CARD_BRANDS), last4: String(random.int(0, 9999)).padStart(4, '0') };
}

/** A declined or approved card charge; abandoned checkouts use it too. */
export function charge(random: Random, amountCents: number, card: Card, at: number, declined: boolean): PlannedPayment {
  return {
    id: random.uuid(),
    kind: 'charge',
    amountCents,
    status: declined ? 'failed' : 'succeeded',
    failureCode: declined ? random.weighted(FAILURE_CODES) : null,
    cardBrand: card.brand,
    cardLast4: card.last4,
    at,
    settledAt: declined ? null : at + random.int(1, 9) * 1000,
    gatewayResponse: random.bytes(random.int(16, 48))
  };
}
