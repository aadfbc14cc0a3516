/**
 * Exact, JSON-safe renderings of database values. Decimals stay strings (a float loses cents),
 * integers beyond 2^53 stay strings, instants are ISO 8601, binary is base64 (shortened past a
 * limit, with its length stated).
 */
export type WireValue = string | number | boolean | null;

export interface ValueOptions {
  /** Binary values longer than this many bytes are shortened to a preview. */
  binaryPreviewBytes: number;
}

export function bigintToWire(value: bigint): number | string {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(value)
    : value.toString();
}

export function numberToWire(value: number): number | string {
  return Number.isFinite(value) ? value : String(value);
}

export function binaryToWire(value: Uint8Array, options: ValueOptions): string {
  const bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (bytes.byteLength <= options.binaryPreviewBytes) return bytes.toString('base64');
  const preview = bytes.subarray(0, options.binaryPreviewBytes).toString('base64');
  return `${preview}… (${bytes.byteLength} bytes, shortened)`;
}

export function dateToWire(value: Date): string {
  return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
}

/** Fallback for values no adapter rule covered: the JSON-safe primitive or a string form. */
export function genericToWire(value: unknown, options: ValueOptions): WireValue {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return numberToWire(value);
    case 'bigint':
      return bigintToWire(value);
    default:
      break;
  }
  if (value instanceof Date) return dateToWire(value);
  if (value instanceof Uint8Array) return binaryToWire(value, options);
  return JSON.stringify(value);
}

/**
 * A decimal with a known scale, held by SQLite as a double (SQLite has no decimal type, and does not
 * enforce the scale): the shortest digits that give the double back, in plain notation, with zeros
 * added up to `scale` decimals. So `19.9` in a DECIMAL(10,2) column reads `"19.90"`, and a stored
 * `19.999` reads as itself rather than as a `"20.00"` that no `WHERE` would find.
 */
export function scaledDecimalToWire(value: number, scale: number): string {
  if (!Number.isFinite(value)) return String(value);
  const text = plainNumber(value);
  const point = text.indexOf('.');
  const decimals = point === -1 ? 0 : text.length - point - 1;
  const missing = Math.min(Math.max(scale, 0), 100) - decimals;
  if (missing <= 0) return text;
  return `${text}${point === -1 ? '.' : ''}${'0'.repeat(missing)}`;
}

/** A finite number's shortest round-trip digits without an exponent: 1e21 → "1000000000000000000000", 1e-7 → "0.0000001". */
function plainNumber(value: number): string {
  const text = String(value);
  const exponent = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(text);
  if (exponent === null) return text;
  const [, sign = '', lead = '', rest = '', power = '0'] = exponent;
  const digits = lead + rest;
  const shift = Number(power);
  if (shift < 0) return `${sign}0.${'0'.repeat(-shift - 1)}${digits}`;
  const whole = shift + 1;
  if (digits.length <= whole) return `${sign}${digits}${'0'.repeat(whole - digits.length)}`;
  return `${sign}${digits.slice(0, whole)}.${digits.slice(whole)}`;
}

/** Characters JSON.stringify writes escaped: the quote, the backslash, controls, and (when alone) surrogates. */
// eslint-disable-next-line no-control-regex -- the control characters are what JSON escapes
const JSON_ESCAPED = /["\\\u0000-\u001f\ud800-\udfff]/;

/** The length of a number's JSON: integers counted digit by digit, other numbers as JSON writes them. */
function numberJsonLength(value: number): number {
  if (!Number.isSafeInteger(value)) return Number.isFinite(value) ? String(value).length : 4;
  let length = value < 0 ? 2 : 1;
  for (let rest = Math.abs(value); rest >= 10; rest = Math.floor(rest / 10)) length++;
  return length;
}

/**
 * Characters the text rendering of a result writes wider than JSON does (mcp/rendering.ts): DEL and
 * the C1 controls, and the line and paragraph separators, as `\uXXXX` (6 characters, 1 in JSON),
 * and the column separator `|` as `\|`.
 */
const TEXT_WIDER = /[|\u007f-\u009f\u2028\u2029]/;
const TEXT_WIDER_ALL = /[|\u007f-\u009f\u2028\u2029]/g;

/** How many characters more than its JSON the text rendering writes of `value`. */
function textWidening(value: string): number {
  let extra = 0;
  for (const [special] of value.matchAll(TEXT_WIDER_ALL)) extra += special === '|' ? 1 : 5;
  return extra;
}

/**
 * The length of `JSON.stringify(row)`, without building the string, or of the row's text rendering
 * where that is longer: the collector weighs every row against the result's character budget, which
 * bounds both copies of a result a client receives (structured and as text), and a string per row was
 * most of what collecting cost. Text with anything JSON escapes, or the rendering writes wider (both
 * rare in data), is measured character by character.
 */
export function wireRowJsonLength(row: readonly WireValue[]): number {
  // The brackets, and a comma between values.
  let length = row.length === 0 ? 2 : row.length + 1;
  for (let i = 0; i < row.length; i++) {
    const value = row[i];
    if (typeof value === 'string') {
      length += JSON_ESCAPED.test(value) ? JSON.stringify(value).length : value.length + 2;
      if (TEXT_WIDER.test(value)) length += textWidening(value);
    } else if (typeof value === 'number') {
      length += numberJsonLength(value);
    } else if (typeof value === 'boolean') {
      length += value ? 4 : 5;
    } else {
      length += 4;
    }
  }
  return length;
}
