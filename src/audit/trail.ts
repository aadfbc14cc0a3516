import { randomId } from '../ids.ts';
import type { Logger } from '../observability/logger.ts';
import { isoTime } from '../observability/iso-time.ts';
import type { AuditRecord } from './record.ts';
import type { AuditSink } from './sink.ts';

/**
 * The audit trail: records are taken synchronously on the request path (an object pushed onto a
 * queue) and written by each sink in batches off it, in order. A sink that fails keeps its batch
 * and tries again with a growing pause (at most `MAX_RETRY_MS`), and the trail reports it: one
 * warning when it starts failing, one when it recovers, and `healthy` false meanwhile (environments
 * with `audit.onFailure: block` then refuse queries). Records pile up per sink up to `maxPending`;
 * beyond that the oldest are dropped and counted, never silently: the count is logged, kept in
 * `health()`, and written to the trail itself as an `audit.records_lost` record once the sink
 * writes again.
 */

export interface AuditTrailOptions {
  flushIntervalMs: number;
  maxPending: number;
  logger: Logger;
  /** The clock of record times (tests pin it). */
  now?: () => number;
}

export type AuditEntry = Omit<AuditRecord, 'id' | 'time'>;

export interface SinkHealth {
  name: string;
  healthy: boolean;
  /** Records waiting to be written. */
  pending: number;
  /** Records dropped since the start because the sink could not keep them. */
  lost: number;
  /** Why the last write failed, while it is failing. */
  error?: string;
}

export interface AuditHealth {
  healthy: boolean;
  sinks: SinkHealth[];
}

const MAX_BATCH = 500;
const MAX_RETRY_MS = 5000;

class SinkQueue {
  readonly sink: AuditSink;
  pending: AuditRecord[] = [];
  /** Records ever queued: the first `taken - pending.length` of them have left the queue (written or dropped). */
  taken = 0;
  lost = 0;
  /** Lost records not yet reported in the trail. */
  unreported = 0;
  failing: string | undefined;
  retryAt = 0;
  failures = 0;
  writing: Promise<void> | undefined;
  /** The record reporting `unreported`, reused while its count holds so that a retried batch carries the same one. */
  loss: AuditRecord | undefined;
  /** The batch being written, and how many of its records were counted as dropped meanwhile. */
  inFlight: ReadonlySet<AuditRecord> | undefined;
  droppedWhileWriting = 0;

  constructor(sink: AuditSink) {
    this.sink = sink;
  }
}

export class AuditTrail {
  private readonly queues: SinkQueue[];
  private readonly options: AuditTrailOptions;
  private readonly now: () => number;
  private readonly timer: NodeJS.Timeout;
  private closed = false;
  private readonly listeners = new Set<(record: AuditRecord) => void>();

  constructor(sinks: readonly AuditSink[], options: AuditTrailOptions) {
    this.queues = sinks.map(sink => new SinkQueue(sink));
    this.options = options;
    this.now = options.now ?? Date.now;
    this.timer = setInterval(() => this.tick(), options.flushIntervalMs);
    this.timer.unref();
  }

  /** Whether every sink is writing. */
  get healthy(): boolean {
    return this.queues.every(queue => queue.failing === undefined);
  }

  health(): AuditHealth {
    return {
      healthy: this.healthy,
      sinks: this.queues.map(queue => ({
        name: queue.sink.name,
        healthy: queue.failing === undefined,
        pending: queue.pending.length,
        lost: queue.lost,
        ...(queue.failing === undefined ? {} : { error: queue.failing })
      }))
    };
  }

  /**
   * Calls `listener` with every record taken from now on, synchronously in `record()` (metrics count
   * from the trail, so they agree with it). A listener that throws is logged and does not stop the
   * record. Returns the unsubscribe function.
   */
  onRecord(listener: (record: AuditRecord) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Takes a record: stamped with an id and the time now, written by every sink at its next flush. */
  record(entry: AuditEntry): AuditRecord {
    const record: AuditRecord = { id: randomId(), time: isoTime(this.now()), ...entry };
    for (const listener of this.listeners) {
      try {
        listener(record);
      } catch (error) {
        this.options.logger.error({ err: error, event: record.event }, 'audit record listener failed');
      }
    }
    if (this.closed) {
      this.options.logger.warn({ event: record.event }, 'audit record after the trail closed: not written');
      return record;
    }
    for (const queue of this.queues) {
      queue.pending.push(record);
      queue.taken++;
      const excess = queue.pending.length - this.options.maxPending;
      if (excess > 0) {
        const dropped = queue.pending.splice(0, excess);
        queue.lost += excess;
        queue.unreported += excess;
        // Records of the batch being written are lost only if that write fails.
        queue.droppedWhileWriting += dropped.filter(gone => queue.inFlight?.has(gone) === true).length;
      }
    }
    return record;
  }

  /**
   * Writes what every sink had pending when it was called, after the batch it may be writing (a
   * failing sink is retried only once its pause is over, unless forced).
   */
  async flush(force = false): Promise<void> {
    await Promise.all(this.queues.map(queue => this.drain(queue, force, queue.taken)));
  }

  /** Writes everything still pending (one last try for failing sinks) and closes the sinks. */
  async close(): Promise<void> {
    if (this.closed) return;
    clearInterval(this.timer);
    // Everything, including what is recorded while the last batches are written.
    await Promise.all(this.queues.map(queue => this.drain(queue, true, Number.POSITIVE_INFINITY)));
    this.closed = true;
    for (const queue of this.queues) {
      if (queue.pending.length > 0) {
        this.options.logger.error(
          { sink: queue.sink.name, records: queue.pending.length, lost: queue.lost },
          'audit records could not be written before the server stopped'
        );
      }
    }
    await Promise.allSettled(this.queues.map(queue => queue.sink.close()));
  }

  /**
   * Every interval, a sink not busy writing is given what it has pending. What is recorded while it
   * writes waits for the next interval: one batch per interval under a steady load, not one batch
   * after another, each with its own open, write, sync and close.
   */
  private tick(): void {
    for (const queue of this.queues) {
      if (queue.writing === undefined) void this.drain(queue, false, queue.taken);
    }
  }

  /** Writes the sink's records up to the `upTo`-th ever queued, once the batch it may be writing is done. */
  private async drain(queue: SinkQueue, force: boolean, upTo: number): Promise<void> {
    while (queue.writing !== undefined) await queue.writing;
    queue.writing = this.write(queue, force, upTo).finally(() => {
      queue.writing = undefined;
    });
    await queue.writing;
  }

  private async write(queue: SinkQueue, force: boolean, upTo: number): Promise<void> {
    if (!force && queue.failing !== undefined && this.now() < queue.retryAt) return;
    const due = (): boolean => queue.pending.length > 0 && queue.taken - queue.pending.length < upTo;
    while (due() || queue.unreported > 0) {
      // The loss report goes in front of the batch, never into the queue: dropping the oldest
      // records while this batch is written must not drop the report (and the count it carries).
      const loss = queue.unreported > 0 ? this.lossRecord(queue) : undefined;
      const records = queue.pending.slice(0, MAX_BATCH);
      const written = new Set(records);
      queue.inFlight = written;
      try {
        await queue.sink.write(loss === undefined ? records : [loss, ...records]);
      } catch (error) {
        queue.inFlight = undefined;
        queue.droppedWhileWriting = 0;
        this.failed(queue, error);
        return;
      }
      queue.inFlight = undefined;
      if (loss !== undefined) {
        queue.unreported -= Number(loss.detail?.['records'] ?? 0);
        queue.loss = undefined;
      }
      // Dropped from the queue while being written, yet written: not lost after all.
      queue.lost -= queue.droppedWhileWriting;
      queue.unreported -= queue.droppedWhileWriting;
      queue.droppedWhileWriting = 0;
      // Records dropped while this batch was being written went from the front of the queue.
      queue.pending = queue.pending.filter(record => !written.has(record));
      if (queue.failing !== undefined) {
        this.options.logger.warn({ sink: queue.sink.name, lost: queue.lost }, 'audit sink writing again');
        queue.failing = undefined;
        queue.failures = 0;
      }
    }
  }

  private failed(queue: SinkQueue, error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    if (queue.failing === undefined) {
      this.options.logger.error(
        { sink: queue.sink.name, error: message, pending: queue.pending.length },
        'audit sink failed; its records are kept and written when it recovers'
      );
    }
    queue.failing = message;
    queue.failures++;
    queue.retryAt = this.now() + Math.min(MAX_RETRY_MS, this.options.flushIntervalMs * 2 ** (queue.failures - 1));
  }

  private lossRecord(queue: SinkQueue): AuditRecord {
    if (queue.loss?.detail?.['records'] === queue.unreported) return queue.loss;
    this.options.logger.error(
      { sink: queue.sink.name, records: queue.unreported, lost: queue.lost },
      'audit records were dropped: the sink could not keep up while it was failing'
    );
    queue.loss = {
      id: randomId(),
      time: isoTime(this.now()),
      event: 'audit.records_lost',
      outcome: 'failed',
      errorClass: 'audit_overflow',
      detail: { sink: queue.sink.name, records: queue.unreported }
    };
    return queue.loss;
  }
}
