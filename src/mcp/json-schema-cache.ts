import type * as z from 'zod';

/**
 * The SDK builds a fresh McpServer for every HTTP request and converts each tool's zod schemas to
 * JSON Schema on it (for `tools/list`, and for the output schema on every `tools/call`). A tool's
 * schemas never change, so each schema converts once: its Standard Schema `jsonSchema` methods are
 * replaced by ones that remember their answer per target. The answers are frozen, so that nothing
 * can change what the next request is given.
 */

type JsonSchemaOptions = { target?: string } | undefined;
type Converter = (options?: JsonSchemaOptions) => Record<string, unknown>;

interface StandardWithJsonSchema {
  jsonSchema?: { input: Converter; output: Converter };
}

const cached = new WeakSet<object>();

export function cacheJsonSchema(schema: z.ZodType): void {
  if (cached.has(schema)) return;
  cached.add(schema);
  const standard = schema['~standard'] as unknown as Record<string, unknown> & StandardWithJsonSchema;
  const convert = standard.jsonSchema;
  if (convert === undefined) return;
  (schema as { '~standard': unknown })['~standard'] = {
    ...standard,
    jsonSchema: { input: remember(convert.input), output: remember(convert.output) }
  };
}

function remember(convert: Converter): Converter {
  const answers = new Map<string, Record<string, unknown>>();
  return options => {
    const key = options?.target ?? '';
    let answer = answers.get(key);
    if (answer === undefined) {
      answer = deepFreeze(convert(options));
      answers.set(key, answer);
    }
    return answer;
  };
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
