/** Reading values out of catalog rows, which arrive untyped from the drivers. */

export function textOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (value === null || value === undefined) return '';
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  return JSON.stringify(value);
}

export function nullableTextOf(value: unknown): string | null {
  return value === null || value === undefined ? null : textOf(value);
}
