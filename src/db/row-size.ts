import { SqlbridgeError } from '../errors/sqlbridge-error.ts';

/**
 * The most one row of a result may take as the database sends it (`limits.maxRowBytes`). The drivers
 * read a row whole before handing it on, and a row beyond V8's longest string (about 512 MiB) would
 * make a driver throw where nothing can catch it; well below that, a few such rows at once would
 * take the server's memory. A row this large could not be shown anyway, past the character budget,
 * save for binary values, which are shortened (binaryPreviewBytes).
 */
export const DEFAULT_MAX_ROW_BYTES = 16 * 1024 * 1024;

const MIB = 1024 * 1024;

/** Roughly what a row weighs where a driver hands over values, not bytes: text by its length, binary by its size, 8 for the rest. */
export function rowWeight(row: readonly unknown[]): number {
  let bytes = 0;
  for (const value of row) {
    if (typeof value === 'string') bytes += value.length;
    else if (value instanceof Uint8Array) bytes += value.byteLength;
    else bytes += 8;
  }
  return bytes;
}

function mebibytes(bytes: number): string {
  return `${(bytes / MIB).toFixed(bytes % MIB === 0 ? 0 : 1)} MiB`;
}

function kibibytes(bytes: number): string {
  return `${Math.floor(bytes / 1024).toLocaleString('en-US')} KiB`;
}

/**
 * What a call answers when the database sends a row (or any one message) larger than `limit` bytes:
 * `bytes` is its size where known, or how much of it was seen (`atLeast`).
 */
export function rowTooLarge(limit: number, bytes: number, atLeast = false): SqlbridgeError {
  return new SqlbridgeError(
    'row_too_large',
    `a row of the result takes ${atLeast ? 'at least ' : ''}${mebibytes(bytes)}, more than the ${mebibytes(limit)} one row may take (limits.maxRowBytes); the statement was stopped`,
    {
      expose: true,
      hint: 'select fewer or narrower columns, or shorten long values in the query (left(), substring(), length())'
    }
  );
}

/**
 * What a call answers when the engine refused to make a value longer than `limit` bytes (SQLite's length
 * limit, which the worker sets to limits.maxRowBytes), in the result or on the way to it; `share`, when
 * smaller, is what a value of a wide result may take (sqlite-worker.ts, limitValues).
 */
export function valueTooLong(limit: number, cause: unknown, share = limit): SqlbridgeError {
  const longest =
    share < limit
      ? `the ${kibibytes(share)} each value of a result this wide may take (its share of the ${mebibytes(limit)} one row may take, limits.maxRowBytes)`
      : `the ${mebibytes(limit)} one row may take (limits.maxRowBytes)`;
  return new SqlbridgeError(
    'row_too_large',
    `a value the statement reads or computes is longer than ${longest}; SQLite stopped the statement`,
    {
      expose: true,
      hint: 'select fewer or narrower columns, or shorten long values in the query (substr(), length())',
      cause
    }
  );
}
