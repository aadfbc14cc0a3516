import { describe, expect, it } from 'vitest';
import { progressMessage } from '../../src/mcp/progress.ts';

describe('progressMessage', () => {
  it('says how long the query has run and how many rows it has read', () => {
    expect(progressMessage({ elapsedMs: 3400, rowsRead: 12_345 })).toBe(
      'Query running for 3 s; 12,345 rows read so far'
    );
    expect(progressMessage({ elapsedMs: 125_900, rowsRead: 1 })).toBe('Query running for 125 s; 1 row read so far');
  });

  it('gives tenths of a second below one second, where whole seconds would say 0', () => {
    expect(progressMessage({ elapsedMs: 300, rowsRead: 0 })).toBe('Query running for 0.3 s; 0 rows read so far');
  });
});
