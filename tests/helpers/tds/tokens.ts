import trackingBuffer from 'tedious/lib/tracking-buffer/writable-tracking-buffer.js';
import { versions } from 'tedious/lib/tds-versions.js';

/**
 * Server tokens (MS-TDS 2.2.7), written with tedious's own WritableTrackingBuffer. tedious parses
 * these; it has no writers for them, being a client.
 */

// tedious's CommonJS modules replace module.exports with the class; their declarations say `export default`.
const WritableTrackingBuffer = trackingBuffer as unknown as typeof trackingBuffer.default;
type WritableTrackingBuffer = InstanceType<typeof WritableTrackingBuffer>;

const TOKEN = {
  RETURNSTATUS: 0x79,
  COLMETADATA: 0x81,
  ERROR: 0xaa,
  INFO: 0xab,
  LOGINACK: 0xad,
  ROW: 0xd1,
  ENVCHANGE: 0xe3,
  DONE: 0xfd,
  DONEPROC: 0xfe,
  DONEINPROC: 0xff
} as const;

/** DONE status bits (MS-TDS 2.2.7.6). */
export const DONE = { FINAL: 0x00, MORE: 0x01, ERROR: 0x02, INXACT: 0x04, COUNT: 0x10, ATTN: 0x20 } as const;

/** ENVCHANGE types (MS-TDS 2.2.7.9). */
export const ENV = {
  DATABASE: 1,
  PACKET_SIZE: 4,
  SQL_COLLATION: 7,
  BEGIN_TRAN: 8,
  COMMIT_TRAN: 9,
  ROLLBACK_TRAN: 10,
  RESET_CONNECTION: 18
} as const;

/** Latin1_General_CI_AS: LCID 0x0409, case-insensitive, accent-sensitive, sort id 52. */
export const LATIN1_GENERAL_CI_AS = Buffer.from([0x09, 0x04, 0xd0, 0x00, 0x34]);

function token(type: number, body: (b: WritableTrackingBuffer) => void, lengthPrefixed = true): Buffer {
  const content = new WritableTrackingBuffer(64, 'ucs2');
  body(content);
  const out = new WritableTrackingBuffer(content.data.length + 3, 'ucs2');
  out.writeUInt8(type);
  if (lengthPrefixed) out.writeUInt16LE(content.data.length);
  out.writeBuffer(content.data);
  return out.data;
}

export function loginAck(progName = 'sqlbridge TDS peer'): Buffer {
  return token(TOKEN.LOGINACK, b => {
    b.writeUInt8(1); // SQL_TSQL
    b.writeUInt32BE(versions['7_4'] ?? 0x74000004);
    b.writeBVarchar(progName);
    // Reported as SQL Server 16.0.1000.6 (2022 RTM).
    b.writeUInt8(16);
    b.writeUInt8(0);
    b.writeUInt16BE(1000);
  });
}

export function envChange(type: number, newValue: string, oldValue: string): Buffer {
  return token(TOKEN.ENVCHANGE, b => {
    b.writeUInt8(type);
    b.writeBVarchar(newValue);
    b.writeBVarchar(oldValue);
  });
}

export function envChangeBytes(type: number, newValue: Buffer, oldValue: Buffer): Buffer {
  return token(TOKEN.ENVCHANGE, b => {
    b.writeUInt8(type);
    b.writeUInt8(newValue.length);
    b.writeBuffer(newValue);
    b.writeUInt8(oldValue.length);
    b.writeBuffer(oldValue);
  });
}

function doneToken(type: number, status: number, rowCount: number): Buffer {
  return token(
    type,
    b => {
      b.writeUInt16LE(status);
      b.writeUInt16LE(0xc1); // current command: SELECT
      b.writeUInt64LE(rowCount);
    },
    false
  );
}

export const done = (status: number = DONE.FINAL, rowCount = 0): Buffer => doneToken(TOKEN.DONE, status, rowCount);
export const doneProc = (status: number = DONE.FINAL, rowCount = 0): Buffer =>
  doneToken(TOKEN.DONEPROC, status, rowCount);
export const doneInProc = (status: number = DONE.FINAL, rowCount = 0): Buffer =>
  doneToken(TOKEN.DONEINPROC, status, rowCount);

export function returnStatus(value: number): Buffer {
  return token(TOKEN.RETURNSTATUS, b => b.writeInt32LE(value), false);
}

export interface ServerMessage {
  number: number;
  message: string;
  /** Severity: 11–16 are errors the user can fix, 14 a login failure (Database Engine error severities). */
  severity?: number;
  state?: number;
}

function messageToken(type: number, m: ServerMessage): Buffer {
  return token(type, b => {
    b.writeInt32LE(m.number);
    b.writeUInt8(m.state ?? 1);
    b.writeUInt8(m.severity ?? 16);
    b.writeUsVarchar(m.message);
    b.writeBVarchar('tds-peer');
    b.writeBVarchar('');
    b.writeUInt32LE(1);
  });
}

export const error = (m: ServerMessage): Buffer => messageToken(TOKEN.ERROR, m);
export const info = (m: ServerMessage): Buffer => messageToken(TOKEN.INFO, { severity: 0, ...m });

export type ColumnType = 'int' | 'nvarchar';
export interface Column {
  name: string;
  type: ColumnType;
}

export function colMetadata(columns: readonly Column[]): Buffer {
  return token(
    TOKEN.COLMETADATA,
    b => {
      b.writeUInt16LE(columns.length);
      for (const column of columns) {
        b.writeUInt32LE(0); // user type
        b.writeUInt16LE(0x0001); // nullable
        if (column.type === 'int') {
          b.writeUInt8(0x26); // INTN
          b.writeUInt8(4);
        } else {
          b.writeUInt8(0xe7); // NVARCHAR
          b.writeUInt16LE(8000);
          b.writeBuffer(LATIN1_GENERAL_CI_AS);
        }
        b.writeBVarchar(column.name);
      }
    },
    false
  );
}

export function row(columns: readonly Column[], values: readonly (string | number | null)[]): Buffer {
  return token(
    TOKEN.ROW,
    b => {
      columns.forEach((column, i) => {
        const value = values[i] ?? null;
        if (column.type === 'int') {
          if (value === null) b.writeUInt8(0);
          else {
            b.writeUInt8(4);
            b.writeInt32LE(Number(value));
          }
        } else if (value === null) b.writeUInt16LE(0xffff);
        else b.writeUsVarbyte(String(value), 'ucs2');
      });
    },
    false
  );
}

/** COLMETADATA, the rows and the DONE that counts them: one result set. */
export function resultSet(
  columns: readonly Column[],
  rows: readonly (readonly (string | number | null)[])[]
): Buffer[] {
  return [colMetadata(columns), ...rows.map(values => row(columns, values)), done(DONE.COUNT, rows.length)];
}
