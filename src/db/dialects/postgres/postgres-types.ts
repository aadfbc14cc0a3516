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

/**
 * Names of the built-in types an analyst's query returns, by OID (pg_type, stable across releases),
 * for result column metadata: the name `format_type` gives, except the four short names of the time
 * types. Types a database defines (enums, domains, composite types, an extension's) have OIDs of
 * their own and no name here.
 */
const TYPE_NAMES = new Map<number, string>([
  [16, 'boolean'],
  [17, 'bytea'],
  [18, '"char"'],
  [19, 'name'],
  [20, 'bigint'],
  [21, 'smallint'],
  [23, 'integer'],
  [25, 'text'],
  [26, 'oid'],
  [114, 'json'],
  [142, 'xml'],
  [600, 'point'],
  [601, 'lseg'],
  [602, 'path'],
  [603, 'box'],
  [604, 'polygon'],
  [628, 'line'],
  [650, 'cidr'],
  [700, 'real'],
  [701, 'double precision'],
  [718, 'circle'],
  [774, 'macaddr8'],
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
  [3220, 'pg_lsn'],
  [3614, 'tsvector'],
  [3615, 'tsquery'],
  [3802, 'jsonb'],
  [4072, 'jsonpath'],
  [3904, 'int4range'],
  [3906, 'numrange'],
  [3908, 'tsrange'],
  [3910, 'tstzrange'],
  [3912, 'daterange'],
  [3926, 'int8range'],
  [4451, 'int4multirange'],
  [4532, 'nummultirange'],
  [4533, 'tsmultirange'],
  [4534, 'tstzmultirange'],
  [4535, 'datemultirange'],
  [4536, 'int8multirange']
]);

/** The array types of those, by OID: each array's element type. */
const ARRAY_ELEMENTS = new Map<number, number>([
  [1000, 16],
  [1001, 17],
  [1002, 18],
  [1003, 19],
  [1016, 20],
  [1005, 21],
  [1007, 23],
  [1009, 25],
  [1028, 26],
  [199, 114],
  [143, 142],
  [1017, 600],
  [1018, 601],
  [1019, 602],
  [1020, 603],
  [1027, 604],
  [629, 628],
  [651, 650],
  [1021, 700],
  [1022, 701],
  [719, 718],
  [775, 774],
  [791, 790],
  [1040, 829],
  [1041, 869],
  [1014, 1042],
  [1015, 1043],
  [1182, 1082],
  [1183, 1083],
  [1115, 1114],
  [1185, 1184],
  [1187, 1186],
  [1270, 1266],
  [1561, 1560],
  [1563, 1562],
  [1231, 1700],
  [2951, 2950],
  [3221, 3220],
  [3643, 3614],
  [3645, 3615],
  [3807, 3802],
  [4073, 4072],
  [3905, 3904],
  [3907, 3906],
  [3909, 3908],
  [3911, 3910],
  [3913, 3912],
  [3927, 3926],
  [6150, 4451],
  [6151, 4532],
  [6152, 4533],
  [6153, 4534],
  [6155, 4535],
  [6157, 4536]
]);

/**
 * The SQL name of a result column's type, with its modifier (`numeric(12,2)`, `character varying(40)`,
 * `timestamptz(3)[]`: an array's modifier is its element's).
 */
export function postgresTypeName(oid: number, modifier: number): string | null {
  const element = ARRAY_ELEMENTS.get(oid);
  if (element !== undefined) {
    const name = postgresTypeName(element, modifier);
    return name === null ? null : `${name}[]`;
  }
  const name = TYPE_NAMES.get(oid);
  if (name === undefined) return null;
  if (modifier < 0) return name;
  // The scale is the low 11 bits, signed (PostgreSQL 15 allows numeric(2,-3)).
  if (oid === 1700) return `numeric(${((modifier - 4) >> 16) & 0xffff},${(((modifier - 4) & 0x7ff) ^ 0x400) - 0x400})`;
  if (oid === 1042 || oid === 1043) return `${name}(${modifier - 4})`;
  if (oid === 1186) return intervalName(modifier);
  if (oid === 1083 || oid === 1114 || oid === 1184 || oid === 1266 || oid === 1560 || oid === 1562)
    return `${name}(${modifier})`;
  return name;
}

/** The fields an interval's modifier may restrict it to (its high 15 bits), as PostgreSQL writes them. */
const INTERVAL_FIELDS = new Map<number, string>([
  [0x0004, ' year'],
  [0x0002, ' month'],
  [0x0008, ' day'],
  [0x0400, ' hour'],
  [0x0800, ' minute'],
  [0x1000, ' second'],
  [0x0006, ' year to month'],
  [0x0408, ' day to hour'],
  [0x0c08, ' day to minute'],
  [0x1c08, ' day to second'],
  [0x0c00, ' hour to minute'],
  [0x1c00, ' hour to second'],
  [0x1800, ' minute to second']
]);

/** `interval`, `interval(3)`, `interval day to second(2)`: fields in the high bits, precision in the low 16. */
function intervalName(modifier: number): string {
  const fields = INTERVAL_FIELDS.get((modifier >> 16) & 0x7fff) ?? '';
  const precision = modifier & 0xffff;
  return `interval${fields}${precision === 0xffff ? '' : `(${precision})`}`;
}
