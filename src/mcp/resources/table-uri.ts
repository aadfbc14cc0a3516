import type { TableRef } from '../../db/introspector.ts';

/**
 * The URI of a table or view as a resource: `sqlbridge://<environment>/<schema>/<table>`, schema and
 * table percent-encoded (RFC 3986 §2.1) so that any name survives. The schema is the one the catalog
 * and list_tables report: the schema in PostgreSQL and SQL Server, the database in MySQL and MariaDB,
 * and the attached database (`main`) in SQLite.
 */

export const RESOURCE_SCHEME = 'sqlbridge';

/** The RFC 6570 template clients fill in (`resources/templates/list`). */
export function tableUriTemplate(environment: string): string {
  return `${RESOURCE_SCHEME}://${environment}/{schema}/{table}`;
}

export function tableUri(environment: string, table: TableRef): string {
  return `${RESOURCE_SCHEME}://${environment}/${encodeURIComponent(table.schema)}/${encodeURIComponent(table.name)}`;
}

/** The table a filled-in template names, or undefined when a part is not valid percent-encoding. */
export function tableOfVariables(variables: Record<string, string | string[]>): TableRef | undefined {
  const schema = variables['schema'];
  const name = variables['table'];
  if (typeof schema !== 'string' || typeof name !== 'string') return undefined;
  try {
    return { schema: decodeURIComponent(schema), name: decodeURIComponent(name) };
  } catch {
    return undefined;
  }
}
