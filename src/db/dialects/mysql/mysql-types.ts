import type { FieldPacket } from 'mysql2';

/**
 * Result column type names from the column definition packet (MySQL client/server protocol,
 * "Column Definition"): the type code, its length, decimals, and whether the character set is
 * binary (63), which tells VARBINARY from VARCHAR and BLOB from TEXT. The server sends ENUM and SET
 * columns with the code of a fixed string (0xfe) and says which they are in the column's flags.
 */

const BINARY_CHARSET = 63;
const UNSIGNED_FLAG = 32;
const ENUM_FLAG = 256;
const SET_FLAG = 2048;

const NAMES: Record<number, string> = {
  0x01: 'tinyint',
  0x02: 'smallint',
  0x03: 'int',
  0x04: 'float',
  0x05: 'double',
  0x07: 'timestamp',
  0x08: 'bigint',
  0x09: 'mediumint',
  0x0a: 'date',
  0x0b: 'time',
  0x0c: 'datetime',
  0x0d: 'year',
  0x10: 'bit',
  0xf2: 'vector',
  0xf5: 'json',
  0xf7: 'enum',
  0xf8: 'set',
  0xff: 'geometry'
};

export function mysqlTypeName(field: FieldPacket): string | null {
  const code = field.columnType ?? field.type;
  if (code === undefined) return null;
  const binary = field.characterSet === BINARY_CHARSET;
  const flags = typeof field.flags === 'number' ? field.flags : 0;
  const unsigned = (flags & UNSIGNED_FLAG) !== 0 ? ' unsigned' : '';
  const length = field.columnLength ?? 0;
  const decimals = field.decimals;
  switch (code) {
    case 0x00:
    case 0xf6: {
      const precision = length - (decimals > 0 ? 1 : 0) - (unsigned === '' ? 1 : 0);
      return `decimal(${precision},${decimals})${unsigned}`;
    }
    case 0x01:
      return length === 1 ? 'tinyint(1)' : `tinyint${unsigned}`;
    case 0x02:
    case 0x03:
    case 0x08:
    case 0x09:
      return `${NAMES[code] ?? 'int'}${unsigned}`;
    case 0x10:
      return `bit(${length})`;
    case 0x0f:
    case 0xfd:
      return binary ? 'varbinary' : 'varchar';
    case 0xfe:
      if ((flags & ENUM_FLAG) !== 0) return 'enum';
      if ((flags & SET_FLAG) !== 0) return 'set';
      return binary ? 'binary' : 'char';
    case 0xf9:
    case 0xfa:
    case 0xfb:
    case 0xfc:
      return binary ? 'blob' : 'text';
    default:
      return NAMES[code] ?? null;
  }
}
