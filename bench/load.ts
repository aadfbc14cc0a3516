import { closedLoop, type LoopResult } from './closed-loop.ts';
import { httpCaller, type HttpTarget } from './http-caller.ts';
import { treeCpuSeconds } from './process-cpu.ts';
import { rawCaller, type RawTarget } from './raw.ts';
import { openIdleStreams } from './sse-streams.ts';
import type { Call } from './workloads.ts';

/**
 * The load generator, run as a child process of its own (`fork`) so that the client's CPU is not
 * the measuring process's. It receives one job over IPC, runs it, and sends its result back.
 */

export interface LoadJob {
  kind: 'http' | 'raw';
  http?: HttpTarget;
  raw?: RawTarget;
  calls: Call[];
  capped: boolean;
  concurrency: number;
  durationMs: number;
  warmupMs: number;
  /** The server process, whose CPU time (with its children's) is read over the measured window. */
  serverPid?: number;
}

export interface StreamsJob {
  kind: 'sse';
  /** e.g. http://127.0.0.1:8008/pg/sse */
  url: string;
  count: number;
}

export type LoadMessage = { job: LoadJob | StreamsJob } | { close: true };
export type LoadReply =
  { result: LoopResult } | { opened: number; failed: number; firstError?: string } | { error: string };

async function runLoad(job: LoadJob): Promise<LoopResult> {
  let call: (worker: number, n: number) => Promise<void>;
  let close: () => Promise<void>;
  const pick = (n: number): Call => job.calls[n % job.calls.length]!;
  if (job.kind === 'http' && job.http !== undefined) {
    const caller = await httpCaller(job.http, job.concurrency);
    call = (worker, n) => caller.call(worker, pick(n), n + 1);
    close = () => caller.close();
  } else if (job.raw !== undefined) {
    const caller = rawCaller(job.raw, job.concurrency, job.capped);
    call = (worker, n) => caller.call(worker, pick(n));
    close = () => caller.close();
  } else {
    throw new Error('a load job names its target');
  }
  try {
    const { serverPid } = job;
    return await closedLoop(
      serverPid === undefined ? job : { ...job, serverCpuSeconds: () => treeCpuSeconds(serverPid) },
      call
    );
  } finally {
    await close();
  }
}

const send = (reply: LoadReply): void => {
  process.send?.(reply);
};

let closeStreams: (() => Promise<void>) | undefined;

process.on('message', (message: LoadMessage) => {
  if ('close' in message) {
    void (closeStreams?.() ?? Promise.resolve()).then(() => process.exit(0));
    return;
  }
  const { job } = message;
  const work =
    job.kind === 'sse'
      ? openIdleStreams(job.url, job.count).then(streams => {
          closeStreams = () => streams.close();
          send({
            opened: streams.opened,
            failed: streams.failed,
            ...(streams.firstError === undefined ? {} : { firstError: streams.firstError })
          });
        })
      : runLoad(job).then(result => send({ result }));
  work.catch((error: unknown) =>
    send({ error: error instanceof Error ? (error.stack ?? error.message) : String(error) })
  );
});
