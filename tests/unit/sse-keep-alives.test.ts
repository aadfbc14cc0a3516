import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { InFlightCalls } from '../../src/http/in-flight.ts';
import { SseSession, type SseEndpoint } from '../../src/transports/sse-session.ts';

/**
 * Keep-alive comments of idle HTTP+SSE streams come from one timer shared by every stream, not a
 * timer per stream: each stream still gets one comment per interval, the first within one interval
 * of its opening; streams opened at different moments get theirs at different moments; and once the
 * last stream ends no timer is left.
 */

const INTERVAL_MS = 1600;

const endpoint: SseEndpoint = {
  environment: 'demo',
  messagesPath: '/demo/messages',
  keepAliveMs: INTERVAL_MS,
  inFlight: new InFlightCalls(),
  serve: () => Promise.resolve(),
  onEnd: () => undefined
};

/** Opens a session and records the time (fake clock) of every keep-alive comment it sends. */
function openRecorded(): { session: SseSession; comments: number[] } {
  const session = new SseSession(endpoint, { owner: 'someone' });
  const comments: number[] = [];
  const reader = session.body.getReader();
  const decoder = new TextDecoder();
  void (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      if (decoder.decode(value).startsWith(': keep-alive')) comments.push(Date.now());
    }
  })();
  session.open();
  return { session, comments };
}

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});

afterEach(() => {
  vi.useRealTimers();
});

describe('keep-alive comments of idle event streams', () => {
  it('sends each stream one comment per interval, the first within one interval of its opening', async () => {
    await vi.advanceTimersByTimeAsync(250);
    const { session, comments } = openRecorded();
    await vi.advanceTimersByTimeAsync(3 * INTERVAL_MS);
    expect(comments).toHaveLength(3);
    expect(comments[0]! - 250).toBeGreaterThan(0);
    expect(comments[0]! - 250).toBeLessThanOrEqual(INTERVAL_MS);
    expect(comments[1]! - comments[0]!).toBe(INTERVAL_MS);
    expect(comments[2]! - comments[1]!).toBe(INTERVAL_MS);
    await session.close();
  });

  it('spreads the comments of streams opened at different moments over the interval', async () => {
    const streams = [];
    for (let i = 0; i < 16; i++) {
      streams.push(openRecorded());
      await vi.advanceTimersByTimeAsync(INTERVAL_MS / 16);
    }
    await vi.advanceTimersByTimeAsync(2 * INTERVAL_MS);
    const firstTimes = streams.map(stream => stream.comments[0]);
    expect(streams.every(stream => stream.comments.length >= 2)).toBe(true);
    expect(new Set(firstTimes).size).toBeGreaterThanOrEqual(8);
    for (const stream of streams) await stream.session.close();
  });

  it('holds one timer for many streams, and none once the last stream has ended', async () => {
    const before = vi.getTimerCount();
    const streams = Array.from({ length: 50 }, () => openRecorded());
    expect(vi.getTimerCount() - before).toBe(1);
    for (const stream of streams) await stream.session.close();
    expect(vi.getTimerCount()).toBe(before);
    await vi.advanceTimersByTimeAsync(2 * INTERVAL_MS);
    expect(streams.every(stream => stream.comments.length === 0)).toBe(true);
  });
});
