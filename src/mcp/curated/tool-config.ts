import * as z from 'zod';
import { PARAMETER_TYPES, parameterProblems } from './parameter-schema.ts';

/**
 * The configuration of curated tools (`environments.<name>.tools`) and of who gets `execute_sql`
 * (`environments.<name>.executeSql`). What can be checked without the database is checked here, at
 * load; the SQL itself (its placeholders and the statement guard) is checked with the environment's
 * dialect when the server starts (curated-tools.ts).
 */

/** The tools sqlbridge itself offers: a curated tool cannot take one of their names. */
export const BUILT_IN_TOOL_NAMES: ReadonlySet<string> = new Set([
  'list_tables',
  'describe_table',
  'execute_sql',
  'execute_write_sql',
  'get_table_sample'
]);

/** MCP tool names are 1–128 of A-Z a-z 0-9 _ - . ; ours start with a letter and stay short for models. */
const TOOL_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
const PARAMETER_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
/** A routine, optionally schema-qualified: plain identifiers, quoted by sqlbridge when it calls it. */
const ROUTINE_NAME = /^[A-Za-z_][A-Za-z0-9_$]{0,127}(\.[A-Za-z_][A-Za-z0-9_$]{0,127})?$/;
const GROUP_NAME = /^[A-Za-z0-9._@+-]{1,64}$/;
const GROUP_MESSAGE = 'a group name is 1 to 64 letters, digits or . _ @ + -';
/** The OAuth scopes a token can carry (SQL_SCOPES in src/config/schema.ts). */
const SCOPES = ['sql:read', 'sql:write'] as const;

const scalar = z.union([z.string(), z.number(), z.boolean()]);

const parameterSchema = z
  .object({
    type: z.enum(PARAMETER_TYPES).describe('The value type: string, integer, number, boolean, date or timestamp.'),
    description: z.string().min(1).max(1000).describe('What the value means, for the model.'),
    enum: z.array(scalar).min(1).max(1000).optional().describe('The only values accepted.'),
    default: scalar.optional().describe('The value used when a call leaves the parameter out.'),
    minimum: z.number().optional().describe('Smallest accepted value (integer and number).'),
    maximum: z.number().optional().describe('Largest accepted value (integer and number).'),
    maxLength: z.number().int().min(1).optional().describe('Longest accepted text (string).'),
    pattern: z.string().min(1).optional().describe('A regular expression the whole text must match (string).'),
    required: z
      .boolean()
      .optional()
      .describe('Whether a call must give it (default: true unless it has a default); left out, it is NULL.')
  })
  .strict()
  .superRefine((spec, context) => {
    for (const [setting, message] of parameterProblems(spec)) {
      context.addIssue({
        code: 'custom',
        path: setting.split('.').map(p => (/^\d+$/.test(p) ? Number(p) : p)),
        message
      });
    }
  });

const curatedToolSchema = z
  .object({
    title: z.string().min(1).max(200).optional().describe('A short human title.'),
    description: z.string().min(1).max(4000).describe('What the tool answers, for the model.'),
    sql: z
      .string()
      .min(1)
      .max(100_000)
      .optional()
      .describe('One statement with named placeholders (`:name` or `@name`) for the parameters, bound per engine.'),
    procedure: z
      .string()
      .regex(ROUTINE_NAME, 'a routine name is `name` or `schema.name` of letters, digits, "_" or "$"')
      .optional()
      .describe(
        'A database function to call with the parameters in the order listed: PostgreSQL and SQL Server `SELECT * FROM name(…)` (a table function), MySQL/MariaDB `SELECT name(…)` (a stored function). Instead of `sql`.'
      ),
    parameters: z
      .record(
        z.string().regex(PARAMETER_NAME, 'a parameter name is a letter or "_" followed by letters, digits or "_"'),
        parameterSchema
      )
      .default({})
      .describe('Parameter name → its type, description and limits.'),
    groups: z
      .array(z.string().regex(GROUP_NAME, GROUP_MESSAGE))
      .min(1)
      .optional()
      .describe('Only users in one of these groups (`auth.users[].groups`) see and may call the tool.'),
    scopes: z
      .array(z.enum(SCOPES))
      .min(1)
      .optional()
      .describe('OAuth scopes the caller’s token must hold (a missing one is asked for, 403 `insufficient_scope`).'),
    maxRows: z
      .number()
      .int()
      .min(1)
      .max(100_000)
      .optional()
      .describe('At most this many rows (and at most `limits.maxRows`).'),
    readOnly: z
      .boolean()
      .default(true)
      .describe('false: the statement may change data (read-write environments only; needs `sql:write`).')
  })
  .strict()
  .superRefine((tool, context) => {
    if ((tool.sql === undefined) === (tool.procedure === undefined)) {
      context.addIssue({
        code: 'custom',
        path: ['sql'],
        message: 'a tool has either `sql` or `procedure`, exactly one'
      });
    }
  });

export const curatedToolsSchema = z
  .record(
    z
      .string()
      .regex(TOOL_NAME, 'a tool name is a letter followed by up to 63 letters, digits, "_" or "-"')
      .refine(name => !BUILT_IN_TOOL_NAMES.has(name), 'this name belongs to a tool sqlbridge offers itself'),
    curatedToolSchema
  )
  .default({})
  .describe('Curated tools: a parameterised statement or database function per tool. See docs/curated-tools.md.');

export const executeSqlSchema = z
  .union([z.boolean(), z.object({ groups: z.array(z.string().regex(GROUP_NAME, GROUP_MESSAGE)).min(1) }).strict()])
  .default(true)
  .describe(
    'Who gets the free-SQL tools (execute_sql, and execute_write_sql where offered): `true` everyone, `false` nobody (only curated tools), or `{ groups: [...] }` users in those groups.'
  );

export type CuratedToolConfig = z.output<typeof curatedToolSchema>;
export type CuratedToolsConfig = z.output<typeof curatedToolsSchema>;
export type ExecuteSqlConfig = z.output<typeof executeSqlSchema>;

/** Settings of a tool that depend on the rest of its environment. */
export function checkCuratedTools(
  environment: {
    readOnly: boolean;
    database: { engine: string };
    limits: { maxRows: number };
    tools: CuratedToolsConfig;
  },
  context: z.RefinementCtx
): void {
  const sqlite = environment.database.engine === 'sqlite' || environment.database.engine === 'demo';
  for (const [name, tool] of Object.entries(environment.tools)) {
    const path = (setting: string): string[] => ['tools', name, setting];
    if (!tool.readOnly && environment.readOnly) {
      context.addIssue({
        code: 'custom',
        path: path('readOnly'),
        message:
          'a read-only environment runs no tool that changes data; set the environment’s readOnly to false or remove this'
      });
    }
    if (tool.procedure !== undefined && sqlite) {
      context.addIssue({
        code: 'custom',
        path: path('procedure'),
        message: 'SQLite has no stored routines; write `sql` instead'
      });
    }
    if (tool.maxRows !== undefined && tool.maxRows > environment.limits.maxRows) {
      context.addIssue({
        code: 'custom',
        path: path('maxRows'),
        message: `at most the environment’s limits.maxRows (${environment.limits.maxRows})`
      });
    }
  }
}
