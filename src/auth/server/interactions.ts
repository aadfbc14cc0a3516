import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type Provider from 'oidc-provider';
import type { AuditRecord } from '../../audit/record.ts';
import type { AuditTrail } from '../../audit/trail.ts';
import type { FederatedSignIn } from '../federation/federated-sign-in.ts';
import type { UserRecords } from './user-records.ts';
import { htmlPageHeaders } from '../../http/security-headers.ts';
import type { Logger } from '../../observability/logger.ts';
import { consentPage, errorPage, loginPage, STYLE_HASH, type ClientIdentity } from './pages.ts';
import { CONSENT_MODEL, consentKey } from './provider.ts';
import { MAX_PASSWORD_LENGTH, verifyPassword } from './passwords.ts';
import type { LoginThrottle } from './throttle.ts';
import { permits, type UserDirectory } from './users.ts';
import type { AuthStore } from '../storage/store.ts';

/**
 * The sign-in and consent steps of an authorization request, at `/<environment>/interaction/<uid>`.
 * Forms carry a CSRF token bound to the interaction (an HMAC of its id, which only this server can
 * make; oidc-provider separately checks the interaction cookie). Failures say only "wrong user name
 * or password"; repeated failures are throttled per user and per address.
 */

export interface InteractionContext {
  environment: string;
  provider: () => Provider;
  /** The environment's protected endpoints, the resources tokens are for; the first is the default. */
  resources: () => readonly string[];
  users: UserDirectory;
  throttle: LoginThrottle;
  store: AuthStore;
  csrfSecret: string;
  /** Scopes this environment can grant at all (`sql:write` only where it is read-write). */
  scopes: readonly string[];
  consentTtlSeconds: number;
  logger: Logger;
  audit: AuditTrail;
  /** What the store keeps about users (the time of their last sign-in, for administrators). */
  records: UserRecords;
  /** Sign-in through identity providers (`auth.federation`). */
  federation: FederatedSignIn;
  /** `auth.federation.localUsers`: the user name and password form is offered (and accepted). */
  localUsers: boolean;
}

/** Records a sign-in or consent step in the audit trail, with the request it came in. */
export function audit(
  context: InteractionContext,
  request: FastifyRequest,
  entry: Pick<AuditRecord, 'event' | 'outcome'> & Partial<AuditRecord>
): void {
  context.audit.record({
    environment: context.environment,
    requestId: request.id,
    remoteAddress: request.ip,
    ...entry
  });
}

type Form = Record<string, string | undefined>;

const WRONG = 'Wrong user name or password.';

export function csrfToken(secret: string, uid: string): string {
  return createHmac('sha256', secret).update(`csrf:${uid}`).digest('base64url');
}

export function csrfValid(secret: string, uid: string, token: string | undefined): boolean {
  if (token === undefined) return false;
  const expected = Buffer.from(csrfToken(secret, uid));
  const given = Buffer.from(token);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/**
 * The page's policy: its own styles, forms posting here and, after the redirects that follow, to the
 * client. Referrers stay on this origin: forms then carry a real Origin (with `no-referrer`, browsers
 * send `Origin: null`, which the Origin check refuses), and nothing leaks to the client's site.
 */
export function pageHeaders(reply: FastifyReply, redirectUri: unknown, providerOrigins: readonly string[] = []): void {
  let clientOrigins: string[] = [];
  try {
    if (typeof redirectUri === 'string') clientOrigins = [new URL(redirectUri).origin];
  } catch {
    // no usable redirect URI: forms may only post here
  }
  htmlPageHeaders(reply, STYLE_HASH, [...clientOrigins, ...providerOrigins]);
}

export async function details(context: InteractionContext, request: FastifyRequest, reply: FastifyReply) {
  try {
    return await context.provider().interactionDetails(request.raw, reply.raw);
  } catch {
    return undefined;
  }
}

export function expired(reply: FastifyReply): FastifyReply {
  pageHeaders(reply, undefined);
  return reply
    .code(400)
    .send(errorPage('Sign-in expired', 'This sign-in is no longer valid. Start again from the application.'));
}

type Client = NonNullable<Awaited<ReturnType<Provider['Client']['find']>>>;

async function findClient(provider: Provider, clientId: unknown): Promise<Client | undefined> {
  return typeof clientId === 'string' ? provider.Client.find(clientId).catch(() => undefined) : undefined;
}

/**
 * Who a client is, as far as the pages can tell the person signing in: its name, with where the name
 * comes from. A configured client is named by the administrator; a registered one (dynamic
 * registration, which stamps its registration time) names itself; a metadata-document client names
 * itself too, but its id is an https URL, whose host is the one thing about it that was checked.
 */
function identityOf(client: Client | undefined, clientId: unknown): ClientIdentity {
  if (typeof clientId !== 'string') return { name: 'An application', source: 'self' };
  const given = client?.clientName;
  const name = typeof given === 'string' ? displayable(given).slice(0, 100) : '';
  const shown = name === '' ? displayable(clientId).slice(0, 200) : name;
  if (/^https:\/\//i.test(clientId)) return { name: shown, source: 'document', publisher: hostOf(clientId) };
  const registered = client?.metadata()['client_id_issued_at'] !== undefined;
  return { name: shown, source: registered || client === undefined ? 'self' : 'configured' };
}

/** Text a client chose, without control or formatting characters (a right-to-left override can reverse what is read). */
function displayable(text: string): string {
  return text
    .replace(/\p{Cf}/gu, '')
    .replace(/[\p{Cc}\p{Zl}\p{Zp}\s]+/gu, ' ')
    .trim();
}

async function clientIdentity(provider: Provider, clientId: unknown): Promise<ClientIdentity> {
  return identityOf(await findClient(provider, clientId), clientId);
}

function hostOf(uri: unknown): string {
  try {
    return typeof uri === 'string' ? new URL(uri).host : 'unknown';
  } catch {
    return 'unknown';
  }
}

export async function showInteraction(context: InteractionContext, request: FastifyRequest, reply: FastifyReply) {
  const interaction = await details(context, request, reply);
  if (interaction === undefined) return expired(reply);
  const client = await findClient(context.provider(), interaction.params['client_id']);
  const name = identityOf(client, interaction.params['client_id']);
  const base = `/${context.environment}/interaction/${interaction.uid}`;
  const csrf = csrfToken(context.csrfSecret, interaction.uid);
  if (interaction.prompt.name === 'login') {
    pageHeaders(reply, interaction.params['redirect_uri'], context.federation.formActionOrigins(context.environment));
    return reply.send(
      loginPage({ ...loginChoices(context, base), environment: context.environment, client: name, csrf })
    );
  }
  pageHeaders(reply, interaction.params['redirect_uri']);
  if (interaction.prompt.name === 'consent') {
    return reply.send(
      consentPage({
        environment: context.environment,
        client: name,
        redirectHost: hostOf(interaction.params['redirect_uri']),
        username: interaction.session?.accountId ?? '',
        scopes: grantableScopes(
          context,
          interaction.session?.accountId,
          interaction.params['scope'],
          client?.grantTypeAllowed('refresh_token') === true
        ),
        action: `${base}/confirm`,
        csrf
      })
    );
  }
  return expired(reply);
}

/**
 * What consent would grant: the requested scopes this environment offers and this user may grant,
 * reading by default, and staying connected whenever the client will get a refresh token (clients
 * allowed the refresh_token grant get one whether or not they asked for offline_access).
 */
function grantableScopes(
  context: InteractionContext,
  accountId: string | undefined,
  scope: unknown,
  refreshes: boolean
): string[] {
  const user = accountId === undefined ? undefined : context.users.allowed(accountId, context.environment);
  const mayHold = (s: string): boolean => user !== undefined && permits(user, s);
  const requested = typeof scope === 'string' ? scope.split(' ').filter(s => s !== '') : [];
  const sql = [...new Set(requested)].filter(s => s.startsWith('sql:') && mayHold(s) && context.scopes.includes(s));
  if (sql.length === 0 && mayHold('sql:read')) sql.push('sql:read');
  return refreshes || requested.includes('offline_access') ? [...sql, 'offline_access'] : sql;
}

/** What the sign-in page offers: the password form (unless `localUsers: false`) and a button per provider. */
function loginChoices(context: InteractionContext, base: string) {
  return {
    ...(context.localUsers ? { action: `${base}/login` } : {}),
    providers: context.federation.providersFor(context.environment),
    federateAction: `${base}/federate`
  };
}

export async function submitLogin(context: InteractionContext, request: FastifyRequest, reply: FastifyReply) {
  if (!context.localUsers) {
    // `auth.federation.localUsers: false`: no password is even looked at, whatever a form sends.
    pageHeaders(reply, undefined);
    audit(context, request, { event: 'auth.login_failed', outcome: 'rejected', errorClass: 'local_users_disabled' });
    return reply
      .code(403)
      .send(errorPage('Sign-in refused', 'Sign-in with a user name and password is not offered here.'));
  }
  const interaction = await details(context, request, reply);
  if (interaction?.prompt.name !== 'login') return expired(reply);
  const form = (request.body ?? {}) as Form;
  const provider = context.provider();
  const name = await clientIdentity(provider, interaction.params['client_id']);
  const base = `/${context.environment}/interaction/${interaction.uid}`;
  const choices = loginChoices(context, base);
  const csrf = csrfToken(context.csrfSecret, interaction.uid);
  pageHeaders(reply, interaction.params['redirect_uri'], context.federation.formActionOrigins(context.environment));
  if (!csrfValid(context.csrfSecret, interaction.uid, form['csrf'])) {
    return reply
      .code(403)
      .send(errorPage('Sign-in refused', 'The form was not sent from this page. Start again from the application.'));
  }
  const username = (form['username'] ?? '').trim().slice(0, 64);
  const password = (form['password'] ?? '').slice(0, MAX_PASSWORD_LENGTH);
  const user = context.users.find(username);
  // Only names of real users are logged: a password typed into the name field must not reach the logs.
  const logged = user?.username ?? '(unknown user)';
  const wait = await context.throttle.begin(username, request.ip);
  if (wait > 0) {
    context.logger.warn(
      { environment: context.environment, username: logged, address: request.ip },
      'sign-in throttled'
    );
    audit(context, request, {
      event: 'auth.login_failed',
      outcome: 'rejected',
      errorClass: 'throttled',
      ...(user === undefined ? {} : { user: user.username }),
      ...clientOf(interaction)
    });
    return reply
      .code(429)
      .header('retry-after', String(Math.ceil(wait / 1000)))
      .send(
        loginPage({
          ...choices,
          environment: context.environment,
          client: name,
          csrf,
          username,
          error: `Too many failed sign-ins. Try again in ${Math.ceil(wait / 60_000)} minute(s).`
        })
      );
  }
  const passwordOk = await verifyPassword(password, user?.passwordHash);
  const allowed = passwordOk && context.users.allowed(username, context.environment) !== undefined;
  if (!allowed || user === undefined) {
    // The failure was counted by begin().
    context.logger.info({ environment: context.environment, username: logged, address: request.ip }, 'sign-in failed');
    audit(context, request, {
      event: 'auth.login_failed',
      outcome: 'failed',
      // A wrong password and an unknown or barred user are told apart here only, never on the page.
      errorClass: user === undefined ? 'unknown_user' : passwordOk ? 'user_not_allowed' : 'wrong_password',
      ...(user === undefined ? {} : { user: user.username }),
      ...clientOf(interaction)
    });
    return reply
      .code(401)
      .send(loginPage({ ...choices, environment: context.environment, client: name, csrf, username, error: WRONG }));
  }
  await context.throttle.succeeded(username, request.ip);
  context.logger.info({ environment: context.environment, username: user.username }, 'signed in');
  await context.records.noteSignIn(user.username);
  audit(context, request, {
    event: 'auth.login_succeeded',
    outcome: 'ok',
    user: user.username,
    ...clientOf(interaction)
  });
  const returnTo = await provider.interactionResult(
    request.raw,
    reply.raw,
    { login: { accountId: user.username } },
    { mergeWithLastSubmission: false }
  );
  return reply.redirect(returnTo, 303);
}

/** The resource an authorization request is for: the one it named, if it is ours, else the default. */
function requestedResource(resources: readonly string[], named: unknown): string {
  return typeof named === 'string' && resources.includes(named) ? named : (resources[0] ?? '');
}

interface ConsentDetails {
  missingOIDCScope?: string[];
  missingResourceScopes?: Record<string, string[]>;
}

export async function submitConsent(context: InteractionContext, request: FastifyRequest, reply: FastifyReply) {
  const interaction = await details(context, request, reply);
  if (interaction?.prompt.name !== 'consent') return expired(reply);
  const form = (request.body ?? {}) as Form;
  pageHeaders(reply, interaction.params['redirect_uri']);
  if (!csrfValid(context.csrfSecret, interaction.uid, form['csrf'])) {
    return reply
      .code(403)
      .send(errorPage('Consent refused', 'The form was not sent from this page. Start again from the application.'));
  }
  const provider = context.provider();
  const accountId = interaction.session?.accountId;
  const clientId = interaction.params['client_id'];
  const user = accountId === undefined ? undefined : context.users.allowed(accountId, context.environment);
  if (form['decision'] !== 'allow' || user === undefined || typeof clientId !== 'string' || accountId === undefined) {
    audit(context, request, {
      event: 'consent.denied',
      outcome: form['decision'] === 'allow' ? 'rejected' : 'ok',
      ...(accountId === undefined ? {} : { user: accountId }),
      ...clientOf(interaction)
    });
    const returnTo = await provider.interactionResult(
      request.raw,
      reply.raw,
      { error: 'access_denied', error_description: 'access was not granted' },
      { mergeWithLastSubmission: false }
    );
    return reply.redirect(returnTo, 303);
  }
  const grant =
    (interaction.grantId === undefined ? undefined : await provider.Grant.find(interaction.grantId)) ??
    new provider.Grant({ accountId, clientId });
  const missing = interaction.prompt.details as ConsentDetails;
  const permitted = new Set<string>([...user.scopes, 'offline_access']);
  const oidc = missing.missingOIDCScope ?? [];
  const grantedOidc = oidc.filter(scope => permitted.has(scope));
  const refusedOidc = oidc.filter(scope => !permitted.has(scope));
  if (grantedOidc.length > 0) grant.addOIDCScope(grantedOidc.join(' '));
  if (refusedOidc.length > 0) grant.rejectOIDCScope(refusedOidc.join(' '));
  for (const [resource, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
    const granted = scopes.filter(scope => permitted.has(scope));
    const refused = scopes.filter(scope => !permitted.has(scope));
    if (granted.length > 0) grant.addResourceScope(resource, granted.join(' '));
    if (refused.length > 0) grant.rejectResourceScope(resource, refused.join(' '));
  }
  // A request that named no scope gets reading, the least an MCP client needs.
  const resource = requestedResource(context.resources(), interaction.params['resource']);
  if (grant.getResourceScopeEncountered(resource).length === 0 && permitted.has('sql:read')) {
    grant.addResourceScope(resource, 'sql:read');
  }
  const grantId = await grant.save();
  await context.store
    .adapter(context.environment, CONSENT_MODEL)
    .upsert(consentKey(accountId, clientId), { grantId }, context.consentTtlSeconds);
  context.logger.info({ environment: context.environment, username: accountId, client: clientId }, 'access granted');
  audit(context, request, {
    event: 'consent.granted',
    outcome: 'ok',
    user: accountId,
    clientId,
    detail: {
      grantId,
      scope: [...permitted].filter(scope => grant.getResourceScope(resource).includes(scope)).join(' ')
    }
  });
  const returnTo = await provider.interactionResult(
    request.raw,
    reply.raw,
    { consent: { grantId } },
    { mergeWithLastSubmission: true }
  );
  return reply.redirect(returnTo, 303);
}

export function clientOf(interaction: { params: Record<string, unknown> }): Pick<AuditRecord, 'clientId'> {
  const clientId = interaction.params['client_id'];
  return typeof clientId === 'string' ? { clientId: clientId.slice(0, 200) } : {};
}
