import { describe, expect, it } from 'vitest';
import { wkbToWkt } from '../../src/db/wkb.ts';

/** WKB as MariaDB's ST_AsWKB writes it, and the WKT sqlbridge must print for it. */
const wkt = (hex: string): string => wkbToWkt(Buffer.from(hex, 'hex'));

describe('WKB to WKT', () => {
  it('prints points, line strings, polygons, their multi forms and collections', () => {
    expect(wkt('0101000000000000000000F03F0000000000000040')).toBe('POINT (1 2)');
    expect(wkt('010200000002000000000000000000F03F000000000000004000000000000008400000000000001040')).toBe(
      'LINESTRING (1 2, 3 4)'
    );
    expect(
      wkt('0104000000020000000101000000000000000000F03F0000000000000040010100000000000000000008400000000000001040')
    ).toBe('MULTIPOINT ((1 2), (3 4))');
    expect(
      wkt(
        '0103000000010000000400000000000000000000000000000000000000000000000000F03F0000000000000000000000000000F03F000000000000F03F00000000000000000000000000000000'
      )
    ).toBe('POLYGON ((0 0, 1 0, 1 1, 0 0))');
    expect(
      wkt(
        '0107000000020000000101000000000000000000F03F000000000000004001020000000200000000000000000000000000000000000000000000000000F03F000000000000F03F'
      )
    ).toBe('GEOMETRYCOLLECTION (POINT (1 2), LINESTRING (0 0, 1 1))');
  });

  it('writes an empty geometry as EMPTY, never as ()', () => {
    expect(wkt('010700000000000000')).toBe('GEOMETRYCOLLECTION EMPTY');
    expect(wkt('010200000000000000')).toBe('LINESTRING EMPTY');
    expect(wkt('010300000000000000')).toBe('POLYGON EMPTY');
    expect(wkt('010400000000000000')).toBe('MULTIPOINT EMPTY');
    expect(wkt('010600000000000000')).toBe('MULTIPOLYGON EMPTY');
    expect(wkt('0101000000000000000000F87F000000000000F87F')).toBe('POINT EMPTY');
    // A collection holding an empty collection and a point, big-endian this time.
    expect(wkt('00000000070000000200000000070000000000000000013FF00000000000004000000000000000')).toBe(
      'GEOMETRYCOLLECTION (GEOMETRYCOLLECTION EMPTY, POINT (1 2))'
    );
  });
});
