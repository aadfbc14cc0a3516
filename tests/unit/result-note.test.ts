import { describe, expect, it } from 'vitest';
import { databaseSchema } from '../../src/config/schema.ts';
import type { QueryOutcome } from '../../src/db/runtime.ts';
import { createDialect } from '../../src/db/registry.ts';
import { toResultSet } from '../../src/mcp/result-schema.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { emptyDir } from '../helpers/data-dir.ts';

/** The note of a capped result tells the model how to page in its engine's SQL: T-SQL has no LIMIT. */

const LIMITS = {
  maxRows: 1000,
  maxResultChars: 50_000,
  queryTimeoutMs: 1000,
  maxStatements: 1,
  binaryPreviewBytes: 48
};

const DATABASES = {
  sqlite: { engine: 'sqlite', path: '/nonexistent/never-opened.sqlite' },
  postgres: { engine: 'postgres', url: 'postgres://reader@127.0.0.1:5432/test' },
  mysql: { engine: 'mysql', url: 'mysql://reader@127.0.0.1:3306/test' },
  mssql: { engine: 'mssql', connectionString: 'Server=db.example.com;User Id=reader;Password=secret' }
} as const;

function pagingOf(engine: keyof typeof DATABASES): string {
  const dialect = createDialect(
    { readOnly: true, database: databaseSchema.parse(DATABASES[engine]), limits: { maxSampleRows: 100, ...LIMITS } },
    { environment: 'notes', dataDir: emptyDir(), logger: createLogger('silent') }
  );
  return dialect.paging;
}

function capped(truncated: 'max_rows' | 'max_chars'): QueryOutcome {
  return {
    columns: [{ name: 'i', type: 'int' }],
    rows: [[1]],
    rowCount: 1000,
    rowsRead: 1001,
    truncated,
    elapsedMs: 5,
    statements: 1
  };
}

describe('the note of a capped result', () => {
  it.each(['sqlite', 'postgres', 'mysql'] as const)('%s: pages with LIMIT/OFFSET', engine => {
    const paging = pagingOf(engine);
    expect(toResultSet(capped('max_rows'), LIMITS, paging).note).toBe(
      'Only the first 1000 rows are shown: the query matched more than the 1000-row limit. Aggregate, filter, or page with LIMIT/OFFSET to see the rest.'
    );
    expect(toResultSet(capped('max_chars'), LIMITS, paging).note).toBe(
      'Only the first 1000 rows are shown: the result reached the 50,000-character limit. Select fewer or narrower columns, aggregate, or page with LIMIT/OFFSET.'
    );
  });

  it('mssql: pages with OFFSET … FETCH after an ORDER BY, or TOP, and never LIMIT', () => {
    const paging = pagingOf('mssql');
    for (const truncated of ['max_rows', 'max_chars'] as const) {
      const note = toResultSet(capped(truncated), LIMITS, paging).note ?? '';
      expect(note).toContain('ORDER BY … OFFSET n ROWS FETCH NEXT m ROWS ONLY');
      expect(note).toContain('TOP (n)');
      expect(note).not.toContain('LIMIT');
    }
  });

  it('says that no paging helps when the first row alone is over the character limit', () => {
    const outcome: QueryOutcome = { ...capped('max_chars'), rows: [], rowCount: 0, rowsRead: 1 };
    expect(toResultSet(outcome, LIMITS, pagingOf('postgres')).note).toBe(
      'No rows are shown: the first row alone is longer than the 50,000-character limit. Select fewer columns, or parts of the long values (a substring, a length).'
    );
  });

  it('names no syntax when it does not know the engine', () => {
    const note = toResultSet(capped('max_rows'), LIMITS).note ?? '';
    expect(note).toContain('Aggregate, filter, or page through it to see the rest.');
    expect(note).not.toContain('LIMIT');
  });
});

describe('the note of a result of several statements, or of a write', () => {
  it('keeps saying that several statements ran when the last one is capped', () => {
    const note = toResultSet({ ...capped('max_rows'), statements: 2 }, LIMITS, pagingOf('postgres')).note ?? '';
    expect(note).toContain("2 statements ran; the rows are the last one's.");
    expect(note).toContain('Only the first 1000 rows are shown');
  });

  it.each(['max_rows', 'max_chars'] as const)(
    'tells that a capped write ran in full and must not be run again to page (%s)',
    truncated => {
      const note = toResultSet(capped(truncated), LIMITS, pagingOf('postgres'), true).note ?? '';
      expect(note).toContain('The statement ran in full; only the first 1000 of the rows it returned are shown');
      expect(note).toContain('Do not run it again');
      expect(note).not.toContain('LIMIT/OFFSET');
    }
  );
});
