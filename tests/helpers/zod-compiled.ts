/**
 * Whether zod/compile has given `schema` a compiled parser: it keeps the regular parser beside the
 * compiled one, as its fallback (a zod internal, read by tests only).
 */
export function hasCompiledParser(schema: unknown): boolean {
  const bag = (schema as { _zod: { bag: Record<string, unknown> } })._zod.bag;
  return typeof bag['fallbackRun'] === 'function';
}
