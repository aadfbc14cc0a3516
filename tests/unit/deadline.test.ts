import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { Deadline } from '../../src/db/deadline.ts';

describe('Deadline', () => {
  it('aborts with a TimeoutError when the time is up, and says it timed out', async () => {
    const deadline = new Deadline(20);
    expect(deadline.signal.aborted).toBe(false);
    await sleep(60);
    expect(deadline.signal.aborted).toBe(true);
    expect((deadline.signal.reason as DOMException).name).toBe('TimeoutError');
    expect(deadline.timedOut).toBe(true);
    deadline.end();
  });

  it("aborts with the caller's reason when the caller cancels first, and does not say it timed out", async () => {
    const caller = new AbortController();
    const deadline = new Deadline(30, caller.signal);
    const reason = new Error('client went away');
    caller.abort(reason);
    expect(deadline.signal.aborted).toBe(true);
    expect(deadline.signal.reason).toBe(reason);
    await sleep(60);
    expect(deadline.timedOut).toBe(false);
    deadline.end();
  });

  it('is aborted from the start when the caller already cancelled', () => {
    const caller = new AbortController();
    caller.abort(new Error('gone'));
    const deadline = new Deadline(1000, caller.signal);
    expect(deadline.signal.aborted).toBe(true);
    deadline.end();
  });

  it('holds nothing once ended: neither its timer nor the caller abort it any more', async () => {
    const caller = new AbortController();
    const deadline = new Deadline(20, caller.signal);
    deadline.end();
    await sleep(60);
    caller.abort(new Error('late'));
    expect(deadline.signal.aborted).toBe(false);
    expect(deadline.timedOut).toBe(false);
  });
});
