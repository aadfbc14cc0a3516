import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * Exact SQL Server values. tedious turns decimal, numeric and money into JavaScript numbers (losing
 * digits beyond about 15), datetime2 and time into Dates (losing the digits below a millisecond) and
 * datetimeoffset into a Date without its offset. sqlbridge reads those values from the TDS row bytes
 * itself, as strings, following MS-TDS 2.2.5.5 ("Data Type Definitions"), and leaves every other type
 * to tedious. It does so by wrapping tedious's value reader, which its row parsers call through the
 * module's exports; `installExactValueParsing` says whether the wrapper is in place.
 */

interface TediousResult {
  value: unknown;
  offset: number;
}

interface ColumnMetadata {
  type: { name: string };
  scale?: number;
}

type ReadValue = (buf: Buffer, offset: number, metadata: ColumnMetadata, options: unknown) => TediousResult;

interface ValueParserModule {
  readValue: ReadValue;
}

interface HelpersModule {
  Result: new (value: unknown, offset: number) => TediousResult;
  NotEnoughDataError: new (byteCount: number) => Error;
}

const DAYS_0001_TO_1970 = 719_162;
const DAYS_1900_TO_1970 = 25_567;
const MINUTES_PER_DAY = 1440;

let installed = false;

/** Wraps tedious's value reader once; returns false if tedious no longer has the expected shape. */
export function installExactValueParsing(): boolean {
  if (installed) return true;
  const modules = loadTediousModules();
  if (modules === undefined) return false;
  const { valueParser, helpers } = modules;
  const original = valueParser.readValue;
  const exact = createExactReader(helpers);
  valueParser.readValue = function readValueExactly(buf, offset, metadata, options) {
    return exact(buf, offset, metadata) ?? original(buf, offset, metadata, options);
  };
  installed = true;
  return true;
}

/** tedious as mssql loads it (the same module instances), found next to its entry point. */
function loadTediousModules(): { valueParser: ValueParserModule; helpers: HelpersModule } | undefined {
  try {
    const fromMssql = createRequire(createRequire(import.meta.url).resolve('mssql'));
    const lib = dirname(fromMssql.resolve('tedious'));
    const valueParser = fromMssql(join(lib, 'value-parser.js')) as Partial<ValueParserModule>;
    const helpers = fromMssql(join(lib, 'token', 'helpers.js')) as Partial<HelpersModule>;
    if (
      typeof valueParser.readValue !== 'function' ||
      typeof helpers.Result !== 'function' ||
      typeof helpers.NotEnoughDataError !== 'function'
    ) {
      return undefined;
    }
    return { valueParser: valueParser as ValueParserModule, helpers: helpers as HelpersModule };
  } catch {
    return undefined;
  }
}

/**
 * A reader for the types it handles (undefined for the rest). It throws tedious's NotEnoughDataError
 * when the row is not all in the buffer yet, as tedious's own readers do, so the parser waits for more.
 */
export function createExactReader(helpers: HelpersModule) {
  const need = (buf: Buffer, end: number): void => {
    if (buf.length < end) throw new helpers.NotEnoughDataError(end);
  };
  const result = (value: unknown, offset: number): TediousResult => new helpers.Result(value, offset);
  /** A value preceded by its length byte; a length of 0 is NULL. */
  const sized = (buf: Buffer, offset: number, read: (start: number, length: number) => unknown): TediousResult => {
    need(buf, offset + 1);
    const length = buf.readUInt8(offset);
    if (length === 0) return result(null, offset + 1);
    need(buf, offset + 1 + length);
    return result(read(offset + 1, length), offset + 1 + length);
  };

  return function readExact(buf: Buffer, offset: number, metadata: ColumnMetadata): TediousResult | undefined {
    const scale = metadata.scale ?? 0;
    switch (metadata.type.name) {
      case 'DecimalN':
      case 'NumericN':
        return sized(buf, offset, (start, length) => decimalText(buf, start, length, scale));
      case 'Money':
        need(buf, offset + 8);
        return result(moneyText(buf, offset, 8), offset + 8);
      case 'SmallMoney':
        need(buf, offset + 4);
        return result(moneyText(buf, offset, 4), offset + 4);
      case 'MoneyN':
        return sized(buf, offset, (start, length) => moneyText(buf, start, length));
      case 'Date':
        return sized(buf, offset, start => dayText(buf.readUIntLE(start, 3) - DAYS_0001_TO_1970));
      case 'Time':
        return sized(buf, offset, (start, length) => timeText(buf.readUIntLE(start, length), scale));
      case 'DateTime2':
        return sized(buf, offset, (start, length) => {
          const timeLength = length - 3;
          const day = buf.readUIntLE(start + timeLength, 3) - DAYS_0001_TO_1970;
          return `${dayText(day)}T${timeText(buf.readUIntLE(start, timeLength), scale)}`;
        });
      case 'DateTimeOffset':
        return sized(buf, offset, (start, length) => dateTimeOffsetText(buf, start, length, scale));
      case 'DateTime':
        need(buf, offset + 8);
        return result(dateTimeText(buf, offset), offset + 8);
      case 'SmallDateTime':
        need(buf, offset + 4);
        return result(smallDateTimeText(buf, offset), offset + 4);
      case 'DateTimeN':
        return sized(buf, offset, (start, length) =>
          length === 8 ? dateTimeText(buf, start) : smallDateTimeText(buf, start)
        );
      default:
        return undefined;
    }
  };
}

/** DECIMALN: a sign byte (1 = positive) and the unscaled magnitude, little-endian. */
export function decimalText(buf: Buffer, start: number, length: number, scale: number): string {
  const positive = buf.readUInt8(start) === 1;
  let magnitude = 0n;
  for (let i = start + length - 1; i > start; i--) magnitude = (magnitude << 8n) | BigInt(buf.readUInt8(i));
  return scaled(positive ? magnitude : -magnitude, scale);
}

/** MONEY: a signed 64-bit count of ten-thousandths, high 32 bits first; SMALLMONEY: signed 32-bit. */
export function moneyText(buf: Buffer, start: number, length: number): string {
  const units =
    length === 4
      ? BigInt(buf.readInt32LE(start))
      : (BigInt(buf.readInt32LE(start)) << 32n) | BigInt(buf.readUInt32LE(start + 4));
  return scaled(units, 4);
}

function scaled(units: bigint, scale: number): string {
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(scale + 1, '0');
  const text = scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  return negative ? `-${text}` : text;
}

/** `YYYY-MM-DD` of a day counted from 1970-01-01 (years 0001–9999). */
function dayText(unixDay: number): string {
  return new Date(unixDay * 86_400_000).toISOString().slice(0, 10);
}

/** `HH:MM:SS[.fffffff]` of a count of 10^-scale seconds since midnight. */
function timeText(units: number, scale: number): string {
  const perSecond = 10 ** scale;
  const seconds = Math.floor(units / perSecond);
  const fraction = scale === 0 ? '' : `.${String(units % perSecond).padStart(scale, '0')}`;
  const hh = String(Math.floor(seconds / 3600)).padStart(2, '0');
  const mm = String(Math.floor((seconds % 3600) / 60)).padStart(2, '0');
  const ss = String(seconds % 60).padStart(2, '0');
  return `${hh}:${mm}:${ss}${fraction}`;
}

/** DATETIMEOFFSET: UTC time and date, then the offset in minutes; printed in its own offset. */
function dateTimeOffsetText(buf: Buffer, start: number, length: number, scale: number): string {
  const timeLength = length - 5;
  const utcUnits = BigInt(buf.readUIntLE(start, timeLength));
  const utcDay = BigInt(buf.readUIntLE(start + timeLength, 3) - DAYS_0001_TO_1970);
  const offsetMinutes = buf.readInt16LE(start + timeLength + 3);
  const perMinute = 60n * 10n ** BigInt(scale);
  const perDay = BigInt(MINUTES_PER_DAY) * perMinute;
  const local = utcDay * perDay + utcUnits + BigInt(offsetMinutes) * perMinute;
  const day = local >= 0n ? local / perDay : (local - perDay + 1n) / perDay;
  const units = local - day * perDay;
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  const zone = `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
  return `${dayText(Number(day))}T${timeText(Number(units), scale)}${zone}`;
}

/** DATETIME: signed days since 1900-01-01 and 1/300-second ticks, shown to the millisecond as SQL Server does. */
function dateTimeText(buf: Buffer, start: number): string {
  const days = buf.readInt32LE(start);
  const ticks = buf.readUInt32LE(start + 4);
  const milliseconds = Math.round((ticks * 10) / 3);
  return `${dayText(days - DAYS_1900_TO_1970)}T${timeText(milliseconds, 3)}`;
}

/** SMALLDATETIME: unsigned days since 1900-01-01 and minutes since midnight. */
function smallDateTimeText(buf: Buffer, start: number): string {
  const days = buf.readUInt16LE(start);
  const minutes = buf.readUInt16LE(start + 2);
  return `${dayText(days - DAYS_1900_TO_1970)}T${timeText(minutes * 60, 0)}`;
}
