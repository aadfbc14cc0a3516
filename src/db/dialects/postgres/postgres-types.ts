import type { CustomTypesConfig } from 'pg';
import { bigintToWire } from '../../values.ts';

/**
 * How PostgreSQL values arrive. pg parses a few types by default, some lossily (timestamps become
 * JavaScript Dates, dropping microseconds and zones). sqlbridge parses only what JSON holds exactly
 * and keeps PostgreSQL's own text for everything else: numeric, money, intervals, arrays, ranges,
 * JSON and every type an extension adds stay exactly as the server printed them.
 */

const OID = {
  bool: 16,
  bytea: 17,
  int8: 20,
  int2: 21,
  int4: 23,
  oid: 26,
  float4: 700,
  float8: 701,
  date: 1082,
  timestamp: 1114,
  timestamptz: 1184
} as const;

const parsers = new Map<number, (text: string) => unknown>([
  [OID.bool, text => text === 't'],
  [OID.int2, Number],
  [OID.int4, Number],
  [OID.oid, Number],
  [OID.int8, text => bigintToWire(BigInt(text))],
  [OID.float4, Number],
  [OID.float8, Number],
  [OID.bytea, text => Buffer.from(text.slice(2), 'hex')],
  [OID.timestamp, isoTimestamp],
  [OID.timestamptz, isoTimestamp]
]);

const identity = (text: string): string => text;

/** Type parsers for pg's text format (sqlbridge never asks for the binary format). */
export const postgresTypes: CustomTypesConfig = {
  getTypeParser: ((oid: number) => parsers.get(oid) ?? identity) as CustomTypesConfig['getTypeParser']
};

/**
 * `2024-12-31 23:59:59.123456+00` → `2024-12-31T23:59:59.123456+00:00`. The session runs in UTC, so
 * timestamptz arrives with a +00 offset; `infinity` and BC dates stay as PostgreSQL wrote them.
 */
export function isoTimestamp(text: string): string {
  const match = /^(\d{4,}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}(?:\.\d+)?)(?:([+-]\d{2})(?::?(\d{2}))?(?::?(\d{2}))?)?$/.exec(
    text
  );
  if (match === null) return text;
  const [, date, time, hours, minutes, seconds] = match;
  if (hours === undefined) return `${date ?? ''}T${time ?? ''}`;
  const offset = `${hours}:${minutes ?? '00'}${seconds === undefined ? '' : `:${seconds}`}`;
  return `${date ?? ''}T${time ?? ''}${offset}`;
}

/** Names of the built-in types, by OID (pg_type), for result column metadata. */
const TYPE_NAMES = new Map<number, string>([
  [16, 'boolean'],
  [17, 'bytea'],
  [18, 'char'],
  [19, 'name'],
  [20, 'bigint'],
  [21, 'smallint'],
  [23, 'integer'],
  [25, 'text'],
  [26, 'oid'],
  [114, 'json'],
  [142, 'xml'],
  [650, 'cidr'],
  [700, 'real'],
  [701, 'double precision'],
  [790, 'money'],
  [829, 'macaddr'],
  [869, 'inet'],
  [1042, 'character'],
  [1043, 'character varying'],
  [1082, 'date'],
  [1083, 'time'],
  [1114, 'timestamp'],
  [1184, 'timestamptz'],
  [1186, 'interval'],
  [1266, 'timetz'],
  [1560, 'bit'],
  [1562, 'bit varying'],
  [1700, 'numeric'],
  [2950, 'uuid'],
  [3802, 'jsonb'],
  [3904, 'int4range'],
  [3910, 'tstzrange'],
  [3912, 'daterange'],
  [1000, 'boolean[]'],
  [1005, 'smallint[]'],
  [1007, 'integer[]'],
  [1016, 'bigint[]'],
  [1009, 'text[]'],
  [1015, 'character varying[]'],
  [1231, 'numeric[]'],
  [1021, 'real[]'],
  [1022, 'double precision[]'],
  [2951, 'uuid[]']
]);

/** The SQL name of a result column's type, with its modifier (`numeric(12,2)`, `character varying(40)`). */
export function postgresTypeName(oid: number, modifier: number): string | null {
  const name = TYPE_NAMES.get(oid);
  if (name === undefined) return null;
  if (modifier < 0) return name;
  // The scale is the low 11 bits, signed (PostgreSQL 15 allows numeric(2,-3)).
  if (oid === 1700) return `numeric(${((modifier - 4) >> 16) & 0xffff},${(((modifier - 4) & 0x7ff) ^ 0x400) - 0x400})`;
  if (oid === 1042 || oid === 1043) return `${name}(${modifier - 4})`;
  if (oid === 1083 || oid === 1114 || oid === 1184 || oid === 1266) return `${name}(${modifier})`;
  return name;
}
