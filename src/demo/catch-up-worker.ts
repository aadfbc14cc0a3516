import { DatabaseSync } from 'node:sqlite';
import { parentPort, workerData } from 'node:worker_threads';
import { DemoGenerator } from './generator.ts';

/**
 * The demo's live feed off the main thread: each message asks it to add what happened up to now;
 * it answers with what it added, or with the error. The generator keeps its plans of open orders
 * between messages, as it does in-process.
 */

export type CatchUpAnswer =
  { ok: { from: number; to: number; orders: number; ms: number } } | { error: string; stack?: string };

const port = parentPort;
if (port === null) throw new Error('catch-up-worker.ts runs as a worker thread');
const { path } = workerData as { path: string };
const db = new DatabaseSync(path, { timeout: 10_000, enableForeignKeyConstraints: true });
const generator = new DemoGenerator(db);

port.on('message', () => {
  const started = performance.now();
  let answer: CatchUpAnswer;
  try {
    answer = { ok: { ...generator.extendTo(Date.now()), ms: Math.round(performance.now() - started) } };
  } catch (error) {
    answer =
      error instanceof Error
        ? { error: error.message, ...(error.stack === undefined ? {} : { stack: error.stack }) }
        : { error: String(error) };
  }
  port.postMessage(answer);
});
port.on('close', () => db.close());
