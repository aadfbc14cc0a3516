import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';

/**
 * A real HTTP server standing in for sqlbridge behind nginx: it records every request it receives and answers by
 * the last segment of the path, so it behaves the same whether nginx removed an environment prefix or not.
 *
 * - GET …/sse and GET …/mcp: an event stream, `event: endpoint` at once, then `: keep-alive` every 300 ms until the
 *   client leaves. Unlike sqlbridge it sends no X-Accel-Buffering, so a stream that flows proves nginx's settings.
 * - POST …/mcp: a slow answer as an event stream: one event at once, the last one 500 ms later, then the end.
 * - POST …/messages: 202, as the legacy transport answers.
 * - anything else, /.well-known/… included: JSON naming the request.
 * Every answer carries the security headers sqlbridge sends.
 */

export interface RecordedRequest {
  method: string;
  path: string;
  /** The query string with its `?`, or ''. */
  query: string;
  headers: IncomingHttpHeaders;
  /** The upstream connection's client port: the same port twice means nginx reused a keep-alive connection. */
  remotePort: number;
}

export interface RecordingUpstream {
  /** host:port, as an nginx upstream `server`. */
  address: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

export const UPSTREAM_SECURITY_HEADERS = {
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'"
} as const;

function eventStream(response: ServerResponse): void {
  response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
  response.write('event: endpoint\ndata: /messages?sessionId=s1\n\n');
  const keepAlive = setInterval(() => response.write(': keep-alive\n\n'), 300);
  response.once('close', () => clearInterval(keepAlive));
}

function slowAnswer(response: ServerResponse): void {
  response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
  response.write('event: message\ndata: {"progress":1}\n\n');
  const timer = setTimeout(() => response.end('event: message\ndata: {"result":2}\n\n'), 500);
  response.once('close', () => clearTimeout(timer));
}

export async function startRecordingUpstream(): Promise<RecordingUpstream> {
  const requests: RecordedRequest[] = [];
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://upstream');
    requests.push({
      method: request.method ?? '',
      path: url.pathname,
      query: url.search,
      headers: request.headers,
      remotePort: request.socket.remotePort ?? 0
    });
    request.resume();
    for (const [name, value] of Object.entries(UPSTREAM_SECURITY_HEADERS)) response.setHeader(name, value);
    const last = url.pathname.startsWith('/.well-known/') ? 'metadata' : url.pathname.split('/').pop();
    if ((last === 'sse' || last === 'mcp') && request.method === 'GET') {
      eventStream(response);
    } else if (last === 'mcp' && request.method === 'POST') {
      slowAnswer(response);
    } else if (last === 'messages' && request.method === 'POST') {
      response.writeHead(202).end();
    } else {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ method: request.method, path: url.pathname }));
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return {
    address: `127.0.0.1:${port}`,
    requests,
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    }
  };
}
