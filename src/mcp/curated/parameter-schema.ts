import * as z from 'zod';

/**
 * A curated tool's parameter as configured, and the zod schema its arguments are checked with. The
 * SDK turns that schema into the tool's JSON Schema, so the description, enum, default and bounds a
 * model sees are exactly the ones a call is held to.
 */

export const PARAMETER_TYPES = ['string', 'integer', 'number', 'boolean', 'date', 'timestamp'] as const;
export type ParameterType = (typeof PARAMETER_TYPES)[number];

export type ParameterValue = string | number | boolean;

export interface ParameterSpec {
  type: ParameterType;
  description: string;
  enum?: ParameterValue[] | undefined;
  default?: ParameterValue | undefined;
  minimum?: number | undefined;
  maximum?: number | undefined;
  maxLength?: number | undefined;
  pattern?: string | undefined;
  required?: boolean | undefined;
}

/** The schema of one value of the parameter: its type, enum and bounds, without default or optionality. */
export function valueSchema(spec: ParameterSpec): z.ZodType<ParameterValue> {
  if (spec.enum !== undefined && spec.enum.length > 0) return enumSchema(spec);
  switch (spec.type) {
    case 'string': {
      let schema = z.string();
      if (spec.maxLength !== undefined) schema = schema.max(spec.maxLength);
      if (spec.pattern !== undefined) schema = schema.regex(new RegExp(spec.pattern, 'u'));
      return schema;
    }
    case 'integer':
    case 'number': {
      let schema = spec.type === 'integer' ? z.number().int() : z.number();
      if (spec.minimum !== undefined) schema = schema.min(spec.minimum);
      if (spec.maximum !== undefined) schema = schema.max(spec.maximum);
      return schema;
    }
    case 'boolean':
      return z.boolean();
    case 'date':
      // RFC 3339 full-date, e.g. 2026-03-31.
      return z.iso.date();
    case 'timestamp':
      // RFC 3339 date-time, with or without an offset, e.g. 2026-03-31T12:00:00Z.
      return z.iso.datetime({ offset: true, local: true });
  }
}

/** An enum of the parameter's own type (checked at configuration load), listed as JSON Schema `enum`. */
function enumSchema(spec: ParameterSpec): z.ZodType<ParameterValue> {
  const values = spec.enum ?? [];
  if (spec.type === 'string' || spec.type === 'date' || spec.type === 'timestamp') {
    return z.enum(values.map(String) as [string, ...string[]]);
  }
  return z.literal(values as [ParameterValue, ...ParameterValue[]]);
}

/** Whether a call must give the parameter: unless it has a default or is marked `required: false`. */
export function isRequired(spec: ParameterSpec): boolean {
  return spec.default === undefined && spec.required !== false;
}

/** The parameter's schema in a tool's input: described, with its default, optional when not required. */
export function argumentSchema(spec: ParameterSpec): z.ZodType {
  const described = valueSchema(spec).describe(spec.description);
  if (spec.default !== undefined) return described.default(spec.default);
  return isRequired(spec) ? described : described.optional();
}

/** What is wrong with the parameter's own settings, as [setting, problem] pairs (empty when nothing). */
export function parameterProblems(spec: ParameterSpec): [string, string][] {
  const problems: [string, string][] = [];
  const numeric = spec.type === 'integer' || spec.type === 'number';
  if (!numeric) {
    if (spec.minimum !== undefined) problems.push(['minimum', `only integer and number parameters have a minimum`]);
    if (spec.maximum !== undefined) problems.push(['maximum', `only integer and number parameters have a maximum`]);
  } else if (spec.minimum !== undefined && spec.maximum !== undefined && spec.minimum > spec.maximum) {
    problems.push(['maximum', `the maximum (${spec.maximum}) is below the minimum (${spec.minimum})`]);
  }
  if (spec.type !== 'string') {
    if (spec.maxLength !== undefined) problems.push(['maxLength', 'only string parameters have a maxLength']);
    if (spec.pattern !== undefined) problems.push(['pattern', 'only string parameters have a pattern']);
  } else if (spec.pattern !== undefined) {
    try {
      new RegExp(spec.pattern, 'u');
    } catch (error) {
      problems.push(['pattern', `not a valid regular expression: ${(error as Error).message}`]);
    }
  }
  if (spec.required === true && spec.default !== undefined) {
    problems.push(['required', 'a parameter with a default is never required; remove one of the two']);
  }
  if (problems.length > 0) return problems;
  // The enum values and the default must themselves be valid values of the parameter.
  const plain = valueSchema({ ...spec, enum: undefined });
  spec.enum?.forEach((value, i) => {
    const checked = plain.safeParse(value);
    if (!checked.success) problems.push([`enum.${i}`, `${JSON.stringify(value)} is not a valid ${describeType(spec)}`]);
  });
  if (spec.default !== undefined && problems.length === 0) {
    const checked = valueSchema(spec).safeParse(spec.default);
    if (!checked.success) {
      const within = spec.enum === undefined ? '' : ' listed in its enum';
      problems.push(['default', `${JSON.stringify(spec.default)} is not a valid ${describeType(spec)}${within}`]);
    }
  }
  return problems;
}

function describeType(spec: ParameterSpec): string {
  const bounds: string[] = [];
  if (spec.minimum !== undefined) bounds.push(`at least ${spec.minimum}`);
  if (spec.maximum !== undefined) bounds.push(`at most ${spec.maximum}`);
  if (spec.maxLength !== undefined) bounds.push(`at most ${spec.maxLength} characters`);
  if (spec.pattern !== undefined) bounds.push(`matching ${spec.pattern}`);
  const kind =
    spec.type === 'date'
      ? 'date (YYYY-MM-DD)'
      : spec.type === 'timestamp'
        ? 'timestamp (YYYY-MM-DDTHH:MM:SS, optional offset)'
        : spec.type;
  return bounds.length === 0 ? kind : `${kind} (${bounds.join(', ')})`;
}
