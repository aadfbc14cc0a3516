/**
 * When things happen in the demo business: order volume grows about 50 % a year, peaks in November
 * and December and in the (UTC) afternoon and evening. Time is cut into hour slots since T0; each
 * slot's events are drawn from a random source keyed by the slot, so they never depend on when the
 * database was generated.
 */

export const T0 = Date.UTC(2023, 0, 1);
export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
const YEAR = 365.25 * DAY;

const BASE_ORDERS_PER_DAY = 36;
const YEARLY_GROWTH = 1.5;
const MONTH_FACTOR = [0.86, 0.8, 0.92, 0.95, 1.0, 0.94, 0.93, 0.98, 1.0, 1.06, 1.38, 1.6];
const WEEKDAY_FACTOR = [1.12, 0.94, 0.95, 0.96, 0.98, 1.0, 1.05]; // Sunday first
const HOUR_WEIGHTS = [
  3, 2, 1.5, 1.2, 1, 1.2, 1.8, 2.6, 3.4, 4, 4.6, 5, 5.6, 6.2, 6.8, 7, 7, 6.8, 6.6, 6.4, 6, 5.4, 4.6, 3.8
];
const HOUR_TOTAL = HOUR_WEIGHTS.reduce((a, b) => a + b, 0);

/** Expected orders in the hour starting at `hourStart`. */
export function ordersPerHour(hourStart: number): number {
  const date = new Date(hourStart);
  const years = (hourStart - T0) / YEAR;
  const daily =
    BASE_ORDERS_PER_DAY *
    Math.pow(YEARLY_GROWTH, years) *
    (MONTH_FACTOR[date.getUTCMonth()] ?? 1) *
    (WEEKDAY_FACTOR[date.getUTCDay()] ?? 1);
  return (daily * (HOUR_WEIGHTS[date.getUTCHours()] ?? 1)) / HOUR_TOTAL;
}

/** Share of orders placed by a customer who signs up just before ordering. */
export const NEW_CUSTOMER_SHARE = 0.28;
/** Sign-ups that do not order, per expected order. */
export const SIGNUP_ONLY_RATE = 0.08;
/** Declined checkout attempts that never become an order, per expected order. */
export const ABANDONED_ATTEMPT_RATE = 0.25;

export function slotOf(time: number): number {
  return Math.floor((time - T0) / HOUR);
}

export function slotStart(slot: number): number {
  return T0 + slot * HOUR;
}

/** SQLite's canonical UTC timestamp text. */
export function timestamp(time: number): string {
  return new Date(time).toISOString().slice(0, 19).replace('T', ' ');
}

export function dateText(time: number): string {
  return new Date(time).toISOString().slice(0, 10);
}

/** Expected new customers in a calendar month (for marketing budgets planned ahead). */
export function expectedSignupsInMonth(monthStart: number): number {
  const next = new Date(monthStart);
  next.setUTCMonth(next.getUTCMonth() + 1);
  let orders = 0;
  for (let t = monthStart; t < next.getTime(); t += HOUR) orders += ordersPerHour(t);
  return orders * (NEW_CUSTOMER_SHARE + SIGNUP_ONLY_RATE);
}
