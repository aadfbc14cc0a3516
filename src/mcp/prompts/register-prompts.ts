import type { McpServer } from '@modelcontextprotocol/server';
import * as z from 'zod';
import type { Environment } from '../../environment.ts';
import { MAX_QUERY_LENGTH } from '../tools/execute-sql.ts';
import { explainQueryPrompt } from './explain-query.ts';
import { exploreDatabasePrompt } from './explore-database.ts';
import { EXPLAIN_QUERY, EXPLORE_DATABASE } from './prompt-names.ts';

/** What the caller may use, which the prompts refer to. */
export interface PromptOptions {
  /** Whether execute_sql is offered to this caller (it can be limited to some groups). */
  freeSql: boolean;
}

// Built once: the SDK builds a server per request, and a schema is the same for every one.
const EXPLORE_ARGS = z.object({
  topic: z.string().max(500).optional().describe('What to focus on, e.g. "customer churn" or a table name')
});
const EXPLAIN_ARGS = z.object({
  sql: z
    .string()
    .max(MAX_QUERY_LENGTH)
    .refine(sql => sql.trim() !== '', 'the SQL query is empty')
    .describe('The SQL query to explain')
});

/** The prompts that help a model start on this environment's database (prompts/list, prompts/get). */
export function registerPrompts(server: McpServer, environment: Environment, options: PromptOptions): void {
  server.registerPrompt(
    EXPLORE_DATABASE,
    {
      title: 'Explore the database',
      description: `Start exploring the "${environment.name}" database: which tables exist, how they relate, what questions the data answers. Optionally around one topic.`,
      argsSchema: EXPLORE_ARGS
    },
    ({ topic }) => exploreDatabasePrompt(environment, topic, options.freeSql)
  );
  server.registerPrompt(
    EXPLAIN_QUERY,
    {
      title: 'Explain a SQL query',
      description: `Explain what a SQL query does on the "${environment.name}" database, checked against its tables and columns.`,
      argsSchema: EXPLAIN_ARGS
    },
    ({ sql }) => explainQueryPrompt(environment, sql, options.freeSql)
  );
}
