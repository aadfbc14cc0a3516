/**
 * geography and geometry values, which mssql parses from SQL Server's CLR serialization
 * (MS-SSCLRT) into points, figures and shapes, rendered as Well-Known Text. Points, line strings and
 * polygons and their multi forms are written out; other shapes (curves, collections of collections)
 * are returned as `null` so the caller can fall back (SQL's `.STAsText()` always works).
 */

interface SpatialPoint {
  x: number;
  y: number;
  z: number | null;
  lat?: number;
  lng?: number;
}

interface SpatialValue {
  srid: number;
  points: SpatialPoint[];
  figures: { pointOffset: number }[];
  shapes: { parentOffset: number; figureOffset: number; type: number }[];
}

const SHAPES: Record<number, string> = {
  1: 'POINT',
  2: 'LINESTRING',
  3: 'POLYGON',
  4: 'MULTIPOINT',
  5: 'MULTILINESTRING',
  6: 'MULTIPOLYGON'
};

export function isSpatialValue(value: unknown): value is SpatialValue {
  return (
    typeof value === 'object' &&
    value !== null &&
    Array.isArray((value as Partial<SpatialValue>).points) &&
    Array.isArray((value as Partial<SpatialValue>).shapes)
  );
}

export function spatialToWkt(value: SpatialValue, geography: boolean): string | null {
  const top = value.shapes[0];
  if (top === undefined) return null;
  const name = SHAPES[top.type];
  if (name === undefined) return null;
  // geography stores latitude first; WKT writes longitude first.
  const coordinate = (p: SpatialPoint): string => (geography ? `${p.lng ?? p.y} ${p.lat ?? p.x}` : `${p.x} ${p.y}`);
  const figurePoints = (figure: number): string => {
    const start = value.figures[figure]?.pointOffset ?? value.points.length;
    const end = value.figures[figure + 1]?.pointOffset ?? value.points.length;
    return value.points.slice(start, end).map(coordinate).join(', ');
  };
  const figuresOf = (shape: number): number[] => {
    const first = value.shapes[shape]?.figureOffset ?? -1;
    if (first < 0) return [];
    const next = value.shapes.slice(shape + 1).find(s => s.figureOffset >= 0)?.figureOffset ?? value.figures.length;
    return Array.from({ length: next - first }, (_, i) => first + i);
  };
  const body = (shape: number, type: number): string => {
    const figures = figuresOf(shape);
    if (figures.length === 0) return 'EMPTY';
    if (type === 3) return `(${figures.map(f => `(${figurePoints(f)})`).join(', ')})`;
    return `(${figures.map(figurePoints).join(', ')})`;
  };
  if (top.type <= 3) return `${name} ${body(0, top.type)}`;
  const children = value.shapes
    .map((shape, index) => ({ shape, index }))
    .filter(({ shape }) => shape.parentOffset === 0);
  if (children.some(({ shape }) => shape.type !== top.type - 3)) return null;
  if (children.length === 0) return `${name} EMPTY`;
  return `${name} (${children.map(({ index, shape }) => body(index, shape.type)).join(', ')})`;
}
