import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AuditRecord } from '../../src/audit/record.ts';
import type { AuditSink } from '../../src/audit/sink.ts';
import { AuditTrail } from '../../src/audit/trail.ts';
import { createLogger } from '../../src/observability/logger.ts';

/** A sink that keeps what it is given and fails while told to, as a full disk or a dropped table would. */
class ControlledSink implements AuditSink {
  readonly name = 'controlled';
  readonly written: AuditRecord[] = [];
  batches = 0;
  failure: Error | undefined;
  closed = false;

  async write(records: readonly AuditRecord[]): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    this.batches++;
    this.written.push(...records);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/** A sink whose writes each wait until the test lets them finish, as a slow disk would. */
class HeldSink extends ControlledSink {
  private readonly held: (() => void)[] = [];
  /** Resolves once a write is waiting. */
  private waiting: (() => void) | undefined;

  override async write(records: readonly AuditRecord[]): Promise<void> {
    await new Promise<void>(resolve => {
      this.held.push(resolve);
      this.waiting?.();
    });
    await super.write(records);
  }

  /** Waits until a write is held, then lets it finish. */
  async release(): Promise<void> {
    if (this.held.length === 0) await new Promise<void>(resolve => (this.waiting = resolve));
    this.held.shift()?.();
  }
}

function trail(sinks: AuditSink[], maxPending = 1000): AuditTrail {
  // A long interval: the tests flush when they choose.
  return new AuditTrail(sinks, { flushIntervalMs: 60_000, maxPending, logger: createLogger('silent') });
}

const entry = (n: number): Parameters<AuditTrail['record']>[0] => ({
  event: 'tool.called',
  outcome: 'ok',
  environment: 'prod',
  tool: `t${n}`
});

/** A trail on a held sink: t1 recorded, `begin` called (a flush or the close), then t2 recorded while that batch is held. */
function duringHeldBatch(begin: (audit: AuditTrail) => Promise<void>): {
  sink: HeldSink;
  audit: AuditTrail;
  begun: Promise<void>;
} {
  const sink = new HeldSink();
  const audit = trail([sink]);
  audit.record(entry(1));
  const begun = begin(audit);
  audit.record(entry(2));
  return { sink, audit, begun };
}

describe('audit trail', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('stamps each record with a unique id and the time, and writes them in order, in one batch', async () => {
    const sink = new ControlledSink();
    const audit = trail([sink]);
    for (let n = 0; n < 5; n++) audit.record(entry(n));
    await audit.flush();
    expect(sink.written.map(r => r.tool)).toEqual(['t0', 't1', 't2', 't3', 't4']);
    expect(sink.batches).toBe(1);
    expect(new Set(sink.written.map(r => r.id)).size).toBe(5);
    for (const record of sink.written) {
      expect(record.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(Date.parse(record.time)).not.toBeNaN();
    }
    await audit.close();
  });

  it('keeps records while a sink fails, reports it, and writes them once it recovers', async () => {
    const failing = new ControlledSink();
    const fine = new ControlledSink();
    const audit = trail([failing, fine]);
    failing.failure = new Error('ENOSPC: no space left on device');
    audit.record(entry(1));
    await audit.flush(true);
    expect(audit.healthy).toBe(false);
    expect(audit.health().sinks[0]).toMatchObject({
      healthy: false,
      pending: 1,
      error: 'ENOSPC: no space left on device'
    });
    // The other sink is not held back.
    expect(fine.written.map(r => r.tool)).toEqual(['t1']);
    audit.record(entry(2));
    failing.failure = undefined;
    await audit.flush(true);
    expect(audit.healthy).toBe(true);
    expect(failing.written.map(r => r.tool)).toEqual(['t1', 't2']);
    expect(audit.health().sinks[0]).toMatchObject({ healthy: true, pending: 0, lost: 0 });
    await audit.close();
  });

  it('drops the oldest records beyond maxPending, counts them, and writes the count into the trail', async () => {
    const sink = new ControlledSink();
    const audit = trail([sink], 3);
    sink.failure = new Error('table is gone');
    for (let n = 0; n < 5; n++) audit.record(entry(n));
    await audit.flush(true);
    expect(audit.health().sinks[0]).toMatchObject({ pending: 3, lost: 2 });
    sink.failure = undefined;
    await audit.flush(true);
    const [loss, ...rest] = sink.written;
    expect(loss).toMatchObject({ event: 'audit.records_lost', detail: { sink: 'controlled', records: 2 } });
    expect(rest.map(r => r.tool)).toEqual(['t2', 't3', 't4']);
    await audit.close();
  });

  it('waits before retrying a failing sink, unless forced', async () => {
    const sink = new ControlledSink();
    let now = 1_000_000;
    const audit = new AuditTrail([sink], {
      flushIntervalMs: 100,
      maxPending: 100,
      logger: createLogger('silent'),
      now: () => now
    });
    sink.failure = new Error('down');
    audit.record(entry(1));
    await audit.flush();
    sink.failure = undefined;
    // Within the pause: not retried.
    await audit.flush();
    expect(sink.written).toHaveLength(0);
    now += 150;
    await audit.flush();
    expect(sink.written.map(r => r.tool)).toEqual(['t1']);
    await audit.close();
  });

  it('leaves what is recorded while a batch is written for the next flush', async () => {
    const { sink, audit, begun } = duringHeldBatch(held => held.flush());
    await sink.release();
    await begun;
    expect(sink.written.map(r => r.tool)).toEqual(['t1']);
    expect(audit.health().sinks[0]?.pending).toBe(1);
    const next = audit.flush();
    await sink.release();
    await next;
    expect(sink.written.map(r => r.tool)).toEqual(['t1', 't2']);
    expect(sink.batches).toBe(2);
  });

  it('a flush called while a batch is written waits for it, then writes what was recorded before the call', async () => {
    const { sink, audit, begun } = duringHeldBatch(held => held.flush());
    let done = false;
    const second = audit.flush().then(() => (done = true));
    await sink.release();
    await begun;
    expect(done).toBe(false);
    await sink.release();
    await second;
    expect(sink.written.map(r => r.tool)).toEqual(['t1', 't2']);
  });

  it('writes one batch per interval under a steady load, not one after another', async () => {
    vi.useFakeTimers();
    const sink = new ControlledSink();
    const slowWrite = sink.write.bind(sink);
    // Each write takes 5 ms, so back-to-back batches would be about 200 a second.
    sink.write = async records => {
      await new Promise(resolve => setTimeout(resolve, 5));
      await slowWrite(records);
    };
    const audit = new AuditTrail([sink], { flushIntervalMs: 250, maxPending: 100_000, logger: createLogger('silent') });
    for (let ms = 0; ms < 1000; ms++) {
      audit.record(entry(ms));
      await vi.advanceTimersByTimeAsync(1);
    }
    // The batch the tick at 1000 ms began.
    await vi.advanceTimersByTimeAsync(10);
    // Ticks at 250, 500, 750 and 1000 ms.
    expect(sink.batches).toBe(4);
    expect(sink.written).toHaveLength(1000);
    expect(sink.written.map(r => r.tool)).toEqual(Array.from({ length: 1000 }, (_, n) => `t${n}`));
    const closing = audit.close();
    await vi.runAllTimersAsync();
    await closing;
  });

  it('writes everything when it closes, including what is recorded while its last batch is written', async () => {
    const { sink, begun } = duringHeldBatch(held => held.close());
    await sink.release();
    await sink.release();
    await begun;
    expect(sink.written.map(r => r.tool)).toEqual(['t1', 't2']);
    expect(sink.closed).toBe(true);
  });

  it('writes what is pending when it closes, closes its sinks, and takes no records after', async () => {
    const sink = new ControlledSink();
    const audit = trail([sink]);
    audit.record(entry(1));
    await audit.close();
    expect(sink.written.map(r => r.tool)).toEqual(['t1']);
    expect(sink.closed).toBe(true);
    audit.record(entry(2));
    await audit.flush(true);
    expect(sink.written).toHaveLength(1);
  });
});
