import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { LoopResult } from './closed-loop.ts';
import type { LoadJob, LoadMessage, LoadReply, StreamsJob } from './load.ts';

/** The measuring process's side of the load generator: one child process per job. */

const LOAD_ENTRY = fileURLToPath(new URL('./load.ts', import.meta.url));

function start(): ChildProcess {
  return fork(LOAD_ENTRY, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

async function reply(child: ChildProcess): Promise<LoadReply> {
  const exited = once(child, 'exit').then(([code]) => {
    throw new Error(`the load generator exited with ${String(code)}`);
  });
  return Promise.race([once(child, 'message').then(([message]) => message as LoadReply), exited]);
}

export async function runLoadJob(job: LoadJob): Promise<LoopResult> {
  const child = start();
  try {
    child.send({ job } satisfies LoadMessage);
    const answer = await reply(child);
    if ('error' in answer) throw new Error(answer.error);
    if (!('result' in answer)) throw new Error('the load generator answered something else');
    // NaN (no call answered) crosses the IPC channel as null.
    const result = answer.result;
    for (const key of ['p50Ms', 'p90Ms', 'p99Ms', 'meanMs'] as const) {
      const value: unknown = result[key];
      result[key] = typeof value === 'number' ? value : Number.NaN;
    }
    return result;
  } finally {
    child.kill();
  }
}

export interface HeldStreams {
  opened: number;
  failed: number;
  firstError?: string;
  close(): Promise<void>;
}

/** Opens idle SSE streams from a child process and holds them until `close()`. */
export async function holdStreams(job: StreamsJob): Promise<HeldStreams> {
  const child = start();
  child.send({ job } satisfies LoadMessage);
  const answer = await reply(child);
  const close = async (): Promise<void> => {
    if (child.exitCode !== null) return;
    const exited = once(child, 'exit');
    child.send({ close: true } satisfies LoadMessage);
    await exited;
  };
  if ('error' in answer || !('opened' in answer)) {
    child.kill();
    throw new Error('error' in answer ? answer.error : 'the load generator answered something else');
  }
  return { ...answer, close };
}
