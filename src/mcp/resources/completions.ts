import { ProtocolError, ProtocolErrorCode, type CompleteResult, type McpServer } from '@modelcontextprotocol/server';
import type { TableSummary } from '../../db/introspector.ts';
import { EXPLORE_DATABASE, PROMPT_NAMES } from '../prompts/prompt-names.ts';
import type { CallerCatalog } from './caller-catalog.ts';

/**
 * `completion/complete` for the table template's {schema} and {table} and for the topic of
 * explore_database, from the catalog the caller may see. sqlbridge answers it itself rather than
 * through the SDK's template callbacks, which are not told who is asking.
 */

const MAX_COMPLETIONS = 100;

export function registerCompletions(server: McpServer, catalog: CallerCatalog, templateUri: string): void {
  server.server.registerCapabilities({ completions: {} });
  server.server.setRequestHandler('completion/complete', async (request, ctx) => {
    const { ref, argument } = request.params;
    if (ref.type === 'ref/resource' && ref.uri === templateUri) {
      const tables = await catalog.tables(ctx, 'completion/complete');
      return completeTemplate(tables, argument.name, argument.value, request.params.context?.arguments?.['schema']);
    }
    if (ref.type === 'ref/prompt' && PROMPT_NAMES.includes(ref.name)) {
      if (ref.name !== EXPLORE_DATABASE || argument.name !== 'topic') return completion([]);
      const tables = await catalog.tables(ctx, 'completion/complete');
      return completion(matching([...new Set(tables.map(t => t.name))], argument.value));
    }
    const target = ref.type === 'ref/prompt' ? `prompt "${ref.name}"` : `resource "${ref.uri}"`;
    throw new ProtocolError(ProtocolErrorCode.InvalidParams, `nothing to complete for ${target}`);
  });
}

function completeTemplate(
  tables: TableSummary[],
  variable: string,
  value: string,
  schema: string | undefined
): CompleteResult {
  if (variable === 'schema') return completion(matching([...new Set(tables.map(t => t.schema))], value));
  if (variable === 'table') {
    const inSchema = schema === undefined ? tables : tables.filter(t => t.schema === schema);
    return completion(matching([...new Set(inSchema.map(t => t.name))], value));
  }
  throw new ProtocolError(ProtocolErrorCode.InvalidParams, `the template has no variable "${variable}"`);
}

function matching(names: string[], prefix: string): string[] {
  const lower = prefix.toLowerCase();
  return names.filter(name => name.toLowerCase().startsWith(lower));
}

function completion(values: string[]): CompleteResult {
  return {
    completion: {
      values: values.slice(0, MAX_COMPLETIONS),
      total: values.length,
      hasMore: values.length > MAX_COMPLETIONS
    }
  };
}
