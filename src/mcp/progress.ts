import type { ProgressNotificationParams, ServerContext } from '@modelcontextprotocol/server';
import type { ProgressListener, QueryProgress } from '../db/progress.ts';
import type { Logger } from '../observability/logger.ts';
import { plural } from './rendering.ts';

/**
 * Progress notifications for a tool call whose request asked for them, per the MCP "Progress"
 * utility (https://modelcontextprotocol.io/specification/2025-11-25/basic/utilities/progress): a
 * client that wants them puts a `progressToken` in the request's `_meta`, and only then does the
 * server send `notifications/progress` carrying that token. They show a person that a long query
 * is alive, and keep a client that resets its timeout on progress waiting for it. Built on the
 * request context, so every transport (Streamable HTTP, HTTP+SSE, stdio) behaves the same.
 */

/**
 * A listener that sends each report of a running query as `notifications/progress`, or undefined
 * when the request carries no progress token (the server may only send progress for a token it
 * was given).
 */
export function progressNotifier(
  context: ServerContext,
  logger: Logger,
  logContext: Record<string, unknown> = {}
): ProgressListener | undefined {
  const progressToken = context.mcpReq._meta?.progressToken;
  if (progressToken === undefined) return undefined;
  let last = 0;
  let sending = false;

  const send = async (params: ProgressNotificationParams): Promise<void> => {
    try {
      await context.mcpReq.notify({ method: 'notifications/progress', params });
    } catch (error) {
      // The client went away or its stream closed: that is no reason to fail the query.
      logger.debug({ ...logContext, err: error, progressToken }, 'progress notification not delivered');
    } finally {
      sending = false;
    }
  };

  return report => {
    // "The progress value MUST increase with each notification, even if the total is unknown":
    // elapsed seconds do; a report that would not is dropped. No `total`, since how many rows a
    // query will return is unknown until it ends.
    const progress = report.elapsedMs / 1000;
    // One notification in flight at a time, so that a client that stopped reading does not pile them up.
    if (progress <= last || sending) return;
    last = progress;
    sending = true;
    // Not awaited: the query never waits for the client.
    void send({ progressToken, progress, message: progressMessage(report) });
  };
}

/** e.g. "Query running for 3 s; 12,345 rows read so far". */
export function progressMessage({ rowsRead, elapsedMs }: QueryProgress): string {
  const seconds = elapsedMs / 1000;
  // The whole seconds it has run at least; tenths below one, where a whole number would read "0 s".
  const duration = seconds < 1 ? seconds.toFixed(1) : Math.floor(seconds).toLocaleString('en-US');
  return `Query running for ${duration} s; ${plural(rowsRead, 'row', 'rows')} read so far`;
}
