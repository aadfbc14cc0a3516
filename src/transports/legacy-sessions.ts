import { randomUUID } from 'node:crypto';
import {
  WebStandardStreamableHTTPServerTransport,
  isInitializeRequest,
  type AuthInfo,
  type McpServerFactory
} from '@modelcontextprotocol/server';
import { JSON_RPC, jsonRpcError } from '../http/json-rpc-errors.ts';

/**
 * Sessions for 2025-era clients (Mcp-Session-Id, MCP 2025-06-18 "Session Management"). A session
 * keeps one server instance, so a client's `notifications/cancelled` reaches the call it cancels,
 * and its GET stream carries what the server sends outside a request. Sessions live in memory, are
 * capped in number and end after an idle period; a session id is useless to anyone but the caller
 * who opened it. A 2025 request that carries no session (and is not an initialize) is served
 * statelessly.
 */

export interface LegacySessionOptions {
  factory: McpServerFactory;
  maxSessions: number;
  idleTimeoutMs: number;
  keepAliveMs: number;
  /** Serves a 2025 request that belongs to no session, per request. */
  stateless: (request: Request, handling: RequestHandling) => Promise<Response>;
}

/** What the HTTP layer already knows about a request: its parsed body and the verified caller. */
export interface RequestHandling {
  parsedBody?: unknown;
  authInfo?: AuthInfo;
}

interface Session {
  transport: WebStandardStreamableHTTPServerTransport;
  /** Who opened it: a later request must come from the same caller. */
  owner: string;
  lastUsed: number;
}

export class LegacySessions {
  private readonly options: LegacySessionOptions;
  private readonly sessions = new Map<string, Session>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(options: LegacySessionOptions) {
    this.options = options;
    this.sweeper = setInterval(() => void this.expire(), Math.min(options.idleTimeoutMs, 60_000));
    this.sweeper.unref();
  }

  get size(): number {
    return this.sessions.size;
  }

  async handle(request: Request, handling: RequestHandling): Promise<Response> {
    const owner = ownerOf(handling.authInfo);
    const id = request.headers.get('mcp-session-id');
    if (id !== null) {
      const session = this.sessions.get(id);
      if (session?.owner !== owner) return Response.json(jsonRpcError(-32001, 'Session not found'), { status: 404 });
      session.lastUsed = Date.now();
      return session.transport.handleRequest(request, handling);
    }
    if (request.method === 'POST' && isInitializeRequest(handling.parsedBody))
      return this.open(request, owner, handling);
    if (request.method !== 'POST') {
      return Response.json(
        jsonRpcError(JSON_RPC.serverError, 'Method not allowed: open a session with initialize first'),
        { status: 405, headers: { allow: 'POST' } }
      );
    }
    return this.options.stateless(request, handling);
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    const sessions = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.allSettled(sessions.map(session => session.transport.close()));
  }

  private async open(request: Request, owner: string, handling: RequestHandling): Promise<Response> {
    if (this.sessions.size >= this.options.maxSessions) await this.evictOldest();
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      keepAliveMs: this.options.keepAliveMs,
      onsessioninitialized: id => {
        this.sessions.set(id, { transport, owner, lastUsed: Date.now() });
      },
      onsessionclosed: id => {
        this.sessions.delete(id);
      }
    });
    const server = await this.options.factory({
      era: 'legacy',
      ...(handling.authInfo === undefined ? {} : { authInfo: handling.authInfo }),
      requestInfo: request
    });
    await server.connect(transport);
    return transport.handleRequest(request, handling);
  }

  private async expire(): Promise<void> {
    const cutoff = Date.now() - this.options.idleTimeoutMs;
    for (const [id, session] of this.sessions) {
      if (session.lastUsed < cutoff) {
        this.sessions.delete(id);
        await session.transport.close().catch(() => undefined);
      }
    }
  }

  private async evictOldest(): Promise<void> {
    let oldest: [string, Session] | undefined;
    for (const entry of this.sessions)
      if (oldest === undefined || entry[1].lastUsed < oldest[1].lastUsed) oldest = entry;
    if (oldest === undefined) return;
    this.sessions.delete(oldest[0]);
    await oldest[1].transport.close().catch(() => undefined);
  }
}

/** Who a request comes from: the OAuth client and user, or anyone (without OAuth). */
export function ownerOf(authInfo: AuthInfo | undefined): string {
  if (authInfo === undefined) return 'anonymous';
  const subject = (authInfo.extra?.['sub'] as string | undefined) ?? '';
  return `${authInfo.clientId}\u0000${subject}`;
}
