import {
  ProtocolError,
  ProtocolErrorCode,
  ResourceNotFoundError,
  type ServerContext
} from '@modelcontextprotocol/server';
import { randomBytes } from 'node:crypto';
import type { TableDescription, TableRef, TableSummary } from '../../db/introspector.ts';
import type { Caller, QueryOptions } from '../../db/runtime.ts';
import type { Environment } from '../../environment.ts';
import { isSqlbridgeError } from '../../errors/sqlbridge-error.ts';
import { takeQuerySlot, type QuerySlot } from '../../http/limits/concurrent-queries.ts';
import type { Logger } from '../../observability/logger.ts';
import { callerOf, recordCall, refuseWhileAuditFails } from '../call-audit.ts';
import { callerMessage } from '../tool-error.ts';

/**
 * The catalog as the caller of a resource or completion request may see it: the runtime runs it under
 * the caller's database role, so a table the role cannot read is absent, exactly like a missing one.
 */
export class CallerCatalog {
  private readonly environment: Environment;
  private readonly logger: Logger;

  constructor(environment: Environment, logger: Logger) {
    this.environment = environment;
    this.logger = logger;
  }

  /** The tables and views the caller may read, in the catalog's order. */
  async tables(ctx: ServerContext, purpose: string): Promise<TableSummary[]> {
    return this.audited(ctx, purpose, caller => this.environment.db.listTables(this.options(ctx, caller)));
  }

  /** The description of one table the caller may read; any other answers "resource not found". */
  async describe(ctx: ServerContext, table: TableRef, uri: string): Promise<TableDescription> {
    return this.audited(ctx, 'resources/read', async caller => {
      const readable = await this.environment.db.listTables(this.options(ctx, caller));
      if (!readable.some(t => t.schema === table.schema && t.name === table.name)) throw new ResourceNotFoundError(uri);
      // Quoted as the dialect quotes, so that the name resolves to this table whatever it holds.
      const adapter = this.environment.db.adapter;
      const name = `${adapter.quoteIdentifier(table.schema)}.${adapter.quoteIdentifier(table.name)}`;
      try {
        return await this.environment.db.describeTable(name, this.options(ctx, caller));
      } catch (error) {
        if (isSqlbridgeError(error) && error.code === 'table_not_found') throw new ResourceNotFoundError(uri);
        throw error;
      }
    });
  }

  /**
   * Runs one request's catalog reads as a tool call runs: refused while the environment's audit trail
   * must block and cannot write, holding one of the caller's running-query places
   * (`rateLimits.maxConcurrentQueriesPerUser`: catalog reads take connections from the same pool, and
   * a batch of them would otherwise hold it all), and recorded (`catalog.read`) with the caller, how it
   * ended and why.
   */
  private async audited<T>(ctx: ServerContext, purpose: string, work: (caller: Caller) => Promise<T>): Promise<T> {
    const caller = callerOf(ctx, purpose);
    const started = performance.now();
    let slot: QuerySlot | undefined;
    try {
      refuseWhileAuditFails(this.environment);
      slot = takeQuerySlot(this.environment, caller, this.logger);
      const result = await work(caller);
      recordCall(this.environment, 'catalog.read', caller, started);
      return result;
    } catch (error) {
      recordCall(this.environment, 'catalog.read', caller, started, error);
      if (error instanceof ResourceNotFoundError) throw error;
      throw this.protocolError(error, purpose);
    } finally {
      slot?.release();
    }
  }

  private options(ctx: ServerContext, caller: Caller): QueryOptions {
    return { signal: ctx.mcpReq.signal, caller };
  }

  /**
   * A failure as the client may see it: an error meant for callers (no role, rate limit) keeps its
   * message; anything else becomes a reference the operator finds in the log, never a driver message.
   */
  private protocolError(error: unknown, purpose: string): ProtocolError {
    if (isSqlbridgeError(error) && error.expose) {
      this.logger.info({ errorClass: error.code, request: purpose }, error.message);
      const callerMistake = error.code === 'access_denied' || error.code === 'invalid_argument';
      return new ProtocolError(
        callerMistake ? ProtocolErrorCode.InvalidRequest : ProtocolErrorCode.InternalError,
        callerMistake ? error.message : callerMessage(error)
      );
    }
    const reference = randomBytes(4).toString('hex');
    this.logger.error({ err: error, reference, request: purpose }, 'reading the catalog failed');
    return new ProtocolError(ProtocolErrorCode.InternalError, `internal error (reference ${reference})`);
  }
}
