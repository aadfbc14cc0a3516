import type { FastifyReply, FastifyRequest } from 'fastify';
import { verifyPassword } from '../../auth/server/passwords.ts';
import type { User } from '../../auth/server/users.ts';
import {
  administrator,
  auditConsole,
  consoleHeaders,
  cookiesFor,
  field,
  signedIn,
  type ConsoleContext
} from './console-context.ts';
import { ConsoleCookies } from './console-cookies.ts';
import { csrfToken, csrfValid, sameOrigin } from './console-csrf.ts';
import { adminLoginPage, consoleMessagePage, signedInPage } from './pages/sign-in-pages.ts';

/**
 * The console's own sign-in: a user name and password checked like the OAuth sign-in (same hashes,
 * same throttle, same wording on failure), or an identity provider. Only a current administrator
 * gets a session; anyone else who proved who they are sees a refusal. Before sign-in, the form's
 * CSRF token is bound to a random cookie of its own, so that no other site can sign a browser in.
 */

const WRONG = 'Wrong user name or password.';
const NOT_ADMIN = 'This account may not use the admin console. Ask an administrator for the sqlbridge:admin scope.';
const FORM_REFUSED = 'The form was not sent from this page. Open the sign-in page and try again.';

function providers(context: ConsoleContext): { id: string; name: string }[] {
  return context.federation?.providersFor() ?? [];
}

/** Where the provider buttons' answers send the browser: the providers' origins, for `form-action`. */
function providerOrigins(context: ConsoleContext): string[] {
  return context.federation?.formActionOrigins() ?? [];
}

function passwordsOffered(context: ConsoleContext): boolean {
  return context.servers.config.auth.federation.localUsers;
}

/** Sends the sign-in page, binding its forms to the browser's sign-in cookie (made when missing). */
function sendLogin(
  context: ConsoleContext,
  request: FastifyRequest,
  reply: FastifyReply,
  status: number,
  extra: { username?: string; error?: string } = {}
): FastifyReply {
  const cookies = cookiesFor(context);
  let nonce = cookies.read(request, 'login');
  if (nonce === undefined || !/^[A-Za-z0-9_-]{43}$/.test(nonce)) {
    nonce = ConsoleCookies.nonce();
    cookies.set(reply, 'login', nonce, context.sessions.lifetimeSeconds);
  }
  consoleHeaders(reply, providerOrigins(context));
  return reply.code(status).send(
    adminLoginPage({
      csrf: csrfToken(context.servers.store.keyedHash, 'login', nonce),
      passwords: passwordsOffered(context),
      providers: providers(context),
      ...extra
    })
  );
}

function refuse(reply: FastifyReply, status: number, title: string, message: string): FastifyReply {
  consoleHeaders(reply);
  return reply.code(status).send(consoleMessagePage(title, message));
}

/** Whether a sign-in form came from our page in this browser: right Origin, token bound to its cookie. */
function loginFormValid(context: ConsoleContext, request: FastifyRequest): boolean {
  const nonce = cookiesFor(context).read(request, 'login');
  return (
    sameOrigin(request, context.servers.publicOrigin) &&
    csrfValid(context.servers.store.keyedHash, 'login', nonce, field(request.body, 'csrf'))
  );
}

/** Opens a session for an administrator who just proved who they are, and records it. */
async function openSession(
  context: ConsoleContext,
  request: FastifyRequest,
  reply: FastifyReply,
  user: User,
  method: string
): Promise<void> {
  const cookies = cookiesFor(context);
  // A session the browser held before is ended: a sign-in always starts a new one.
  const previous = cookies.read(request, 'session');
  if (previous !== undefined) await context.sessions.close(previous).catch(() => undefined);
  const session = await context.sessions.open(user.username, method);
  cookies.set(reply, 'session', session.id, context.sessions.lifetimeSeconds);
  cookies.clear(reply, 'login');
  context.servers.logger.info({ username: user.username, method }, 'signed in to the admin console');
  auditConsole(context, request, {
    event: 'admin.signed_in',
    outcome: 'ok',
    user: user.username,
    detail: method === 'password' ? { method } : { method: 'provider', provider: method }
  });
}

export async function showLogin(context: ConsoleContext, request: FastifyRequest, reply: FastifyReply) {
  if ((await signedIn(context, request)) !== undefined) return reply.redirect('/admin', 303);
  return sendLogin(context, request, reply, 200);
}

export async function submitLogin(context: ConsoleContext, request: FastifyRequest, reply: FastifyReply) {
  if (!loginFormValid(context, request)) return refuse(reply, 403, 'Sign-in refused', FORM_REFUSED);
  if (!passwordsOffered(context)) {
    return refuse(reply, 403, 'Sign-in refused', 'Sign in through your identity provider.');
  }
  const username = field(request.body, 'username', 64) ?? '';
  // Not trimmed: spaces are part of a password.
  const password = (request.body as Record<string, unknown> | undefined)?.['password'];
  const given = typeof password === 'string' ? password.slice(0, 1024) : '';
  const user = context.servers.users.find(username);
  // Only names of real users reach the log: a password typed into the name field must not.
  const logged = user?.username ?? '(unknown user)';
  const failed = (errorClass: string, outcome: 'failed' | 'rejected' = 'failed'): void => {
    context.servers.logger.info({ username: logged, address: request.ip, errorClass }, 'admin console sign-in failed');
    auditConsole(context, request, {
      event: 'auth.login_failed',
      outcome,
      errorClass,
      detail: { console: 'admin' },
      ...(user === undefined ? {} : { user: user.username })
    });
  };
  const wait = await context.servers.throttle.begin(username, request.ip);
  if (wait > 0) {
    failed('throttled', 'rejected');
    reply.header('retry-after', String(Math.ceil(wait / 1000)));
    return sendLogin(context, request, reply, 429, {
      username,
      error: `Too many failed sign-ins. Try again in ${Math.ceil(wait / 60_000)} minute(s).`
    });
  }
  const passwordOk = await verifyPassword(given, user?.passwordHash);
  if (!passwordOk || user === undefined || user.disabled) {
    // The failure was counted by begin(); the page never tells an unknown user from a wrong password.
    failed(user === undefined ? 'unknown_user' : passwordOk ? 'user_disabled' : 'wrong_password');
    return sendLogin(context, request, reply, 401, { username, error: WRONG });
  }
  await context.servers.throttle.succeeded(username, request.ip);
  const admin = administrator(context, user.username);
  if (admin === undefined) {
    failed('not_admin', 'rejected');
    return refuse(reply, 403, 'Not an administrator', NOT_ADMIN);
  }
  await openSession(context, request, reply, admin, 'password');
  return reply.redirect('/admin', 303);
}

export async function startFederatedLogin(context: ConsoleContext, request: FastifyRequest, reply: FastifyReply) {
  if (!loginFormValid(context, request)) return refuse(reply, 403, 'Sign-in refused', FORM_REFUSED);
  const id = field(request.body, 'provider', 64);
  const federation = context.federation;
  if (federation === undefined || id === undefined || !providers(context).some(provider => provider.id === id)) {
    return refuse(reply, 400, 'Sign-in refused', 'There is no such identity provider here.');
  }
  consoleHeaders(reply, providerOrigins(context));
  return federation.begin(request, reply, id, { kind: 'admin' });
}

/** A provider's sign-in for the console came back (the federation checked it): a session, or a refusal. */
export async function completeFederatedLogin(
  context: ConsoleContext,
  request: FastifyRequest,
  reply: FastifyReply,
  done: { user: User; provider: string }
) {
  const admin = administrator(context, done.user.username);
  if (admin === undefined) {
    auditConsole(context, request, {
      event: 'auth.login_failed',
      outcome: 'rejected',
      errorClass: done.user.disabled ? 'user_disabled' : 'not_admin',
      user: done.user.username,
      detail: { console: 'admin', provider: done.provider }
    });
    return refuse(reply, 403, 'Not an administrator', NOT_ADMIN);
  }
  await openSession(context, request, reply, admin, done.provider);
  consoleHeaders(reply);
  return reply.code(200).send(signedInPage());
}

export async function logout(context: ConsoleContext, request: FastifyRequest, reply: FastifyReply) {
  const cookies = cookiesFor(context);
  const id = cookies.read(request, 'session');
  const session = await context.sessions.find(id);
  // Already signed out (the session ended, or was closed in another tab): nothing to refuse.
  if (session === undefined) {
    cookies.clear(reply, 'session');
    return reply.redirect('/admin/login', 303);
  }
  const valid =
    sameOrigin(request, context.servers.publicOrigin) &&
    csrfValid(context.servers.store.keyedHash, 'session', session.id, field(request.body, 'csrf'));
  if (!valid) return refuse(reply, 403, 'Sign-out refused', FORM_REFUSED);
  await context.sessions.close(session.id);
  cookies.clear(reply, 'session');
  return reply.redirect('/admin/login', 303);
}
