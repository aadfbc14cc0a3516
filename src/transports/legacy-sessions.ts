import {
  LATEST_PROTOCOL_VERSION,
  SUPPORTED_PROTOCOL_VERSIONS,
  WebStandardStreamableHTTPServerTransport,
  isInitializeRequest,
  type AuthInfo,
  type McpServerFactory
} from '@modelcontextprotocol/server';
import type { Cluster } from '../cluster/cluster.ts';
import { JSON_RPC, jsonRpcError } from '../http/json-rpc-errors.ts';
import { randomId } from '../ids.ts';

/**
 * Sessions for 2025-era clients (Mcp-Session-Id, MCP 2025-06-18 "Session Management"). A session
 * keeps one server instance, so a client's `notifications/cancelled` reaches the call it cancels,
 * and its GET stream carries what the server sends outside a request. Sessions live in memory, are
 * capped in number and end after an idle period; a session id is useless to anyone but the caller
 * who opened it. A 2025 request that carries no session (and is not an initialize) is served
 * statelessly.
 *
 * Replicas behind a load balancer share the sessions' directory (the cluster, in Redis): a request
 * for a session another replica opened, from the caller who opened it, is served here statelessly,
 * as the session's first request would have been, and a DELETE ends it where it lives. Only a
 * cancellation needs the replica running the call: one that lands elsewhere finds nothing to stop,
 * and the call ends at its timeout. The directory's entry expires after the idle period, counted
 * from the last use on any replica.
 */

/** The one caller there is without OAuth. */
const ANONYMOUS = 'anonymous';

export interface LegacySessionOptions {
  environment: string;
  cluster: Cluster;
  factory: McpServerFactory;
  maxSessions: number;
  /** Sessions one signed-in caller keeps; without OAuth (one anonymous caller), only maxSessions applies. */
  maxSessionsPerUser?: number;
  idleTimeoutMs: number;
  keepAliveMs: number;
  /** Serves a 2025 request that belongs to no session, per request. */
  stateless: (request: Request, handling: RequestHandling) => Promise<Response>;
  /**
   * Whether the token a session's GET stream was opened with still stands (absent without OAuth):
   * asked every keepAliveMs while the stream is open, which ends when it does not.
   */
  stillValid?: (auth: AuthInfo) => Promise<boolean>;
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
  /** Whom it counts against for `maxSessionsPerUser` (see holderOf). */
  holder: string;
  lastUsed: number;
  /** The order of its last use among all sessions' (two uses may fall in the same millisecond). */
  useOrder: number;
  /** When the cluster's directory last heard of it from this replica. */
  registeredAt: number;
  /** Ends its GET stream when the token that opened the stream expires. */
  streamExpiry?: NodeJS.Timeout;
  /** Asks, while its GET stream is open, whether the token that opened it still stands. */
  streamCheck?: NodeJS.Timeout;
  /** The protocol revision the client asked for in its initialize (the SDK answers with it when it knows it). */
  protocolVersion: string;
}

const notFound = (): Response => Response.json(jsonRpcError(-32001, 'Session not found'), { status: 404 });

/** What a 2025-era request without the MCP-Protocol-Version header is taken to speak (MCP 2025-06-18). */
const UNDECLARED_VERSION = '2025-03-26';

/**
 * MCP 2025-06-18 removed JSON-RPC batching: a batch posted under that revision or a later one is
 * refused (one error per call, see answerEveryCall), where 2025-03-26 and earlier serve it. A
 * session's revision is the one it negotiated; a request without one, the one it declares.
 */
function batchRefusal(body: unknown, protocolVersion: string): Response | undefined {
  if (!Array.isArray(body) || protocolVersion < '2025-06-18') return undefined;
  return Response.json(
    jsonRpcError(
      JSON_RPC.invalidRequest,
      `Invalid Request: JSON-RPC batches are not part of MCP ${protocolVersion}; send each message in a request of its own`
    ),
    { status: 400 }
  );
}

/** The revision a request declares; one the SDK does not know is left for it to refuse, in its words. */
function declaredVersion(request: Request): string {
  const declared = request.headers.get('mcp-protocol-version');
  return declared !== null && SUPPORTED_PROTOCOL_VERSIONS.includes(declared) ? declared : UNDECLARED_VERSION;
}

export class LegacySessions {
  private readonly options: LegacySessionOptions;
  private readonly sessions = new Map<string, Session>();
  private readonly sweeper: NodeJS.Timeout;
  private uses = 0;

  constructor(options: LegacySessionOptions) {
    this.options = options;
    this.sweeper = setInterval(() => void this.expire(), Math.min(options.idleTimeoutMs, 60_000));
    this.sweeper.unref();
    options.cluster.on('session.closed', message => {
      const session = this.sessions.get(message.sessionId);
      if (session?.owner !== message.owner) return;
      this.forget(message.sessionId);
      void session.transport.close().catch(() => undefined);
    });
  }

  get size(): number {
    return this.sessions.size;
  }

  async handle(request: Request, handling: RequestHandling): Promise<Response> {
    const owner = ownerOf(handling.authInfo);
    const id = request.headers.get('mcp-session-id');
    if (id !== null) {
      const session = this.sessions.get(id);
      if (session === undefined) return this.elsewhere(id, request, owner, handling);
      if (session.owner !== owner) return notFound();
      const refusal = batchRefusal(handling.parsedBody, session.protocolVersion);
      if (refusal !== undefined) return refusal;
      this.touch(id, session);
      const response = await session.transport.handleRequest(request, handling);
      if (request.method === 'GET' && response.ok) this.watchStream(session, handling.authInfo);
      return response;
    }
    if (request.method === 'POST' && isInitializeRequest(handling.parsedBody))
      return this.open(request, owner, holderOf(handling.authInfo), handling);
    if (request.method !== 'POST') {
      return Response.json(
        jsonRpcError(JSON_RPC.serverError, 'Method not allowed: open a session with initialize first'),
        { status: 405, headers: { allow: 'POST' } }
      );
    }
    return batchRefusal(handling.parsedBody, declaredVersion(request)) ?? this.options.stateless(request, handling);
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    const sessions = [...this.sessions.values()];
    for (const session of sessions) stopWatching(session);
    this.sessions.clear();
    await Promise.allSettled(sessions.map(session => session.transport.close()));
  }

  private async open(request: Request, owner: string, holder: string, handling: RequestHandling): Promise<Response> {
    // A caller at their own limit gives up their own oldest session; otherwise the oldest of all goes.
    const perUser = holder === ANONYMOUS ? undefined : this.options.maxSessionsPerUser;
    if (perUser !== undefined && this.held(holder) >= perUser) await this.evictOldest(holder);
    else if (this.sessions.size >= this.options.maxSessions) await this.evictOldest();
    const protocolVersion = requestedVersion(handling.parsedBody);
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: randomId,
      keepAliveMs: this.options.keepAliveMs,
      onsessioninitialized: async id => {
        const now = Date.now();
        this.sessions.set(id, {
          transport,
          owner,
          holder,
          lastUsed: now,
          useOrder: ++this.uses,
          registeredAt: now,
          protocolVersion
        });
        // Before the client has its id, so that its next request finds the session on any replica.
        await this.register(id, owner);
      },
      onsessionclosed: async id => {
        this.forget(id);
        await this.unregister(id);
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

  /**
   * A session this replica does not hold: served here when the directory says its caller opened it
   * on another replica (or on this one, before an idle sweep), refused as unknown otherwise.
   */
  private async elsewhere(id: string, request: Request, owner: string, handling: RequestHandling): Promise<Response> {
    const { cluster, environment, idleTimeoutMs } = this.options;
    if (!cluster.shared) return notFound();
    const entry = await cluster.lookup(id, idleTimeoutMs);
    if (entry?.kind !== 'mcp' || entry.environment !== environment || entry.owner !== owner) return notFound();
    if (request.method === 'DELETE') {
      await cluster.unregister(id);
      await cluster.send(entry.replica, { type: 'session.closed', sessionId: id, owner });
      return new Response(null, { status: 200 });
    }
    if (request.method !== 'POST') {
      // The stream of messages outside requests lives on the replica holding the session; the
      // client may live without it (MCP 2025-06-18, "Listening for Messages from the Server").
      return Response.json(
        jsonRpcError(JSON_RPC.serverError, 'Method not allowed: this replica holds no stream for the session'),
        { status: 405, headers: { allow: 'POST, DELETE' } }
      );
    }
    return batchRefusal(handling.parsedBody, declaredVersion(request)) ?? this.options.stateless(request, handling);
  }

  /** A local session used: its idle clock restarts, here and (now and then) in the directory. */
  private touch(id: string, session: Session): void {
    const now = Date.now();
    session.lastUsed = now;
    session.useOrder = ++this.uses;
    if (now - session.registeredAt < this.options.idleTimeoutMs / 4) return;
    session.registeredAt = now;
    void this.register(id, session.owner);
  }

  private async register(id: string, owner: string): Promise<void> {
    const { cluster, environment, idleTimeoutMs } = this.options;
    if (!cluster.shared) return;
    await cluster.register(id, { kind: 'mcp', environment, owner }, idleTimeoutMs).catch(() => undefined);
  }

  private async unregister(id: string): Promise<void> {
    if (!this.options.cluster.shared) return;
    await this.options.cluster.unregister(id).catch(() => undefined);
  }

  /**
   * Ends the sessions idle here. One in the directory stays there until its own idle period ends:
   * the client may be using it through another replica.
   */
  private async expire(): Promise<void> {
    const cutoff = Date.now() - this.options.idleTimeoutMs;
    for (const [id, session] of this.sessions) {
      if (session.lastUsed < cutoff) {
        this.forget(id);
        await session.transport.close().catch(() => undefined);
      }
    }
  }

  /** Drops a session from this replica's table (its transport is closed by the caller). */
  private forget(id: string): void {
    const session = this.sessions.get(id);
    if (session === undefined) return;
    stopWatching(session);
    this.sessions.delete(id);
  }

  /**
   * A session's GET stream (what the server sends outside a request) ends when the token it was
   * opened with expires, as a legacy SSE stream does, and when that token no longer stands (its
   * grant revoked, its user disabled or removed), asked every keepAliveMs: every request is checked,
   * but a stream once open would otherwise stay open for as long as the session lives. The client
   * opens it again with a token that stands. A session holds one such stream at a time.
   */
  private watchStream(session: Session, authInfo: AuthInfo | undefined): void {
    stopWatching(session);
    if (authInfo === undefined) return;
    const end = (): void => {
      stopWatching(session);
      session.transport.closeStandaloneSSEStream();
    };
    if (authInfo.expiresAt !== undefined) {
      session.streamExpiry = setTimeout(end, Math.max(0, authInfo.expiresAt * 1000 - Date.now()));
      session.streamExpiry.unref();
    }
    const stillValid = this.options.stillValid;
    if (stillValid === undefined) return;
    session.streamCheck = setInterval(() => {
      void stillValid(authInfo).then(valid => {
        if (!valid) end();
      });
    }, this.options.keepAliveMs);
    session.streamCheck.unref();
  }

  private held(holder: string): number {
    let count = 0;
    for (const session of this.sessions.values()) if (session.holder === holder) count++;
    return count;
  }

  /** Closes the least recently used session, of `holder` when given. */
  private async evictOldest(holder?: string): Promise<void> {
    let oldest: [string, Session] | undefined;
    for (const entry of this.sessions) {
      if (holder !== undefined && entry[1].holder !== holder) continue;
      if (oldest === undefined || entry[1].useOrder < oldest[1].useOrder) oldest = entry;
    }
    if (oldest === undefined) return;
    this.forget(oldest[0]);
    await this.unregister(oldest[0]);
    await oldest[1].transport.close().catch(() => undefined);
  }
}

/** The revision an initialize asks for; one the SDK does not know is answered with its latest 2025 one. */
function requestedVersion(initialize: unknown): string {
  const asked = (initialize as { params?: { protocolVersion?: unknown } }).params?.protocolVersion;
  return typeof asked === 'string' && SUPPORTED_PROTOCOL_VERSIONS.includes(asked) ? asked : LATEST_PROTOCOL_VERSION;
}

function stopWatching(session: Session): void {
  clearTimeout(session.streamExpiry);
  clearInterval(session.streamCheck);
  session.streamExpiry = undefined;
  session.streamCheck = undefined;
}

/**
 * Whom a session or stream counts against for the per-user caps: the user, whichever OAuth client
 * they use (each sign-in can register a client of its own, so a cap per client and user would let
 * one user hold as many as they register clients, pushing everyone else's out); anyone without OAuth.
 */
export function holderOf(authInfo: AuthInfo | undefined): string {
  if (authInfo === undefined) return ANONYMOUS;
  const subject = (authInfo.extra?.['sub'] as string | undefined) ?? '';
  return `user\u0000${subject}`;
}

/** Who a request comes from: the OAuth client and user, or anyone (without OAuth). */
export function ownerOf(authInfo: AuthInfo | undefined): string {
  if (authInfo === undefined) return ANONYMOUS;
  const subject = (authInfo.extra?.['sub'] as string | undefined) ?? '';
  return `${authInfo.clientId}\u0000${subject}`;
}
