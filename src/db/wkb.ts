/**
 * Well-Known Binary to Well-Known Text (OGC Simple Features, ISO 13249-3), for spatial values that
 * drivers hand over as bytes: MySQL's geometry (WKB after a 4-byte SRID). Points, line strings,
 * polygons, their multi forms and collections, in 2D (Z and M ordinates are read and printed).
 */

interface Reader {
  buffer: Buffer;
  offset: number;
}

const NAMES = [
  '',
  'POINT',
  'LINESTRING',
  'POLYGON',
  'MULTIPOINT',
  'MULTILINESTRING',
  'MULTIPOLYGON',
  'GEOMETRYCOLLECTION'
];

export function wkbToWkt(buffer: Buffer): string {
  const reader: Reader = { buffer, offset: 0 };
  return readGeometry(reader);
}

function readGeometry(reader: Reader): string {
  const little = reader.buffer.readUInt8(reader.offset) === 1;
  reader.offset += 1;
  const rawType = little ? reader.buffer.readUInt32LE(reader.offset) : reader.buffer.readUInt32BE(reader.offset);
  reader.offset += 4;
  // ISO WKB adds 1000 for Z, 2000 for M, 3000 for ZM; EWKB sets high flag bits instead.
  const hasZ =
    (rawType & 0x80000000) !== 0 || (rawType % 10000 >= 1000 && rawType % 10000 < 2000) || rawType % 10000 >= 3000;
  const hasM = (rawType & 0x40000000) !== 0 || rawType % 10000 >= 2000;
  const type = (rawType & 0x0fffffff) % 1000;
  const dims = 2 + (hasZ ? 1 : 0) + (hasM ? 1 : 0);
  const name = NAMES[type];
  if (name === undefined || name === '') throw new Error(`unsupported WKB geometry type ${rawType}`);
  const suffix = hasZ && hasM ? ' ZM' : hasZ ? ' Z' : hasM ? ' M' : '';
  const double = (): number => {
    const value = little ? reader.buffer.readDoubleLE(reader.offset) : reader.buffer.readDoubleBE(reader.offset);
    reader.offset += 8;
    return value;
  };
  const count = (): number => {
    const value = little ? reader.buffer.readUInt32LE(reader.offset) : reader.buffer.readUInt32BE(reader.offset);
    reader.offset += 4;
    return value;
  };
  // A list of no items is written EMPTY: `LINESTRING EMPTY`, `GEOMETRYCOLLECTION EMPTY`.
  const list = (item: () => string): string => {
    const n = count();
    return n === 0 ? 'EMPTY' : `(${Array.from({ length: n }, item).join(', ')})`;
  };
  const point = (): string => Array.from({ length: dims }, double).join(' ');
  const points = (): string => list(point);
  const rings = (): string => list(points);

  switch (type) {
    case 1: {
      const coordinates = Array.from({ length: dims }, double);
      return coordinates.every(Number.isNaN) ? `POINT${suffix} EMPTY` : `POINT${suffix} (${coordinates.join(' ')})`;
    }
    case 2:
      return `${name}${suffix} ${points()}`;
    case 3:
      return `${name}${suffix} ${rings()}`;
    case 4:
    case 5:
    case 6:
      return `${name}${suffix} ${list(() => stripName(readGeometry(reader)))}`;
    default:
      return `${name}${suffix} ${list(() => readGeometry(reader))}`;
  }
}

/** A multi-geometry lists its members without their type names: MULTIPOINT ((1 2), (3 4)). */
function stripName(wkt: string): string {
  return wkt.replace(/^[A-Z]+(?: ZM| Z| M)? /, '');
}
