import type { GetPromptResult } from '@modelcontextprotocol/server';
import type { Environment } from '../../environment.ts';
import { tableUriTemplate } from '../resources/table-uri.ts';
import { UNTRUSTED_DATA_NOTICE } from '../untrusted-data.ts';

/** The opening request of a session that explores the database, optionally around one topic. */
export function exploreDatabasePrompt(
  environment: Environment,
  topic: string | undefined,
  freeSql: boolean
): GetPromptResult {
  const { db } = environment;
  const focus =
    topic === undefined || topic.trim() === ''
      ? 'Give me an overview: the main entities, how they relate, and the questions this data can answer.'
      : `Focus on this topic: ${topic.trim()}. Find the tables and columns that hold it, how they relate, and what questions about it the data can answer.`;
  const text = [
    `Help me explore the "${environment.name}" database (${db.displayName}).`,
    focus,
    'How to work:',
    '1. Call list_tables to see the tables and views (with estimated row counts).',
    `2. Call describe_table for the columns, keys and indexes of the tables that matter (each is also the resource ${tableUriTemplate(environment.name)}).`,
    '3. Call get_table_sample to see a few rows of a table before writing queries on it.',
    freeSql
      ? '4. Answer questions with execute_sql: aggregate and filter in SQL instead of fetching raw rows.'
      : "4. Answer questions with the server's other tools, each made for one kind of question (this server offers no free SQL).",
    environment.config.readOnly ? 'The database is read-only: only queries that read data run.' : '',
    `SQL dialect notes: ${db.adapter.sqlNotes}`,
    UNTRUSTED_DATA_NOTICE
  ];
  return {
    description: `Explore the ${environment.name} database`,
    messages: [{ role: 'user', content: { type: 'text', text: text.filter(line => line !== '').join('\n') } }]
  };
}
