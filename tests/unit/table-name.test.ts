import { describe, expect, it } from 'vitest';
import { SqliteAdapter } from '../../src/db/dialects/sqlite/sqlite-adapter.ts';
import type { TableSummary } from '../../src/db/introspector.ts';
import { parseTableName, resolveTableName } from '../../src/db/table-name.ts';

const adapter = new SqliteAdapter();

/** A case-sensitive engine whose default schema is `public`, as PostgreSQL's is. */
class CaseSensitiveAdapter extends SqliteAdapter {
  override readonly caseInsensitiveIdentifiers = false;
  override readonly defaultSchema = 'public';
}
const caseSensitive = new CaseSensitiveAdapter();

const table = (schema: string, name: string): TableSummary => ({ schema, name, type: 'table', rowEstimate: null });

describe('parseTableName', () => {
  it.each([
    ['orders', ['orders']],
    ['main.orders', ['main', 'orders']],
    [' main . orders ', ['main', 'orders']],
    ['"Order Lines"', ['Order Lines']],
    ['main."we""ird"', ['main', 'we"ird']],
    ['[dbo].[My Table]', ['dbo', 'My Table']],
    ['`odd.name`', ['odd.name']],
    ['Order Lines', ['Order Lines']]
  ])('reads %s', (input, parts) => {
    expect(parseTableName(input, adapter).parts).toEqual(parts);
  });

  it.each([
    ['', 'the name is empty'],
    ['"open', 'is not closed'],
    ['a.b.c', 'give "table" or "schema.table"'],
    ['a.', 'ends with "."'],
    ['"a"x', 'unexpected "x"']
  ])('rejects %j with a reason', (input, reason) => {
    expect(() => parseTableName(input, adapter)).toThrow(reason);
  });
});

describe('resolveTableName', () => {
  const tables = [
    table('main', 'orders'),
    table('main', 'Order Lines'),
    table('main', 'we"ird'),
    table('aux', 'orders')
  ];

  it('prefers the default schema for a bare name found in two schemas', () => {
    expect(resolveTableName('orders', tables, adapter)).toEqual(table('main', 'orders'));
    expect(resolveTableName('aux.orders', tables, adapter)).toEqual(table('aux', 'orders'));
  });

  it('matches case-insensitively where the engine does', () => {
    expect(resolveTableName('ORDER LINES', tables, adapter).name).toBe('Order Lines');
    expect(resolveTableName('"WE""IRD"', tables, adapter).name).toBe('we"ird');
  });

  it('keeps quoted names exact on a case-sensitive engine and reports ambiguity', () => {
    const pg = [table('public', 'Orders'), table('public', 'orders'), table('sales', 'orders')];
    expect(resolveTableName('"Orders"', pg, caseSensitive)).toEqual(table('public', 'Orders'));
    expect(resolveTableName('orders', pg, caseSensitive)).toEqual(table('public', 'orders'));
    expect(() => resolveTableName('ORDERS', pg, caseSensitive)).toThrow(
      /matches several tables: public.Orders, public.orders/
    );
    expect(resolveTableName('sales.orders', pg, caseSensitive)).toEqual(table('sales', 'orders'));
  });

  it('names the tool to call when nothing matches', () => {
    expect(() => resolveTableName('missing', tables, adapter)).toThrow(/no table or view named "missing"/);
  });
});
