import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { request, type Agent } from 'node:https';

/** HTTPS requests to a loopback TLS server whose certificate is for `localhost`, with node:https only. */

export interface HttpsTarget {
  port: number;
  /** PEM of the server's certificate, the only one trusted. */
  ca: string;
}

export interface HttpsRequest {
  path: string;
  method?: string;
  headers?: Record<string, string | number>;
  body?: string;
  agent?: Agent;
  timeoutMs?: number;
}

export interface HttpsResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

function send(target: HttpsTarget, options: HttpsRequest): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      servername: 'localhost',
      port: target.port,
      ca: target.ca,
      path: options.path,
      method: options.method ?? 'GET',
      headers: { host: 'localhost', ...options.headers },
      agent: options.agent ?? false,
      timeout: options.timeoutMs ?? 5_000
    });
    req.once('timeout', () => req.destroy(new Error(`no response to ${options.path} in time`)));
    req.once('error', reject);
    req.once('response', resolve);
    req.end(options.body);
  });
}

/** One request, its whole response. */
export async function httpsRequest(target: HttpsTarget, options: HttpsRequest): Promise<HttpsResponse> {
  const response = await send(target, options);
  response.setEncoding('utf8');
  let body = '';
  for await (const chunk of response) body += chunk as string;
  return { status: response.statusCode ?? 0, headers: response.headers, body };
}

/** A response read as it arrives: each chunk with the time it came, milliseconds after the request was sent. */
export interface StreamingResponse {
  status: number;
  headers: IncomingHttpHeaders;
  chunks: { atMs: number; text: string }[];
  text(): string;
  /** Resolves once the text received so far satisfies `done`; rejects after `timeoutMs`. */
  waitFor(done: (text: string) => boolean, timeoutMs: number): Promise<void>;
  ended: Promise<void>;
  close(): void;
}

export async function openStream(target: HttpsTarget, options: HttpsRequest): Promise<StreamingResponse> {
  const sentAt = Date.now();
  const response = await send(target, { timeoutMs: 30_000, ...options });
  response.setEncoding('utf8');
  const chunks: { atMs: number; text: string }[] = [];
  const text = () => chunks.map(chunk => chunk.text).join('');
  const waiters = new Set<() => void>();
  response.on('data', (chunk: string) => {
    chunks.push({ atMs: Date.now() - sentAt, text: chunk });
    for (const waiter of waiters) waiter();
  });
  const ended = new Promise<void>((resolve, reject) => {
    response.once('end', resolve);
    response.once('error', reject);
  });
  ended.catch(() => undefined);
  return {
    status: response.statusCode ?? 0,
    headers: response.headers,
    chunks,
    text,
    ended,
    close: () => response.destroy(),
    waitFor(done, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!done(text())) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`stream did not deliver in ${timeoutMs} ms; got: ${JSON.stringify(text())}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    }
  };
}
