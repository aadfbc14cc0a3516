import * as z from 'zod';

/**
 * Navigation of the configuration schema, used to suggest the intended key for a misspelt one and to
 * render the configuration reference. Wrappers (default, optional…) are looked through.
 */

export function unwrap(schema: z.ZodType): z.ZodType {
  let current: z.ZodType = schema;
  for (;;) {
    if (current instanceof z.ZodDefault || current instanceof z.ZodPrefault || current instanceof z.ZodOptional) {
      current = current.unwrap() as z.ZodType;
    } else {
      return current;
    }
  }
}

/** The schema at `path`, choosing a discriminated union's branch by the discriminator found in `input`. */
export function schemaAt(root: z.ZodType, path: readonly PropertyKey[], input: unknown): z.ZodType | undefined {
  let schema: z.ZodType | undefined = root;
  let value = input;
  for (const key of path) {
    schema = schema === undefined ? undefined : child(unwrap(schema), String(key), value);
    value = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[String(key)] : undefined;
  }
  return schema === undefined ? undefined : branch(unwrap(schema), value);
}

function child(schema: z.ZodType, key: string, value: unknown): z.ZodType | undefined {
  const resolved = branch(schema, value);
  if (resolved instanceof z.ZodObject) return (resolved.shape as Record<string, z.ZodType>)[key];
  if (resolved instanceof z.ZodRecord) return resolved.valueType as z.ZodType;
  if (resolved instanceof z.ZodArray) return resolved.element as z.ZodType;
  return undefined;
}

function branch(schema: z.ZodType, value: unknown): z.ZodType {
  if (!(schema instanceof z.ZodDiscriminatedUnion)) return schema;
  const discriminator = schema.def.discriminator;
  const wanted =
    typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[discriminator] : undefined;
  for (const option of schema.options as z.ZodType[]) {
    if (option instanceof z.ZodObject) {
      const literal = (option.shape as Record<string, z.ZodType>)[discriminator];
      if (literal instanceof z.ZodLiteral && literal.values.has(wanted as never)) return option;
    }
  }
  return schema;
}

/** Keys a mapping at `path` accepts (every branch's keys for an unresolved union). */
export function keysAt(root: z.ZodType, path: readonly PropertyKey[], input: unknown): string[] {
  const schema = schemaAt(root, path, input);
  if (schema instanceof z.ZodObject) return Object.keys(schema.shape);
  if (schema instanceof z.ZodDiscriminatedUnion) {
    const keys = new Set<string>();
    for (const option of schema.options as z.ZodType[]) {
      if (option instanceof z.ZodObject) for (const key of Object.keys(option.shape)) keys.add(key);
    }
    return [...keys];
  }
  return [];
}
