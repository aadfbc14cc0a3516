import { connect } from 'node:net';
import {
  auth,
  SSEClientTransport,
  type OAuthClientProvider,
  type StoredOAuthTokens,
  type Transport
} from '@modelcontextprotocol/client';
import { Agent } from 'undici';
import { signIn, TestOAuthProvider, type Credentials } from './oauth-login.ts';

/**
 * Event streams and HTTP seen byte by byte: a reader for a server-sent event stream opened with
 * fetch (each event and comment as it arrives, with its arrival time), a raw HTTP exchange over a
 * TCP socket, and tokens obtained through the client SDK's OAuth flow for a chosen endpoint.
 */

export interface SseFrame {
  /** The text of a comment line (`: keep-alive` gives `keep-alive`). */
  comment?: string;
  event?: string;
  data?: string;
  /** When the frame was complete (performance.now()). */
  at: number;
}

/** Reads an event stream frame by frame; every wait is bounded. */
export class EventStreamReader {
  readonly response: Response;
  private readonly onClose: () => Promise<void>;
  private readerOfBody: ReadableStreamDefaultReader<Uint8Array> | undefined;
  private readonly decoder = new TextDecoder();
  private readonly frames: SseFrame[] = [];
  private buffer = '';
  private done = false;
  private endedAt: number | undefined;
  private pending: Promise<void> | undefined;

  constructor(response: Response, onClose: () => Promise<void> = async () => undefined) {
    this.response = response;
    this.onClose = onClose;
  }

  /** The body's reader, taken at the first read (until then the body can be read as a whole). */
  private get reader(): ReadableStreamDefaultReader<Uint8Array> {
    if (this.response.body === null) throw new Error('the response has no body');
    this.readerOfBody ??= this.response.body.getReader();
    return this.readerOfBody;
  }

  /** The next frame, or undefined when the stream ended first. */
  async next(timeoutMs = 5_000): Promise<SseFrame | undefined> {
    const deadline = performance.now() + timeoutMs;
    while (this.frames.length === 0 && !this.done) {
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`no event within ${timeoutMs} ms`);
      await this.readOnce(left);
    }
    return this.frames.shift();
  }

  /** The next frame that is an event (comments skipped). */
  async nextEvent(timeoutMs = 5_000): Promise<SseFrame | undefined> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const frame = await this.next(Math.max(1, deadline - performance.now()));
      if (frame === undefined || frame.event !== undefined || frame.data !== undefined) return frame;
    }
  }

  /** Every frame received until `ms` have passed (the stream may end sooner). */
  async collect(ms: number): Promise<SseFrame[]> {
    const deadline = performance.now() + ms;
    const seen: SseFrame[] = [];
    while (!this.done) {
      const left = deadline - performance.now();
      if (left <= 0) break;
      if (this.frames.length === 0) await this.readOnce(left, false);
      seen.push(...this.frames.splice(0));
    }
    seen.push(...this.frames.splice(0));
    return seen;
  }

  /** Waits for the end of the stream; when it ended (performance.now()). */
  async ended(timeoutMs: number): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    while (!this.done) {
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`the stream did not end within ${timeoutMs} ms`);
      await this.readOnce(left, false);
      this.frames.splice(0);
    }
    return this.endedAt ?? performance.now();
  }

  get isDone(): boolean {
    return this.done;
  }

  /** Closes the stream from the client's side: its connection is closed. */
  async close(): Promise<void> {
    this.done = true;
    if (this.readerOfBody !== undefined) await this.readerOfBody.cancel().catch(() => undefined);
    else if (!this.response.bodyUsed) await this.response.body?.cancel().catch(() => undefined);
    await this.onClose();
  }

  private async readOnce(timeoutMs: number, throwOnTimeout = true): Promise<void> {
    this.pending ??= this.reader.read().then(
      ({ done, value }) => {
        this.pending = undefined;
        if (done) {
          this.finish();
          return;
        }
        this.push(this.decoder.decode(value, { stream: true }));
      },
      () => {
        this.pending = undefined;
        this.finish();
      }
    );
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>(resolve => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const outcome = await Promise.race([this.pending.then(() => 'read' as const), timedOut]);
    clearTimeout(timer);
    if (outcome === 'timeout' && throwOnTimeout) throw new Error(`no event within ${Math.round(timeoutMs)} ms`);
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.endedAt = performance.now();
  }

  private push(text: string): void {
    this.buffer += text;
    let end = this.buffer.indexOf('\n\n');
    while (end !== -1) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      const frame: SseFrame = { at: performance.now() };
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) frame.comment = line.slice(1).trim();
        else if (line.startsWith('event:')) frame.event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(line.startsWith('data: ') ? 6 : 5));
      }
      if (data.length > 0) frame.data = data.join('\n');
      this.frames.push(frame);
      end = this.buffer.indexOf('\n\n');
    }
  }
}

/**
 * GET `url` as an event stream, on a connection of its own that closing the reader closes (fetch's
 * shared pool would keep it, and a server shutting down would wait for it). Whatever the status:
 * the reader (close it in every case), and how long the headers took (ms).
 */
export async function requestStream(
  url: string,
  headers: Record<string, string> = {}
): Promise<{ stream: EventStreamReader; headersMs: number }> {
  const agent = new Agent();
  const started = performance.now();
  // Only the wait for the headers is bounded here; the stream itself lives until closed.
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 10_000);
  try {
    const init = { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal, dispatcher: agent };
    const response = await fetch(url, init);
    return { stream: new EventStreamReader(response, () => agent.destroy()), headersMs: performance.now() - started };
  } catch (error) {
    await agent.destroy();
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** Opens `url` as an event stream that must be accepted (200). */
export async function openEventStream(
  url: string,
  headers: Record<string, string> = {}
): Promise<{ stream: EventStreamReader; headersMs: number }> {
  const opened = await requestStream(url, headers);
  const { response } = opened.stream;
  if (response.status !== 200) {
    const text = await response.text();
    await opened.stream.close();
    throw new Error(`GET ${url} answered ${response.status}: ${text}`);
  }
  return opened;
}

/** The JSON-RPC message an event carries. */
export function eventMessage(frame: SseFrame | undefined): Record<string, unknown> {
  if (frame?.data === undefined) throw new Error(`not a message event: ${JSON.stringify(frame)}`);
  return JSON.parse(frame.data) as Record<string, unknown>;
}

/** What the tests use of the SDK's SSE client transport. */
export interface LegacySseTransport extends Transport {
  finishAuth(callbackParams: URLSearchParams): Promise<void>;
}

/**
 * The official SDK's client of the HTTP+SSE transport (MCP 2024-11-05). The SDK marks it deprecated
 * in favour of Streamable HTTP; it is what the original guide's clients speak, so it is under test.
 */
export function legacySseTransport(url: string, authProvider?: OAuthClientProvider): LegacySseTransport {
  // eslint-disable-next-line @typescript-eslint/no-deprecated
  return new SSEClientTransport(new URL(url), authProvider === undefined ? {} : { authProvider });
}

/**
 * Sends `request` (raw HTTP/1.1 text) on a new TCP connection and returns every byte the server
 * sent until it closed the connection. Fails if the server has not closed it within `timeoutMs`.
 */
export async function rawHttp(baseUrl: string, request: string, timeoutMs = 5_000): Promise<Buffer> {
  const url = new URL(baseUrl);
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect({ host: url.hostname, port: Number(url.port) }, () => socket.end(request));
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new Error(
          `the server kept the connection open beyond ${timeoutMs} ms; received:\n${Buffer.concat(chunks).toString('latin1')}`
        )
      );
    }, timeoutMs);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', error => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
  });
}

/** An HTTP/1.1 request head (no body). */
export function requestHead(
  method: string,
  path: string,
  baseUrl: string,
  headers: Record<string, string> = {}
): string {
  const lines = [`${method} ${path} HTTP/1.1`, `Host: ${new URL(baseUrl).host}`];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/**
 * HEAD `path`, with a GET /healthz pipelined behind it on the same connection (then closed): the
 * HEAD's status line and headers, and every byte that followed them. A HEAD answered without a
 * body is followed directly by the GET's status line; one that holds the connection times out.
 */
export async function headOnRawSocket(
  baseUrl: string,
  path: string,
  headers: Record<string, string> = {}
): Promise<{ head: string; after: string }> {
  const bytes = await rawHttp(
    baseUrl,
    requestHead('HEAD', path, baseUrl, headers) + requestHead('GET', '/healthz', baseUrl, { Connection: 'close' })
  );
  const text = bytes.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  if (end === -1) throw new Error(`no complete answer to HEAD ${path}:\n${text}`);
  return { head: text.slice(0, end), after: text.slice(end + 4) };
}

/** Tokens for `endpoint` (`<base>/<env>/mcp` or `/sse`), through the client SDK's OAuth flow and a real sign-in. */
export async function tokensFor(endpoint: string, credentials: Credentials): Promise<StoredOAuthTokens> {
  const provider = new TestOAuthProvider(url => signIn(url, credentials));
  if ((await auth(provider, { serverUrl: endpoint })) !== 'REDIRECT') throw new Error('expected a sign-in');
  const callback = provider.callback;
  if (callback === undefined) throw new Error('the client was never sent to sign in');
  const result = await auth(provider, {
    serverUrl: endpoint,
    authorizationCode: callback.searchParams.get('code') ?? '',
    iss: callback.searchParams.get('iss') ?? ''
  });
  const tokens = provider.tokens();
  if (result !== 'AUTHORIZED' || tokens === undefined) throw new Error(`no token for ${endpoint}`);
  return tokens;
}
