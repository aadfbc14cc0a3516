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
    const start = pageStart(tables, decodeCursor(request.params?.cursor, environment.name));
    const page = tables.slice(start, start + RESOURCE_PAGE_SIZE);
    const result: ListResourcesResult = { resources: page.map(t => resourceOf(environment.name, t)) };
    const last = page.at(-1);
    if (start + RESOURCE_PAGE_SIZE < tables.length && last !== undefined) {
      result.nextCursor = encodeCursor({ environment: environment.name, offset: start + page.length, after: last });
    }
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

/**
 * Where the next page starts: the environment it was handed out for, the offset it would start at, and
 * the last table of the page before. The page starts after that table, wherever it is now, so tables
 * dropped (or created) between two pages shift nothing; at the offset only when that table is gone.
 */
interface Cursor {
  environment: string;
  offset: number;
  after: { schema: string; name: string };
}

function encodeCursor(cursor: Cursor): string {
  const { environment, offset, after } = cursor;
  return Buffer.from(JSON.stringify([environment, offset, after.schema, after.name])).toString('base64url');
}

/** The cursor of this environment's previous page; anything else is refused. */
function decodeCursor(cursor: string | undefined, environment: string): Cursor | undefined {
  if (cursor === undefined) return undefined;
  const bytes = Buffer.from(cursor, 'base64url');
  let value: unknown;
  try {
    // Only text that is exactly the Base64url of what it decodes to (no junk skipped, no padding).
    value = bytes.toString('base64url') === cursor ? JSON.parse(bytes.toString('utf8')) : undefined;
  } catch {
    value = undefined;
  }
  const [from, offset, schema, name] = Array.isArray(value) ? (value as unknown[]) : [];
  if (
    from !== environment ||
    typeof offset !== 'number' ||
    !Number.isSafeInteger(offset) ||
    offset < 0 ||
    typeof schema !== 'string' ||
    typeof name !== 'string'
  ) {
    throw new ProtocolError(ProtocolErrorCode.InvalidParams, 'invalid cursor: pass the nextCursor of a previous page');
  }
  return { environment, offset, after: { schema, name } };
}

function pageStart(tables: readonly TableSummary[], cursor: Cursor | undefined): number {
  if (cursor === undefined) return 0;
  const { schema, name } = cursor.after;
  const index = tables.findIndex(table => table.schema === schema && table.name === name);
  return index === -1 ? cursor.offset : index + 1;
}
