import type { AuditRecord } from './record.ts';

/**
 * Where audit records go. The trail hands a sink records in batches, off the request path, in the
 * order they happened; a sink writes the whole batch or throws (the trail then keeps the batch and
 * tries again, and reports the failure). A sink never drops a record by itself.
 */
export interface AuditSink {
  /** For logs and health: `file`, `log`, `sqlite`, `postgres`. */
  readonly name: string;
  /** Writes every record of the batch, in order, or throws. */
  write(records: readonly AuditRecord[]): Promise<void>;
  close(): Promise<void>;
}
