import type { HttpCaller } from './http-caller.ts';
import type { Call } from './workloads.ts';

/**
 * `count` checked calls over `concurrency` clients, each client sending the next call of `calls` (in
 * turn, from the first) as soon as its last one is answered. The first wrong answer rejects.
 */
export async function driveCalls(
  caller: HttpCaller,
  calls: readonly Call[],
  concurrency: number,
  count: number
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      while (next < count) {
        const id = next++;
        await caller.call(worker, calls[id % calls.length]!, id + 1);
      }
    })
  );
}
