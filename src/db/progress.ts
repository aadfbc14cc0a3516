/**
 * Progress of a statement while it runs, for a caller that wants to show it is still alive (the MCP
 * tool layer turns these reports into `notifications/progress`). Reports come every interval, the
 * first after one interval, so a fast statement reports nothing; they stop when the statement ends,
 * however it ends.
 */

export interface QueryProgress {
  /** Rows the driver has delivered so far (0 while the database is still computing). */
  rowsRead: number;
  /** Milliseconds since the statement started, whole. */
  elapsedMs: number;
}

export type ProgressListener = (progress: QueryProgress) => void;

export const DEFAULT_PROGRESS_INTERVAL_MS = 1000;

/**
 * Calls `listener` every `intervalMs` with `rowsRead()` and the time since `started` (a
 * `performance.now()` reading) until the returned function is called.
 */
export function watchProgress(
  listener: ProgressListener,
  intervalMs: number,
  started: number,
  rowsRead: () => number
): () => void {
  const timer = setInterval(() => {
    try {
      listener({ rowsRead: rowsRead(), elapsedMs: Math.round(performance.now() - started) });
    } catch {
      // A failing listener must not fail the query (a timer callback that throws would end the
      // process), nor be called again to fail once a second.
      clearInterval(timer);
    }
  }, intervalMs);
  // The statement itself keeps the process alive while it runs; the timer never needs to.
  timer.unref();
  return () => clearInterval(timer);
}
