import { describe, expect, it } from 'vitest';
import { cell, plainMarkdownTable } from '../../src/mcp/rendering.ts';

describe('table cells', () => {
  it.each([
    ['plain text', 'plain text'],
    ['a|b', 'a\\|b'],
    ['back\\slash', 'back\\\\slash'],
    ['two\nlines', 'two\\nlines'],
    // Both characters of a CRLF: a value's bytes are told apart from another value's.
    ['crlf\r\nline', 'crlf\\r\\nline'],
    // A lone carriage return ends a line in Markdown too (CommonMark): it would end the row.
    ['lone\rreturn', 'lone\\rreturn'],
    ['all \\ | \n', 'all \\\\ \\| \\n'],
    // Control characters a terminal acts on, or that end text, as \u escapes; a tab stays.
    ['esc\u001b[31mred', 'esc\\u001b[31mred'],
    ['nul\u0000byte', 'nul\\u0000byte'],
    ['del\u007f c1\u0085', 'del\\u007f c1\\u0085'],
    ['line\u2028separator', 'line\\u2028separator'],
    ['tab\there', 'tab\there'],
    // Text that reads as SQL NULL is told apart from it.
    ['NULL', '\\NULL'],
    ['null', '\\null'],
    ['NULL ', 'NULL '],
    ['\\NULL', '\\\\NULL']
  ])('renders %j as %j', (value, expected) => {
    expect(cell(value)).toBe(expected);
  });

  it('renders NULL, numbers and booleans', () => {
    expect(cell(null)).toBe('NULL');
    expect(cell(undefined)).toBe('NULL');
    expect(cell(42)).toBe('42');
    expect(cell(true)).toBe('true');
  });

  it('shows a column named like NULL as its name, and a NULL-like value marked', () => {
    expect(plainMarkdownTable(['NULL', 'n'], [['NULL', null]])).toBe('| NULL | n |\n|---|---|\n| \\NULL | NULL |');
  });

  it('keeps a value with a separator inside its own column', () => {
    const table = plainMarkdownTable(['a', 'b'], [['x|y', 'z']]);
    expect(table.split('\n')[2]).toBe('| x\\|y | z |');
  });

  it('renders a whole table: header, separator, then one line per row, every kind of value', () => {
    const table = plainMarkdownTable(
      ['id', 'name|alias', 'ok', 'note'],
      [
        [1, 'plain', true, null],
        [2.5, 'a|b', false, 'two\nlines'],
        ['9007199254740993', '', null, 'back\\slash']
      ]
    );
    expect(table).toBe(
      [
        '| id | name\\|alias | ok | note |',
        '|---|---|---|---|',
        '| 1 | plain | true | NULL |',
        '| 2.5 | a\\|b | false | two\\nlines |',
        '| 9007199254740993 |  | NULL | back\\\\slash |'
      ].join('\n')
    );
  });

  it('renders a table without rows as its header and separator, and a row without columns as empty', () => {
    expect(plainMarkdownTable(['a'], [])).toBe('| a |\n|---|');
    expect(plainMarkdownTable([], [[]])).toBe('|  |\n||\n|  |');
  });
});
