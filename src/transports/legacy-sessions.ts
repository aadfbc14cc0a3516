import { randomUUID } from 'node:crypto';
import {
  WebStandardStreamableHTTPServerTransport,
  isInitializeRequest,
  type AuthInfo,
  type McpServerFactory
} from '@modelcontextprotocol/server';
import { jsonRpcError } from './node-bridge.ts';

/**
 * Sessions for 2025-era clients (Mcp-Session-Id, MCP 2025-06-18 "Session Management"). A session
 * keeps one server instance, so a client's `notifications/cancelled` reaches the call it cancels,
 * which per-request serving cannot do. Sessions live in memory, are capped in number and end after
 * an idle period; a session id is useless to anyone but the caller who opened it. A 2025 request
 * that carries no session (and is not an initialize) is served statelessly, as before.
 */

export interface LegacySessionOptions {
  factory: McpServerFactory;
  maxSessions: number;
  idleTimeoutMs: number;
  maxRequestBodySize: number;
  /** Serves a 2025 request that belongs to no session, per request. */
  stateless: (request: Request, authInfo: AuthInfo | undefined) => Promise<Response>;
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

  async handle(request: Request, authInfo: AuthInfo | undefined): Promise<Response> {
    const owner = ownerOf(authInfo);
    const id = request.headers.get('mcp-session-id');
    if (id !== null) {
      const session = this.sessions.get(id);
      if (session?.owner !== owner) return jsonRpcError(404, -32001, 'Session not found');
      session.lastUsed = Date.now();
      return session.transport.handleRequest(request, authInfo === undefined ? {} : { authInfo });
    }
    if (request.method === 'POST' && isInitializeRequest(await bodyOf(request)))
      return this.open(request, owner, authInfo);
    if (request.method !== 'POST')
      return jsonRpcError(405, -32000, 'Method not allowed: open a session with initialize first');
    return this.options.stateless(request, authInfo);
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    const sessions = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.allSettled(sessions.map(session => session.transport.close()));
  }

  private async open(request: Request, owner: string, authInfo: AuthInfo | undefined): Promise<Response> {
    if (this.sessions.size >= this.options.maxSessions) await this.evictOldest();
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      maxRequestBodySize: this.options.maxRequestBodySize,
      onsessioninitialized: id => {
        this.sessions.set(id, { transport, owner, lastUsed: Date.now() });
      },
      onsessionclosed: id => {
        this.sessions.delete(id);
      }
    });
    const server = await this.options.factory({
      era: 'legacy',
      ...(authInfo === undefined ? {} : { authInfo }),
      requestInfo: request
    });
    await server.connect(transport);
    return transport.handleRequest(request, authInfo === undefined ? {} : { authInfo });
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

function ownerOf(authInfo: AuthInfo | undefined): string {
  if (authInfo === undefined) return 'anonymous';
  const subject = (authInfo.extra?.['sub'] as string | undefined) ?? '';
  return `${authInfo.clientId}\u0000${subject}`;
}

async function bodyOf(request: Request): Promise<unknown> {
  try {
    return await request.clone().json();
  } catch {
    return undefined;
  }
}
