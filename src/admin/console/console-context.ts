import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuditEntry, AuditTrail } from '../../audit/trail.ts';
import type { AuthorizationServers } from '../../auth/authorization-servers.ts';
import { ADMIN_SCOPE, permits, type User } from '../../auth/server/users.ts';
import { htmlPageHeaders } from '../../http/security-headers.ts';
import type { Administration, AdminActor } from '../admin-types.ts';
import type { AdminSession, AdminSessions } from './admin-sessions.ts';
import { ConsoleCookies } from './console-cookies.ts';
import { CONSOLE_STYLE_HASH } from './console-layout.ts';

/**
 * What the console's routes share: the running authorization servers (users, throttle, store), the
 * administration engine, sessions, the audit trail, and identity providers when federation is
 * configured.
 */

/** The part of the federated sign-in the console uses (src/auth/federation). */
export interface AdminFederation {
  /** Providers offered on the admin sign-in (no environment). */
  providersFor(environment?: string): { id: string; name: string }[];
  /** Where the providers' sign-in pages are: a form answered by a redirect there needs them in `form-action`. */
  formActionOrigins(environment?: string): string[];
  /** Sends the browser to the provider; the sign-in comes back to the handler given to `onComplete('admin')`. */
  begin(
    request: FastifyRequest,
    reply: FastifyReply,
    providerId: string,
    purpose: { kind: 'admin' }
  ): Promise<FastifyReply>;
  onComplete(
    kind: 'admin',
    handler: (request: FastifyRequest, reply: FastifyReply, done: { user: User; provider: string }) => Promise<unknown>
  ): void;
}

export interface ConsoleContext {
  servers: AuthorizationServers;
  administration: Administration;
  sessions: AdminSessions;
  audit: AuditTrail | undefined;
  federation: AdminFederation | undefined;
}

/** A request whose session belongs to a current administrator. */
export interface SignedIn {
  session: AdminSession;
  user: User;
}

/** The user, when they may use the console now: known, not disabled, holding `sqlbridge:admin` (theirs or a group's). */
export function administrator(context: ConsoleContext, username: string): User | undefined {
  const user = context.servers.users.find(username);
  return user !== undefined && !user.disabled && permits(user, ADMIN_SCOPE) ? user : undefined;
}

/** The cookies for the public URL's scheme (`__Host-` and Secure over https). */
export function cookiesFor(context: ConsoleContext): ConsoleCookies {
  return new ConsoleCookies(context.servers.publicOrigin?.startsWith('https:') === true);
}

/**
 * The session the request carries, if its user may still administer. Checked on every request, so
 * a disabled or demoted administrator is out at once; such a session is ended.
 */
export async function signedIn(context: ConsoleContext, request: FastifyRequest): Promise<SignedIn | undefined> {
  const session = await context.sessions.find(cookiesFor(context).read(request, 'session'));
  if (session === undefined) return undefined;
  const user = administrator(context, session.username);
  if (user === undefined) {
    await context.sessions.close(session.id);
    return undefined;
  }
  return { session, user };
}

export function actor(request: FastifyRequest, signed: SignedIn): AdminActor {
  return { username: signed.user.username, remoteAddress: request.ip, requestId: request.id };
}

/** Records a console event in the deployment's audit trail, with the request it came in. */
export function auditConsole(
  context: ConsoleContext,
  request: FastifyRequest,
  entry: Pick<AuditEntry, 'event' | 'outcome'> & Partial<AuditEntry>
): void {
  context.audit?.record({ requestId: request.id, remoteAddress: request.ip, ...entry });
}

/** The headers of every console page (security-headers.ts), with extra form targets on the sign-in page. */
export function consoleHeaders(reply: FastifyReply, formOrigins: readonly string[] = []): void {
  htmlPageHeaders(reply, CONSOLE_STYLE_HASH, formOrigins);
}

/** The string value of a query or form field (a repeated field takes its last value), trimmed and bounded. */
export function field(source: unknown, name: string, max = 200): string | undefined {
  const value = (source as Record<string, unknown> | undefined)?.[name];
  const last = Array.isArray(value) ? (value.at(-1) as unknown) : value;
  if (typeof last !== 'string') return undefined;
  const trimmed = last.trim().slice(0, max);
  return trimmed === '' ? undefined : trimmed;
}
