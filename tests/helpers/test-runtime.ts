import type { DatabaseConfig } from '../../src/config/schema.ts';
import { createDialect } from '../../src/db/registry.ts';
import { DatabaseRuntime, type IdentityMapping } from '../../src/db/runtime.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { emptyDir } from './data-dir.ts';

/** The limits of a runtime built for a test: small caps, a 20-second deadline, one statement. */
export const TEST_LIMITS = {
  maxRows: 100,
  maxResultChars: 50_000,
  queryTimeoutMs: 20_000,
  maxStatements: 1,
  binaryPreviewBytes: 48
};

export interface TestRuntimeOptions {
  readOnly?: boolean;
  /** Overrides of TEST_LIMITS. */
  limits?: Partial<typeof TEST_LIMITS>;
  /** limits.maxRowBytes, when not its default. */
  maxRowBytes?: number;
  /** false: statements reach the engine as written, for tests whose subject is the driver. */
  statementGuard?: boolean;
  /** What is set into the database session for the caller (the environment's `identity`). */
  identity?: IdentityMapping;
}

/** The real dialect of `database` in a DatabaseRuntime (read-only unless told), logging nothing. */
export function testRuntime(database: DatabaseConfig, options: TestRuntimeOptions = {}): DatabaseRuntime {
  const readOnly = options.readOnly ?? true;
  const limits = { ...TEST_LIMITS, ...options.limits };
  return new DatabaseRuntime({
    environment: 'test',
    dialect: createDialect(
      {
        readOnly,
        database,
        limits: {
          ...limits,
          maxSampleRows: 10,
          ...(options.maxRowBytes === undefined ? {} : { maxRowBytes: options.maxRowBytes })
        }
      },
      { environment: 'test', dataDir: emptyDir(), logger: createLogger('silent') }
    ),
    readOnly,
    limits,
    ...(options.statementGuard === undefined ? {} : { statementGuard: options.statementGuard }),
    ...(options.identity === undefined ? {} : { identity: options.identity })
  });
}
