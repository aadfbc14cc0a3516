/**
 * What a SQLite column's declared type means for its values (https://sqlite.org/datatype3.html):
 * SQLite stores a declared DECIMAL(p,s) as an integer or a double, printed by sqlbridge with exactly
 * s digits, and a declared BOOLEAN as 0 or 1, returned as false or true.
 */

const DECIMAL_TYPE = /^\s*(?:decimal|numeric)\s*\(\s*\d+\s*(?:,\s*(\d+)\s*)?\)/i;
const BOOLEAN_TYPE = /^\s*bool(?:ean)?\s*$/i;

/** The scale of a declared DECIMAL(p,s) or NUMERIC(p,s) (0 without s); undefined for any other type. */
export function declaredScale(type: string | null): number | undefined {
  if (type === null) return undefined;
  const match = DECIMAL_TYPE.exec(type);
  if (match === null) return undefined;
  return Number(match[1] ?? '0');
}

export function declaredBoolean(type: string | null): boolean {
  return type !== null && BOOLEAN_TYPE.test(type);
}

/**
 * Whether a column's integers may leave the worker as numbers when a number holds them exactly:
 * any column but a declared decimal or boolean, whose integers keep their storage class so that
 * they are printed and read by the declared type exactly as SQLite returned them.
 */
export function integersTravelAsNumbers(type: string | null): boolean {
  return declaredScale(type) === undefined && !declaredBoolean(type);
}
