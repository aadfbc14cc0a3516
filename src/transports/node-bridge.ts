import type { IncomingMessage, ServerResponse } from 'node:http';
import { toWebRequest } from '@modelcontextprotocol/node';

/**
 * Between Node's (req, res) and the web-standard Request/Response the MCP SDK speaks. The request's
 * signal aborts when the client goes away before the response is complete; that is how a 2026-07-28
 * client cancels a call (it closes the response stream).
 */

export interface BridgedRequest {
  request: Request;
  /** Aborted when the client disconnects before the response has been written. */
  closed: AbortSignal;
  /** Marks the response complete, so a later close is not a disconnect. */
  finished(): void;
}

export async function toBridgedRequest(
  req: IncomingMessage,
  res: ServerResponse,
  maxRequestBodySize: number
): Promise<BridgedRequest> {
  const abort = new AbortController();
  let done = false;
  res.on('close', () => {
    if (!done) abort.abort();
  });
  const request = await toWebRequest(req, undefined, { signal: abort.signal, maxRequestBodySize });
  return {
    request,
    closed: abort.signal,
    finished: () => {
      done = true;
    }
  };
}

/** Writes a web Response to Node, streaming its body with backpressure until the client goes away. */
export async function writeWebResponse(
  res: ServerResponse,
  response: Response,
  bridge: Pick<BridgedRequest, 'closed' | 'finished'>
): Promise<void> {
  const { closed } = bridge;
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  res.writeHead(response.status, headers);
  if (response.body === null) {
    bridge.finished();
    res.end();
    return;
  }
  const reader: ReadableStreamDefaultReader<Uint8Array> = response.body.getReader();
  const onClose = (): void => {
    void reader.cancel().catch(() => undefined);
  };
  closed.addEventListener('abort', onClose, { once: true });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done || closed.aborted) break;
      if (!res.write(value)) {
        await new Promise<void>(resolve => {
          const release = (): void => {
            res.off('drain', release);
            closed.removeEventListener('abort', release);
            resolve();
          };
          res.on('drain', release);
          closed.addEventListener('abort', release, { once: true });
        });
      }
    }
  } catch {
    // The stream ended because the client went away or the server is shutting down.
  } finally {
    closed.removeEventListener('abort', onClose);
    bridge.finished();
    res.end();
  }
}

export function jsonRpcError(status: number, code: number, message: string): Response {
  return Response.json({ jsonrpc: '2.0', error: { code, message }, id: null }, { status });
}
