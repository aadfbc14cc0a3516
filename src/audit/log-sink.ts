import type { Logger } from '../observability/logger.ts';
import type { AuditRecord } from './record.ts';
import type { AuditSink } from './sink.ts';

/**
 * The audit trail in the structured log: each record one info line, message "audit", its fields
 * under `audit` (so a log pipeline can route them apart from the rest). `audit.log` is asked for
 * explicitly, and a sink never drops a record by itself: with `logLevel` above info the audit lines
 * are still written (a child logger at info), only the rest of the info lines are not. The logger is
 * the server's; this sink does not close it.
 */
export class LogAuditSink implements AuditSink {
  readonly name = 'log';
  private readonly logger: Logger;

  constructor(logger: Logger) {
    this.logger = logger.isLevelEnabled('info') ? logger : logger.child({}, { level: 'info' });
  }

  async write(records: readonly AuditRecord[]): Promise<void> {
    for (const record of records) this.logger.info({ audit: record }, 'audit');
  }

  async close(): Promise<void> {
    // The logger outlives the trail.
  }
}
