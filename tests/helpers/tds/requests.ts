/**
 * What the client sends, decoded (MS-TDS 2.2.6): LOGIN7, SQL batches, RPC requests and transaction
 * manager requests. tedious only writes these, so the reading is ours.
 */

export interface Login7 {
  /** TDS version the client asks for, e.g. 0x74000004 for 7.4. */
  tdsVersion: number;
  user: string;
  /** Decoded from LOGIN7's scrambled form. */
  password: string;
  appName: string;
  database: string;
  /** `ApplicationIntent=ReadOnly` (fReadOnlyIntent). */
  readOnlyIntent: boolean;
}

export function parseLogin7(payload: Buffer): Login7 {
  const text = (offsetAt: number): Buffer => {
    const offset = payload.readUInt16LE(offsetAt);
    const chars = payload.readUInt16LE(offsetAt + 2);
    return payload.subarray(offset, offset + chars * 2);
  };
  // Each password byte had its nibbles swapped and was XORed with 0xA5 (MS-TDS 2.2.6.4).
  const password = Buffer.from(text(44).map(byte => ((byte ^ 0xa5) >> 4) | (((byte ^ 0xa5) & 0x0f) << 4)));
  return {
    tdsVersion: payload.readUInt32LE(4),
    user: text(40).toString('ucs2'),
    password: password.toString('ucs2'),
    appName: text(48).toString('ucs2'),
    database: text(68).toString('ucs2'),
    readOnlyIntent: (payload.readUInt8(26) & 0x20) !== 0
  };
}

/** ALL_HEADERS (MS-TDS 2.2.5.3): the transaction descriptor a request runs under, as hex. */
function readAllHeaders(payload: Buffer): { transaction: string; rest: Buffer } {
  const total = payload.readUInt32LE(0);
  let transaction = '0000000000000000';
  for (let at = 4; at < total;) {
    const length = payload.readUInt32LE(at);
    if (payload.readUInt16LE(at + 4) === 2) transaction = payload.subarray(at + 6, at + 14).toString('hex');
    at += length;
  }
  return { transaction, rest: payload.subarray(total) };
}

export function parseSqlBatch(payload: Buffer): { transaction: string; sql: string } {
  const { transaction, rest } = readAllHeaders(payload);
  return { transaction, sql: rest.toString('ucs2') };
}

export interface RpcParameter {
  name: string;
  /** The TDS type the value was sent as, e.g. `nvarchar(4000)`, `int`. */
  type: string;
  value: string | number | boolean | null;
  output: boolean;
}

export interface RpcCall {
  transaction: string;
  /** The procedure's name, or its number for the well-known ones (10: sp_executesql). */
  procedure: string | number;
  parameters: RpcParameter[];
}

/** sp_executesql and the other procedures a client may call by number (MS-TDS 2.2.6.6). */
export const SP_EXECUTESQL = 10;

export function parseRpc(payload: Buffer): RpcCall {
  const { transaction, rest } = readAllHeaders(payload);
  const reader = new Reader(rest);
  const nameLength = reader.u16();
  const procedure = nameLength === 0xffff ? reader.u16() : reader.ucs2(nameLength * 2);
  reader.u16(); // option flags
  const parameters: RpcParameter[] = [];
  while (!reader.done()) {
    const name = reader.ucs2(reader.u8() * 2);
    const output = (reader.u8() & 0x01) !== 0;
    parameters.push({ name, output, ...readTypedValue(reader) });
  }
  return { transaction, procedure, parameters };
}

function readTypedValue(reader: Reader): { type: string; value: RpcParameter['value'] } {
  const type = reader.u8();
  switch (type) {
    case 0x26: {
      const size = reader.u8();
      const length = reader.u8();
      const names: Record<number, string> = { 1: 'tinyint', 2: 'smallint', 4: 'int', 8: 'bigint' };
      if (length === 0) return { type: names[size] ?? `intn(${size})`, value: null };
      const value = length === 8 ? Number(reader.bytes(8).readBigInt64LE()) : reader.bytes(length).readIntLE(0, length);
      return { type: names[size] ?? `intn(${size})`, value };
    }
    case 0x68: {
      reader.u8();
      const length = reader.u8();
      return { type: 'bit', value: length === 0 ? null : reader.u8() === 1 };
    }
    case 0x6d: {
      const size = reader.u8();
      const length = reader.u8();
      if (length === 0) return { type: 'float', value: null };
      const bytes = reader.bytes(length);
      return { type: size === 4 ? 'real' : 'float', value: length === 4 ? bytes.readFloatLE() : bytes.readDoubleLE() };
    }
    case 0xe7:
    case 0xa7:
    case 0xef:
    case 0xaf: {
      const unicode = type === 0xe7 || type === 0xef;
      const base = { 0xe7: 'nvarchar', 0xa7: 'varchar', 0xef: 'nchar', 0xaf: 'char' }[type];
      const maxLength = reader.u16();
      reader.bytes(5); // collation
      const bytes = maxLength === 0xffff ? reader.plp() : reader.usBytes();
      const declared = maxLength === 0xffff ? 'max' : String(unicode ? maxLength / 2 : maxLength);
      return {
        type: `${base}(${declared})`,
        value: bytes === null ? null : bytes.toString(unicode ? 'ucs2' : 'latin1')
      };
    }
    case 0xa5: {
      const maxLength = reader.u16();
      const bytes = maxLength === 0xffff ? reader.plp() : reader.usBytes();
      return { type: 'varbinary', value: bytes === null ? null : bytes.toString('hex') };
    }
    default:
      throw new Error(`the TDS peer cannot read parameters of type 0x${type.toString(16)}`);
  }
}

export type TransactionRequest =
  | { transaction: string; operation: 'begin'; isolationLevel: number }
  | { transaction: string; operation: 'commit' | 'rollback' };

/** TRANSACTION_MANAGER requests (MS-TDS 2.2.6.9): TM_BEGIN_XACT 5, TM_COMMIT_XACT 7, TM_ROLLBACK_XACT 8. */
export function parseTransactionManager(payload: Buffer): TransactionRequest {
  const { transaction, rest } = readAllHeaders(payload);
  const type = rest.readUInt16LE(0);
  if (type === 5) return { transaction, operation: 'begin', isolationLevel: rest.readUInt8(2) };
  if (type === 7) return { transaction, operation: 'commit' };
  if (type === 8) return { transaction, operation: 'rollback' };
  throw new Error(`the TDS peer does not handle transaction manager request ${type}`);
}

class Reader {
  private at = 0;
  private readonly buffer: Buffer;
  constructor(buffer: Buffer) {
    this.buffer = buffer;
  }
  done(): boolean {
    return this.at >= this.buffer.length;
  }
  u8(): number {
    return this.buffer.readUInt8(this.at++);
  }
  u16(): number {
    const value = this.buffer.readUInt16LE(this.at);
    this.at += 2;
    return value;
  }
  bytes(length: number): Buffer {
    const value = this.buffer.subarray(this.at, this.at + length);
    this.at += length;
    return value;
  }
  ucs2(byteLength: number): string {
    return this.bytes(byteLength).toString('ucs2');
  }
  /** USHORTLEN bytes, 0xFFFF meaning NULL. */
  usBytes(): Buffer | null {
    const length = this.u16();
    return length === 0xffff ? null : this.bytes(length);
  }
  /** Partially length-prefixed bytes (MS-TDS 2.2.5.2.3): a total length, then chunks up to a zero-length one. */
  plp(): Buffer | null {
    const total = this.bytes(8);
    if (total.equals(Buffer.alloc(8, 0xff))) return null;
    const chunks: Buffer[] = [];
    for (let length = this.buffer.readUInt32LE(this.at); ; length = this.buffer.readUInt32LE(this.at)) {
      this.at += 4;
      if (length === 0) break;
      chunks.push(this.bytes(length));
    }
    return Buffer.concat(chunks);
  }
}
