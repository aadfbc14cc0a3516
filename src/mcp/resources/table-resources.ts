import {
  ProtocolError,
  ProtocolErrorCode,
  ResourceTemplate,
  type ListResourcesResult,
  type McpServer,
  type Resource
} from '@modelcontextprotocol/server';
import type { TableSummary } from '../../db/introspector.ts';
import type { Environment } from '../../environment.ts';
import type { Logger } from '../../observability/logger.ts';
import { inlineName } from '../rendering.ts';
import { CallerCatalog } from './caller-catalog.ts';
import { registerCompletions } from './completions.ts';
import { tableMarkdown } from './table-markdown.ts';
import { tableOfVariables, tableUri, tableUriTemplate } from './table-uri.ts';

/**
 * Each table and view the caller may read as a resource whose content is its description in
 * Markdown: one resource template (`resources/templates/list`), a paginated `resources/list`, and
 * completion of the template's variables. Every answer comes from the catalog as the caller's
 * database role sees it.
 */

/** Resources per `resources/list` page (MCP pagination: an opaque `nextCursor`). */
export const RESOURCE_PAGE_SIZE = 50;
const MIME_TYPE = 'text/markdown';

export function registerTableResources(server: McpServer, environment: Environment, logger: Logger): void {
  const catalog = new CallerCatalog(environment, logger);
  const template = new ResourceTemplate(tableUriTemplate(environment.name), { list: undefined });
  server.registerResource(
    'table',
    template,
    {
      title: 'Table or view description',
      description: `A table or view of the "${environment.name}" database: its columns, types, nullability, keys and indexes, as Markdown. {schema} is the schema (the database in MySQL and MariaDB, main in SQLite), names percent-encoded.`,
      mimeType: MIME_TYPE
    },
    async (uri, variables, ctx) => {
      const table = tableOfVariables(variables);
      if (table === undefined)
        throw new ProtocolError(ProtocolErrorCode.InvalidParams, `invalid resource URI: ${uri.href}`);
      const description = await catalog.describe(ctx, table, uri.href);
      return { contents: [{ uri: uri.href, mimeType: MIME_TYPE, text: tableMarkdown(description) }] };
    }
  );
  // The SDK's own resources/list gathers every resource into one answer; a database can hold
  // thousands of tables, so sqlbridge answers in pages.
  server.server.setRequestHandler('resources/list', async (request, ctx) => {
    const tables = await catalog.tables(ctx, 'resources/list');
    const start = decodeCursor(request.params?.cursor);
    const page = tables.slice(start, start + RESOURCE_PAGE_SIZE);
    const result: ListResourcesResult = { resources: page.map(t => resourceOf(environment.name, t)) };
    if (start + RESOURCE_PAGE_SIZE < tables.length) result.nextCursor = encodeCursor(start + RESOURCE_PAGE_SIZE);
    return result;
  });
  registerCompletions(server, catalog, template.uriTemplate.toString());
}

function resourceOf(environment: string, table: TableSummary): Resource {
  const estimate = table.rowEstimate === null ? '' : `, about ${table.rowEstimate.toLocaleString('en-US')} rows`;
  // Names as the database holds them, on one line: clients show these to models outside any frame.
  const name = inlineName(`${table.schema}.${table.name}`);
  return {
    uri: tableUri(environment, table),
    name,
    title: `${table.type === 'view' ? 'View' : 'Table'} ${name}`,
    description: `Columns, types and keys of the ${table.type} ${name}${estimate}`,
    mimeType: MIME_TYPE
  };
}

function encodeCursor(offset: number): string {
  return Buffer.from(`offset:${offset}`).toString('base64url');
}

function decodeCursor(cursor: string | undefined): number {
  if (cursor === undefined) return 0;
  const match = /^offset:(\d{1,9})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (match?.[1] === undefined) {
    throw new ProtocolError(ProtocolErrorCode.InvalidParams, 'invalid cursor: pass the nextCursor of a previous page');
  }
  return Number(match[1]);
}
