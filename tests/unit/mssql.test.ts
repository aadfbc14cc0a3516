import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { PassThrough } from 'node:stream';
import nsp from 'node-sql-parser';
import { describe, expect, it } from 'vitest';
import { MssqlAdapter } from '../../src/db/dialects/mssql/mssql-adapter.ts';
import { CATALOG_QUERIES } from '../../src/db/dialects/mssql/mssql-catalog.ts';
import {
  mssqlConnectionConfig,
  parseDataSource,
  resolveMssqlSettings,
  type MssqlDatabaseConfig
} from '../../src/db/dialects/mssql/mssql-config.ts';
import { translateMssqlError } from '../../src/db/dialects/mssql/mssql-errors.ts';
import { createExactReader, installExactValueParsing } from '../../src/db/dialects/mssql/mssql-exact-values.ts';
import { MssqlIntrospector, mssqlDeclaredType } from '../../src/db/dialects/mssql/mssql-introspector.ts';
import { spatialToWkt } from '../../src/db/dialects/mssql/mssql-spatial.ts';
import { createDialect } from '../../src/db/registry.ts';
import { ConfigError } from '../../src/errors/config-error.ts';
import { ConnectionError } from '../../src/errors/connection-error.ts';
import { createLogger } from '../../src/observability/logger.ts';

/**
 * SQL Server without a SQL Server: the configuration mapping, the catalog SQL (parsed as T-SQL), the
 * exact value reader (against bytes tedious's own encoders write) and error classification. The
 * dialect suite runs the rest against a real server when SQLBRIDGE_TEST_MSSQL_URL is set.
 */

const require = createRequire(import.meta.url);
const tediousLib = require.resolve('tedious').replace(/tedious\.js$/, '');
const helpers = require(`${tediousLib}token/helpers.js`) as Parameters<typeof createExactReader>[0];
const dataTypes = require(`${tediousLib}data-type.js`) as { typeByName: Record<string, TediousType> };

interface TediousType {
  generateParameterLength(parameter: object, options: object): Buffer;
  generateParameterData(parameter: object, options: object): Iterable<Buffer>;
}

/** The row bytes tedious itself writes for a value of a type (length prefix and data). */
function encoded(typeName: string, parameter: object): Buffer {
  const type = dataTypes.typeByName[typeName];
  if (type === undefined) throw new Error(`no tedious type ${typeName}`);
  const options = { useUTC: true };
  return Buffer.concat([
    type.generateParameterLength(parameter, options),
    ...type.generateParameterData(parameter, options)
  ]);
}

const read = createExactReader(helpers);
const value = (typeName: string, buf: Buffer, scale = 0): unknown =>
  read(buf, 0, { type: { name: typeName }, scale })?.value;

function base(settings: Partial<MssqlDatabaseConfig>): MssqlDatabaseConfig {
  return { engine: 'mssql', authentication: 'sql', pool: { max: 4, idleTimeoutMs: 60_000 }, ...settings };
}

function configError(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).message;
  }
  throw new Error('expected a ConfigError');
}

describe('SQL Server connection settings', () => {
  it('maps discrete settings to tedious options: TLS on, read-only intent, XACT_ABORT', () => {
    const settings = resolveMssqlSettings(
      base({ host: 'sql.example.com', port: 1433, database: 'Sales', user: 'reader', password: 'pw' }),
      'db'
    );
    const config = mssqlConnectionConfig({
      settings,
      readOnly: true,
      pool: { max: 4, idleTimeoutMs: 60_000 },
      requestTimeoutMs: 35_000
    });
    expect(config).toMatchObject({
      server: 'sql.example.com',
      port: 1433,
      database: 'Sales',
      authentication: { type: 'default', options: { userName: 'reader', password: 'pw' } },
      connectionTimeout: 15_000,
      requestTimeout: 35_000,
      pool: { max: 4, min: 0, idleTimeoutMillis: 60_000 },
      options: {
        encrypt: true,
        trustServerCertificate: false,
        readOnlyIntent: true,
        abortTransactionOnError: true,
        appName: 'sqlbridge',
        useUTC: true,
        // Long values are cut by the server one byte past the default limits.maxRowBytes (16 MiB).
        textsize: 16 * 1024 * 1024 + 1
      }
    });
    const writable = mssqlConnectionConfig({
      settings,
      readOnly: false,
      pool: { max: 1, idleTimeoutMs: 1000 },
      requestTimeoutMs: 1000,
      maxRowBytes: 65_536
    });
    expect(writable.options?.readOnlyIntent).toBe(false);
    expect(writable.options?.textsize).toBe(65_537);
  });

  it('reads an Azure SQL connection string, quoted password and TDS 8.0 strict encryption included', () => {
    const settings = resolveMssqlSettings(
      base({
        connectionString:
          'Server=tcp:sales.database.windows.net,1433;Initial Catalog=Sales;User ID=app;Password={p;w=d};Encrypt=Strict;TrustServerCertificate=False;Connection Timeout=30'
      }),
      'db'
    );
    expect(settings).toMatchObject({
      host: 'sales.database.windows.net',
      port: 1433,
      database: 'Sales',
      user: 'app',
      password: 'p;w=d',
      encrypt: 'strict',
      trustServerCertificate: false,
      connectTimeoutMs: 30_000
    });
    expect(
      mssqlConnectionConfig({ settings, readOnly: true, pool: { max: 1, idleTimeoutMs: 1000 }, requestTimeoutMs: 1000 })
        .options?.encrypt
    ).toBe('strict');
  });

  it('reads named instances and lets discrete settings override the connection string', () => {
    expect(parseDataSource('SQL01\\REPORTING')).toEqual({ host: 'SQL01', instanceName: 'REPORTING' });
    expect(parseDataSource('tcp:10.0.0.5,14330')).toEqual({ host: '10.0.0.5', port: 14330 });
    expect(parseDataSource('(local)')).toEqual({ host: 'localhost' });
    // With a port too, the port is used and the instance name ignored, as Microsoft's drivers do.
    expect(parseDataSource('127.0.0.1\\SQLEXPRESS,14330')).toEqual({ host: '127.0.0.1', port: 14330 });
    const settings = resolveMssqlSettings(
      base({
        connectionString: 'Server=SQL01\\REPORTING;Database=Old;User Id=u;Password=p',
        database: 'New',
        encrypt: 'optional'
      }),
      'db'
    );
    expect(settings).toMatchObject({
      host: 'SQL01',
      instanceName: 'REPORTING',
      port: undefined,
      database: 'New',
      encrypt: 'optional'
    });
    // A discrete port with an instance name: tedious is given the port, not the name (it would drop the port).
    const options = (settings: Partial<MssqlDatabaseConfig>) =>
      mssqlConnectionConfig({
        settings: resolveMssqlSettings(base({ host: 'h', ...settings }), 'db'),
        readOnly: true,
        pool: { max: 1, idleTimeoutMs: 1000 },
        requestTimeoutMs: 1000
      });
    const login = { user: 'u', password: 'p' };
    const both = options({ ...login, instanceName: 'SQLEXPRESS', port: 14330 });
    expect(both.port).toBe(14330);
    expect(both.options?.instanceName).toBeUndefined();
    expect(options({ ...login, instanceName: 'SQLEXPRESS' }).options?.instanceName).toBe('SQLEXPRESS');
  });

  it('maps every Entra ID method and NTLM to tedious authentication', () => {
    const resolve = (settings: Partial<MssqlDatabaseConfig>) =>
      mssqlConnectionConfig({
        settings: resolveMssqlSettings(base({ host: 'h', ...settings }), 'db'),
        readOnly: true,
        pool: { max: 1, idleTimeoutMs: 1000 },
        requestTimeoutMs: 1000,
        tokenCredential: (kind, clientId) => ({ kind, clientId })
      }).authentication;
    expect(
      resolve({
        connectionString: 'Authentication=Active Directory Service Principal;User ID=app-id;Password=secret',
        tenantId: 'tenant'
      })
    ).toEqual({
      type: 'azure-active-directory-service-principal-secret',
      options: { clientId: 'app-id', clientSecret: 'secret', tenantId: 'tenant' }
    });
    expect(resolve({ authentication: 'entra-managed-identity', clientId: 'uami' })).toEqual({
      type: 'token-credential',
      options: { credential: { kind: 'managed-identity', clientId: 'uami' } }
    });
    expect(resolve({ connectionString: 'Authentication=Active Directory Default' })).toEqual({
      type: 'token-credential',
      options: { credential: { kind: 'default', clientId: undefined } }
    });
    expect(resolve({ authentication: 'entra-access-token', accessToken: 'eyJ0' })).toEqual({
      type: 'azure-active-directory-access-token',
      options: { token: 'eyJ0' }
    });
    expect(resolve({ authentication: 'ntlm', domain: 'CORP', user: 'svc', password: 'pw' })).toEqual({
      type: 'ntlm',
      options: { userName: 'svc', password: 'pw', domain: 'CORP' }
    });
  });

  it('names the missing or unusable setting', () => {
    expect(
      configError(() => resolveMssqlSettings(base({ user: 'u', password: 'p' }), 'environments.prod.database'))
    ).toBe('invalid configuration: environments.prod.database.host: is required (or give Server= in connectionString)');
    expect(configError(() => resolveMssqlSettings(base({ host: 'h', user: 'u' }), 'environments.prod.database'))).toBe(
      'invalid configuration: environments.prod.database.password: is required for SQL Server authentication'
    );
    expect(
      configError(() =>
        resolveMssqlSettings(
          base({ host: 'h', authentication: 'entra-service-principal', clientId: 'c', clientSecret: 's' }),
          'e.db'
        )
      )
    ).toBe('invalid configuration: e.db.tenantId: is required for an Entra ID service principal');
    expect(
      configError(() => resolveMssqlSettings(base({ connectionString: 'Server=h;Integrated Security=SSPI' }), 'e.db'))
    ).toContain(
      'e.db.connectionString: Integrated Security (Windows authentication of the current user) is not available from Linux'
    );
    expect(
      configError(() =>
        resolveMssqlSettings(base({ connectionString: 'Server=h;Authentication=Active Directory Integrated' }), 'e.db')
      )
    ).toContain('e.db.connectionString: Authentication=Active Directory Integrated is not supported');
  });

  it('warns when the server certificate is not verified', () => {
    const lines: string[] = [];
    const stream = new PassThrough();
    stream.on('data', (chunk: Buffer) => lines.push(chunk.toString()));
    createDialect(
      {
        readOnly: true,

        database: base({ host: 'h', user: 'u', password: 'p', trustServerCertificate: true }),
        limits: {
          maxRows: 10,
          maxResultChars: 1000,
          maxSampleRows: 10,
          queryTimeoutMs: 1000,
          maxStatements: 1,
          binaryPreviewBytes: 8
        }
      },
      { environment: 'prod', dataDir: '/tmp', logger: createLogger('warn', stream) }
    );
    expect(lines.join('')).toContain('trustServerCertificate is on');
  });
});

describe('SQL Server catalog SQL', () => {
  const parser = new nsp.Parser();

  it.each(Object.entries(CATALOG_QUERIES))('%s parses as T-SQL', (_name, sql) => {
    expect(() => parser.astify(sql, { database: 'TransactSQL' })).not.toThrow();
  });

  it('samples with TOP, quoting the table with brackets', () => {
    const adapter = new MssqlAdapter();
    expect(adapter.sampleQuery({ schema: 'sales', name: 'Odd ]name' }, 10)).toEqual({
      sql: 'SELECT TOP (@p1) * FROM [sales].[Odd ]]name]',
      params: [10],
      readOnly: true
    });
    // node-sql-parser reads neither TOP (@variable) * nor ]] inside brackets; with a number and a plain name it is valid T-SQL.
    const { sql } = adapter.sampleQuery({ schema: 'sales', name: 'Order Lines' }, 10);
    expect(() => parser.astify(sql.replace('@p1', '10'), { database: 'TransactSQL' })).not.toThrow();
  });

  it('writes declared types as T-SQL does', () => {
    expect(mssqlDeclaredType('nvarchar', 100, 0, 0)).toBe('nvarchar(50)');
    expect(mssqlDeclaredType('varbinary', -1, 0, 0)).toBe('varbinary(max)');
    expect(mssqlDeclaredType('decimal', 9, 18, 2)).toBe('decimal(18,2)');
    expect(mssqlDeclaredType('datetime2', 8, 27, 7)).toBe('datetime2(7)');
    expect(mssqlDeclaredType('int', 4, 10, 0)).toBe('int');
  });
});

describe('SQL Server exact values from TDS bytes', () => {
  it('reads decimals tedious encodes, to the last digit', () => {
    expect(value('DecimalN', encoded('Decimal', { value: 12345.67, precision: 10, scale: 2 }), 2)).toBe('12345.67');
    expect(value('DecimalN', encoded('Decimal', { value: -0.05, precision: 5, scale: 2 }), 2)).toBe('-0.05');
    expect(value('NumericN', encoded('Decimal', { value: 42, precision: 5, scale: 0 }), 0)).toBe('42');
  });

  it('reads decimals beyond what a double holds (decimal(38,10))', () => {
    const magnitude = 12345678901234567890123456780123456789n;
    const buf = Buffer.alloc(18);
    buf[0] = 17; // length: sign + 16 bytes
    buf[1] = 1; // positive
    let rest = magnitude;
    for (let i = 2; i < 18; i++) {
      buf[i] = Number(rest & 0xffn);
      rest >>= 8n;
    }
    expect(value('DecimalN', buf, 10)).toBe('1234567890123456789012345678.0123456789');
    buf[1] = 0;
    expect(value('DecimalN', buf, 10)).toBe('-1234567890123456789012345678.0123456789');
  });

  it('reads money and smallmoney at their limits', () => {
    expect(value('Money', encoded('Money', { value: 1234.5678 }).subarray(1))).toBe('1234.5678');
    const max = Buffer.alloc(8);
    max.writeInt32LE(0x7fffffff, 0);
    max.writeUInt32LE(0xffffffff, 4);
    expect(value('Money', max)).toBe('922337203685477.5807');
    const min = Buffer.alloc(8);
    min.writeInt32LE(-0x80000000, 0);
    min.writeUInt32LE(0, 4);
    expect(value('Money', min)).toBe('-922337203685477.5808');
    expect(value('MoneyN', Buffer.concat([Buffer.from([8]), max]))).toBe('922337203685477.5807');
    const small = Buffer.alloc(5);
    small[0] = 4;
    small.writeInt32LE(2147483647, 1);
    expect(value('MoneyN', small)).toBe('214748.3647');
  });

  it('reads dates and times tedious encodes', () => {
    const date = new Date(Date.UTC(2024, 1, 29));
    expect(value('Date', encoded('Date', { value: date }))).toBe('2024-02-29');
    const moment = Object.assign(new Date(Date.UTC(2024, 11, 31, 23, 59, 59, 123)), { nanosecondDelta: 0.0004567 });
    expect(value('DateTime2', encoded('DateTime2', { value: moment, scale: 7 }), 7)).toBe(
      '2024-12-31T23:59:59.1234567'
    );
    expect(value('DateTime2', encoded('DateTime2', { value: moment, scale: 3 }), 3)).toBe('2024-12-31T23:59:59.123');
    expect(
      value(
        'Time',
        encoded('Time', {
          value: Object.assign(new Date(Date.UTC(1970, 0, 1, 12, 34, 56, 123)), { nanosecondDelta: 0.0004567 }),
          scale: 7
        }),
        7
      )
    ).toBe('12:34:56.1234567');
    expect(value('Time', encoded('Time', { value: new Date(Date.UTC(1970, 0, 1, 8, 0, 0)), scale: 0 }), 0)).toBe(
      '08:00:00'
    );
    expect(
      value('DateTime', encoded('DateTime', { value: new Date(Date.UTC(2024, 11, 31, 23, 59, 59, 997)) }).subarray(1))
    ).toBe('2024-12-31T23:59:59.997');
    expect(value('DateTimeN', encoded('DateTime', { value: new Date(Date.UTC(1900, 0, 1)) }))).toBe(
      '1900-01-01T00:00:00.000'
    );
    expect(
      value('SmallDateTime', encoded('SmallDateTime', { value: new Date(Date.UTC(2024, 11, 31, 23, 59)) }).subarray(1))
    ).toBe('2024-12-31T23:59:00');
  });

  it('keeps the offset of a datetimeoffset (tedious drops it)', () => {
    // 2024-12-31 21:59:59.1234567 UTC at +02:00: time (5 bytes), date (3 bytes), offset minutes (2 bytes).
    const buf = Buffer.alloc(11);
    buf[0] = 10;
    buf.writeUIntLE((21 * 3600 + 59 * 60 + 59) * 10_000_000 + 1_234_567, 1, 5);
    buf.writeUIntLE(739250, 6, 3); // days from 0001-01-01 to 2024-12-31
    buf.writeInt16LE(120, 9);
    expect(value('DateTimeOffset', buf, 7)).toBe('2024-12-31T23:59:59.1234567+02:00');
    buf.writeUIntLE(23 * 3600 * 10_000_000, 1, 5); // 23:00 UTC at -05:30 is 17:30 the same day
    buf.writeInt16LE(-330, 9);
    expect(value('DateTimeOffset', buf, 7)).toBe('2024-12-31T17:30:00.0000000-05:30');
    buf.writeUIntLE(30 * 60 * 10_000_000, 1, 5); // 00:30 UTC at +02:00 crosses midnight forward
    buf.writeInt16LE(120, 9);
    expect(value('DateTimeOffset', buf, 7)).toBe('2024-12-31T02:30:00.0000000+02:00');
  });

  it('reads NULL, waits for missing bytes, and leaves other types to tedious', () => {
    expect(value('DecimalN', Buffer.from([0]), 2)).toBeNull();
    expect(value('DateTime2', Buffer.from([0]), 7)).toBeNull();
    expect(() => read(Buffer.from([9, 1, 2]), 0, { type: { name: 'DecimalN' }, scale: 2 })).toThrow(
      helpers.NotEnoughDataError
    );
    expect(read(Buffer.from([4, 1, 0, 0, 0]), 0, { type: { name: 'IntN' } })).toBeUndefined();
  });

  it('is installed into the tedious that mssql uses', () => {
    expect(installExactValueParsing()).toBe(true);
    const fromMssql = createRequire(require.resolve('mssql'));
    const parser = fromMssql(`${tediousLib}value-parser.js`) as {
      readValue: (buf: Buffer, offset: number, metadata: object, options: object) => { value: unknown };
    };
    expect(parser.readValue.name).toBe('readValueExactly');
    const decimal = encoded('Decimal', { value: 19.99, precision: 10, scale: 2 });
    expect(parser.readValue(decimal, 0, { type: { name: 'DecimalN' }, precision: 10, scale: 2 }, {}).value).toBe(
      '19.99'
    );
    expect(parser.readValue(Buffer.from([4, 42, 0, 0, 0]), 0, { type: { name: 'IntN' } }, {}).value).toBe(42);
  });
});

describe('SQL Server value rendering', () => {
  const adapter = new MssqlAdapter();
  const options = { binaryPreviewBytes: 48 };

  it('renders bigint, fallback numbers and spatial values exactly', () => {
    expect(adapter.toWireValue('9223372036854775807', { name: 'b', type: 'bigint' }, options)).toBe(
      '9223372036854775807'
    );
    expect(adapter.toWireValue('42', { name: 'b', type: 'bigint' }, options)).toBe(42);
    expect(adapter.toWireValue(19.99, { name: 'm', type: 'money' }, options)).toBe('19.9900');
    expect(adapter.toWireValue(12.5, { name: 'd', type: 'decimal(10,2)' }, options)).toBe('12.50');
    expect(adapter.toWireValue('12.50', { name: 'd', type: 'decimal(10,2)' }, options)).toBe('12.50');
  });

  it('writes geography and geometry as WKT, longitude first for geography', () => {
    const { PARSERS } = createRequire(require.resolve('mssql'))('./lib/udt') as {
      PARSERS: Record<string, (b: Buffer) => unknown>;
    };
    const point = Buffer.alloc(22);
    point.writeInt32LE(4326, 0);
    point[4] = 1;
    point[5] = 0x0c; // valid, single point
    point.writeDoubleLE(47.65, 6); // latitude
    point.writeDoubleLE(-122.35, 14); // longitude
    expect(adapter.toWireValue(PARSERS['geography']?.(point), { name: 'g', type: 'geography' }, options)).toBe(
      'POINT (-122.35 47.65)'
    );
    const int32 = (v: number) => Buffer.from(new Int32Array([v]).buffer);
    const f64 = (v: number) => Buffer.from(new Float64Array([v]).buffer);
    const line = Buffer.concat([
      int32(0),
      Buffer.from([1, 0x04]),
      int32(3),
      f64(1),
      f64(2),
      f64(3),
      f64(4),
      f64(5),
      f64(6),
      int32(1),
      Buffer.from([1]),
      int32(0),
      int32(1),
      int32(-1),
      int32(0),
      Buffer.from([2])
    ]);
    expect(adapter.toWireValue(PARSERS['geometry']?.(line), { name: 'g', type: 'geometry' }, options)).toBe(
      'LINESTRING (1 2, 3 4, 5 6)'
    );
    expect(
      spatialToWkt(
        {
          srid: 0,
          points: [0, 1, 2, 3].map(i => ({ x: i, y: i, z: null })),
          figures: [{ pointOffset: 0 }, { pointOffset: 2 }],
          shapes: [
            { parentOffset: -1, figureOffset: 0, type: 4 },
            { parentOffset: 0, figureOffset: 0, type: 1 },
            { parentOffset: 0, figureOffset: 1, type: 1 }
          ]
        },
        false
      )
    ).toBe('MULTIPOINT ((0 0, 1 1), (2 2, 3 3))');
  });
});

describe('SQL Server error classification', () => {
  const settings = resolveMssqlSettings(
    base({ host: 'sql.internal', port: 1433, database: 'Sales', user: 'u', password: 'secret-pw' }),
    'db'
  );
  const classify = (error: object) => translateMssqlError(Object.assign(new Error(''), error), settings);

  it.each([
    [{ code: 'ELOGIN', message: "Login failed for user 'u'." }, 'authentication'],
    [
      { code: 'ELOGIN', message: 'Cannot open database "Sales" requested by the login. The login failed.' },
      'database_not_found'
    ],
    [
      { code: 'ESOCKET', message: 'Failed to connect to sql.internal:1433 - connect ECONNREFUSED 10.0.0.5:1433' },
      'unreachable'
    ],
    [{ code: 'ESOCKET', message: 'Failed to connect to sql.internal:1433 - self-signed certificate' }, 'tls'],
    [{ code: 'ESOCKET', message: 'The server does not support encryption' }, 'tls'],
    [{ code: 'ETIMEOUT', message: 'Failed to connect to sql.internal:1433 in 15000ms' }, 'timeout'],
    [{ code: 'EINSTLOOKUP', message: 'Failed to get response from SQL Server Browser on sql.internal' }, 'unreachable']
  ])('classifies %j', (error, problem) => {
    const translated = classify(error);
    if (!(translated instanceof ConnectionError))
      throw new Error(`expected a ConnectionError, got ${translated.message}`);
    expect(translated.problem).toBe(problem);
    expect(translated.message).not.toMatch(/sql\.internal|10\.0\.0\.5|secret/);
    expect(translated.detail).toContain('sql.internal:1433/Sales');
  });

  it('passes the database’s own message for the caller’s SQL', () => {
    const translated = classify({ code: 'EREQUEST', number: 208, message: "Invalid object name 'dbo.nope'." });
    expect(translated).toMatchObject({
      code: 'query_failed',
      message: "Invalid object name 'dbo.nope'.",
      expose: true
    });
    expect(
      classify({
        code: 'EREQUEST',
        number: 3906,
        message: 'Failed to update database "Sales" because the database is read-only.'
      }).message
    ).toContain('this environment is read-only');
  });
});

describe('SQL Server TLS server name', () => {
  const tediousOptions = (settings: Partial<MssqlDatabaseConfig>) =>
    mssqlConnectionConfig({
      settings: resolveMssqlSettings(base({ user: 'u', password: 'p', ...settings }), 'db'),
      readOnly: true,
      pool: { max: 1, idleTimeoutMs: 1000 },
      requestTimeoutMs: 1000
    });
  /** The name tedious gives TLS after PRELOGIN (its connection.js: `options.serverName || server`). */
  const sentName = (settings: Partial<MssqlDatabaseConfig>): string => {
    const config = tediousOptions(settings);
    return config.options?.serverName ?? config.server;
  };

  it('leaves a host name to tedious, so the certificate is checked against it', () => {
    expect(tediousOptions({ host: 'db.example.com' }).options?.serverName).toBeUndefined();
    expect(
      tediousOptions({ host: 'db.example.com', trustServerCertificate: true }).options?.serverName
    ).toBeUndefined();
    expect(sentName({ host: 'db.example.com' })).toBe('db.example.com');
  });

  it('keeps an IP address where the certificate is checked against it, and where TDS 8 sends no name', () => {
    expect(tediousOptions({ host: '10.0.0.5' }).options?.serverName).toBeUndefined();
    expect(
      tediousOptions({ host: '10.0.0.5', encrypt: 'strict', trustServerCertificate: true }).options?.serverName
    ).toBeUndefined();
  });

  it.each([
    ['10.0.0.5', '5.0.0.10.in-addr.arpa'],
    ['2001:db8::1', `1.0.0.0.${'0.'.repeat(20)}8.b.d.0.1.0.0.2.ip6.arpa`],
    ['::ffff:10.0.0.5', `5.0.0.0.0.0.a.0.f.f.f.f.${'0.'.repeat(20)}ip6.arpa`]
  ])('sends no IP address (%s) as the TLS name when the certificate is not checked: %s', (host, name) => {
    expect(sentName({ host, trustServerCertificate: true })).toBe(name);
  });

  it('checks the certificate against HostNameInCertificate when the connection string gives one', () => {
    const connectionString = 'Server=10.0.0.5;HostNameInCertificate=db.example.com;Encrypt=true';
    expect(tediousOptions({ connectionString }).options?.serverName).toBe('db.example.com');
  });

  it('gives Node a TLS name it accepts without the DEP0123 warning (checked in a fresh Node process)', () => {
    const names = [sentName({ host: '10.0.0.5', trustServerCertificate: true }), '10.0.0.5'];
    const script = `
      const tls = require('node:tls');
      const { Duplex } = require('node:stream');
      const socket = new Duplex({ read() {}, write(_c, _e, done) { done(); } });
      tls.connect({ socket, servername: process.argv[1], rejectUnauthorized: false }).on('error', () => {}).destroy();`;
    const warnings = names.map(name =>
      spawnSync(process.execPath, ['-e', script, name], { encoding: 'utf8', timeout: 10_000 }).stderr.includes(
        'DEP0123'
      )
    );
    // The address itself makes Node warn: the check would catch a regression.
    expect(warnings).toEqual([false, true]);
  });
});

describe('SQL Server engines that differ (Babelfish for PostgreSQL)', () => {
  it('keeps datetime2(7) to the digits the engine sends, a trailing zero included', () => {
    // 2024-12-31 23:59:59.1234570, as an engine that keeps microseconds sends it: 5 bytes of 10^-7 s, 3 of days.
    const units = 86_399n * 10_000_000n + 1_234_570n;
    const time = Buffer.alloc(5);
    time.writeUIntLE(Number(units), 0, 5);
    const day = Buffer.alloc(3);
    day.writeUIntLE(719_162 + 20_088, 0, 3);
    const row = Buffer.concat([Buffer.from([8]), time, day]);
    expect(value('DateTime2', row, 7)).toBe('2024-12-31T23:59:59.1234570');
  });

  it('describes a table from catalog rows in any case, with the primary key from sys.indexes', async () => {
    const { COLUMNS, FOREIGN_KEYS, INDEXES, OBJECT_ID, PRIMARY_KEY } = CATALOG_QUERIES;
    expect(PRIMARY_KEY.replace(/\s+/g, ' ')).toMatch(
      /FROM sys\.indexes AS i .* WHERE i\.object_id = @p1 AND i\.is_primary_key = 1/
    );
    // Rows as the runtime's catalog reader gives them, from an engine whose catalog is in lower case.
    const answers = new Map<string, Record<string, unknown>[]>([
      [OBJECT_ID, [{ object_id: 7 }]],
      [
        COLUMNS,
        [
          {
            column_name: 'order_id',
            type_name: 'INT',
            max_length: 4,
            numeric_precision: 10,
            numeric_scale: 0,
            is_nullable: false,
            default_definition: null
          },
          {
            column_name: 'sku',
            type_name: 'VarChar',
            max_length: 20,
            numeric_precision: 0,
            numeric_scale: 0,
            is_nullable: false,
            default_definition: null
          }
        ]
      ],
      [
        PRIMARY_KEY,
        [
          { constraint_name: 'order_lines_key', column_name: 'order_id' },
          { constraint_name: 'order_lines_key', column_name: 'sku' }
        ]
      ],
      [
        FOREIGN_KEYS,
        [
          {
            constraint_name: 'fk',
            column_name: 'order_id',
            referenced_schema: 'dbo',
            referenced_table: 'orders',
            referenced_column: 'id',
            on_update: 'no_action',
            on_delete: 'cascade'
          }
        ]
      ],
      [INDEXES, []]
    ]);
    const catalog = (sql: string): Promise<Record<string, unknown>[]> => Promise.resolve(answers.get(sql) ?? []);
    const table = await new MssqlIntrospector(catalog).describeTable({
      schema: 'dbo',
      name: 'order_lines',
      type: 'table',
      rowEstimate: null
    });
    expect(table.primaryKey).toEqual({ name: 'order_lines_key', columns: ['order_id', 'sku'] });
    expect(table.columns.map(c => [c.name, c.dataType, c.maxLength])).toEqual([
      ['order_id', 'int', null],
      ['sku', 'varchar(20)', 20]
    ]);
    expect(table.foreignKeys[0]).toMatchObject({ onUpdate: 'NO ACTION', onDelete: 'CASCADE' });
  });
});
