import type { GetPromptResult } from '@modelcontextprotocol/server';
import type { Environment } from '../../environment.ts';

/** A request to explain one SQL query against this environment's database, checked against its catalog. */
export function explainQueryPrompt(environment: Environment, sql: string, freeSql: boolean): GetPromptResult {
  const { db } = environment;
  const steps = [
    `Explain what this SQL query does on the "${environment.name}" database (${db.displayName}): what it reads, how it joins and filters, what each result row means, and anything that could make it wrong or slow.`,
    'Check the tables and columns it uses with describe_table before explaining; do not guess their meaning from names alone.',
    freeSql
      ? 'Run it with execute_sql only if seeing a few result rows helps the explanation, and then with a small limit.'
      : '',
    'Suggest a clearer or faster form if there is one.',
    `SQL dialect notes: ${db.adapter.sqlNotes}`
  ].filter(line => line !== '');
  return {
    description: `Explain a query on the ${environment.name} database`,
    messages: [{ role: 'user', content: { type: 'text', text: `${steps.join('\n')}\n\n${fenced(sql.trim())}` } }]
  };
}

/** A Markdown code block whose fence is longer than any run of backticks in the query (CommonMark §4.5). */
function fenced(sql: string): string {
  const longest = Math.max(0, ...[...sql.matchAll(/`+/g)].map(run => run[0].length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}sql\n${sql}\n${fence}`;
}
