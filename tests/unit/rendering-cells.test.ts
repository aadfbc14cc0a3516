import { describe, expect, it } from 'vitest';
import { cell, plainMarkdownTable } from '../../src/mcp/rendering.ts';

describe('table cells', () => {
  it.each([
    ['plain text', 'plain text'],
    ['a|b', 'a\\|b'],
    ['back\\slash', 'back\\\\slash'],
    ['two\nlines', 'two\\nlines'],
    ['crlf\r\nline', 'crlf\\nline'],
    ['lone\rreturn', 'lone\rreturn'],
    ['all \\ | \n', 'all \\\\ \\| \\n']
  ])('renders %j as %j', (value, expected) => {
    expect(cell(value)).toBe(expected);
  });

  it('renders NULL, numbers and booleans', () => {
    expect(cell(null)).toBe('NULL');
    expect(cell(undefined)).toBe('NULL');
    expect(cell(42)).toBe('42');
    expect(cell(true)).toBe('true');
  });

  it('keeps a value with a separator inside its own column', () => {
    const table = plainMarkdownTable(['a', 'b'], [['x|y', 'z']]);
    expect(table.split('\n')[2]).toBe('| x\\|y | z |');
  });
});
