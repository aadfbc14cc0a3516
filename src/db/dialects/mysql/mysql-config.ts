import { readFileSync } from 'node:fs';
import type { PoolOptions, TypeCastField, TypeCastNext } from 'mysql2';
import type { DatabaseConfig } from '../../../config/schema.ts';
import { bigintToWire } from '../../values.ts';
import { wkbToWkt } from '../../wkb.ts';

export type MysqlDatabaseConfig = Extract<DatabaseConfig, { engine: 'mysql' }>;

export interface MysqlTarget {
  host: string;
  port: number;
  database: string | undefined;
  user: string | undefined;
}

/**
 * mysql2 pool settings: exact decimals and big integers as strings, dates as the server's text,
 * JSON as text, BIT(1) and TINYINT(1) as booleans, spatial values as WKT, one statement per query.
 */
export function mysqlPoolOptions(db: MysqlDatabaseConfig): PoolOptions & { target: MysqlTarget } {
  const url = db.url === undefined ? undefined : new URL(db.url);
  const host = db.host ?? (url?.hostname === '' ? undefined : url?.hostname) ?? 'localhost';
  const port = db.port ?? (url?.port === undefined || url.port === '' ? 3306 : Number(url.port));
  const database =
    db.database ??
    (url === undefined || url.pathname.length <= 1 ? undefined : decodeURIComponent(url.pathname.slice(1)));
  const user = db.user ?? (url === undefined || url.username === '' ? undefined : decodeURIComponent(url.username));
  const password =
    db.password ?? (url === undefined || url.password === '' ? undefined : decodeURIComponent(url.password));
  return {
    host,
    port,
    database,
    user,
    password,
    ssl: tlsOptions(db),
    connectTimeout: db.connectTimeoutMs,
    connectionLimit: db.pool.max,
    maxIdle: db.pool.max,
    idleTimeout: db.pool.idleTimeoutMs,
    waitForConnections: true,
    multipleStatements: false,
    // Rows changed, not rows matched: `UPDATE t SET v = v` changes none (mysql2 asks for matched by default).
    flags: ['-FOUND_ROWS'],
    charset: 'utf8mb4',
    supportBigNumbers: true,
    bigNumberStrings: false,
    decimalNumbers: false,
    dateStrings: true,
    jsonStrings: true,
    typeCast,
    target: { host, port, database, user }
  };
}

function tlsOptions(db: MysqlDatabaseConfig): PoolOptions['ssl'] {
  switch (db.tls) {
    case 'disable':
      return undefined;
    case 'require':
      return { rejectUnauthorized: false };
    case 'verify-full':
      return { rejectUnauthorized: true, ...(db.caFile === undefined ? {} : { ca: readFileSync(db.caFile, 'utf8') }) };
  }
}

const ASCII_DIGITS = /^[0-9]+$/;

/**
 * The number a BIT(bits) value holds. A column's value comes as its bits, big-endian, in
 * ceil(bits / 8) bytes; but MariaDB sends the value of a BIT-typed expression (`MAX(b)`,
 * `COALESCE(b, …)`, `IF`, `CASE`, a scalar subquery, also through a view or a derived table it
 * merges) as decimal digits under the same type: `MAX` of a BIT(8) holding 129 arrives as the three
 * bytes "129". Digits are read as decimal when the bits cannot be: another length than the bits
 * take, a value wider than the column, or a BIT(1) that is neither 0 nor 1. Otherwise the bytes
 * would read either way (a BIT(8) of 53 is the byte "5"): a value that belongs to no table (an
 * expression, or a UNION) is taken for digits, one of a table, view or derived table for bits.
 */
function bitValue(bytes: Buffer, bits: number, table: string): bigint {
  const asBits = BigInt(`0x${bytes.toString('hex') || '0'}`);
  const text = bytes.toString('latin1');
  if (bytes.length === 0 || !ASCII_DIGITS.test(text)) return asBits;
  const impossibleAsBits = bytes.length !== Math.ceil(bits / 8) || asBits >= 1n << BigInt(bits);
  return impossibleAsBits || table === '' ? BigInt(text) : asBits;
}

function typeCast(field: TypeCastField, next: TypeCastNext): unknown {
  switch (field.type) {
    case 'BIT': {
      const bytes = field.buffer();
      if (bytes === null) return null;
      const value = bitValue(bytes, field.length, field.table);
      return field.length === 1 ? value === 1n : bigintToWire(value);
    }
    case 'TINY': {
      if (field.length !== 1) return next();
      const text = field.string();
      if (text === null) return null;
      return text === '0' ? false : text === '1' ? true : Number(text);
    }
    case 'GEOMETRY': {
      const bytes = field.buffer();
      // MySQL's internal format: a 4-byte SRID, then WKB.
      return bytes === null ? null : wkbToWkt(bytes.subarray(4));
    }
    default:
      return next();
  }
}
