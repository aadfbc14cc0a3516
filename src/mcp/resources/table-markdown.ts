import type { TableDescription } from '../../db/introspector.ts';
import { plainMarkdownTable } from '../rendering.ts';
import { frameUntrusted } from '../untrusted-data.ts';

/**
 * A table's description as a Markdown document (the content of its resource): columns with their
 * types, nullability, defaults and keys, then the primary key, foreign keys and indexes. Every name in
 * it comes from the database, so the whole document is framed as untrusted data.
 */
export function tableMarkdown(t: TableDescription): string {
  const pk = new Set(t.primaryKey?.columns ?? []);
  const fkColumns = new Set(t.foreignKeys.flatMap(fk => fk.columns));
  const rows = t.columns.map(c => [
    c.name,
    c.dataType,
    c.nullable ? 'yes' : 'no',
    c.default ?? '',
    [pk.has(c.name) ? 'PK' : '', fkColumns.has(c.name) ? 'FK' : ''].filter(Boolean).join(', ')
  ]);
  const estimate = t.rowEstimate === null ? '' : `About ${t.rowEstimate.toLocaleString('en-US')} rows (estimate).`;
  const parts = [`# ${t.type === 'view' ? 'View' : 'Table'} ${t.schema}.${t.name}`];
  if (estimate !== '') parts.push(estimate);
  parts.push('## Columns', plainMarkdownTable(['column', 'type', 'nullable', 'default', 'key'], rows));
  if (t.primaryKey !== null) parts.push(`Primary key: (${t.primaryKey.columns.join(', ')})`);
  if (t.foreignKeys.length > 0) {
    parts.push(
      '## Foreign keys',
      t.foreignKeys
        .map(
          fk =>
            `- (${fk.columns.join(', ')}) → ${fk.referencedSchema}.${fk.referencedTable} (${fk.referencedColumns.join(', ')})`
        )
        .join('\n')
    );
  }
  if (t.indexes.length > 0) {
    parts.push(
      '## Indexes',
      t.indexes
        .map(
          i =>
            `- ${i.name ?? '(unnamed)'}${i.primary ? ' PRIMARY KEY' : i.unique ? ' UNIQUE' : ''} (${i.columns.join(', ')})`
        )
        .join('\n')
    );
  }
  return frameUntrusted(parts.join('\n\n'));
}
