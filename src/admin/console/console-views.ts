import type { FastifyRequest } from 'fastify';
import { loadOrCreateKeys } from '../../auth/server/keys.ts';
import type { AuditQuery } from '../admin-types.ts';
import { field, type ConsoleContext, type SignedIn } from './console-context.ts';
import { csrfToken } from './console-csrf.ts';
import { flashOf } from './console-flash.ts';
import type { PageFrame } from './console-layout.ts';
import { auditPage } from './pages/audit-page.ts';
import { clientsPage } from './pages/clients-page.ts';
import { grantsPage } from './pages/grants-page.ts';
import { keysPage } from './pages/keys-page.ts';
import { overviewPage } from './pages/overview-page.ts';
import { usersPage } from './pages/users-page.ts';

/** The console's pages, each read from `Administration` with the filters of its query string. */

/** How many audit records a page shows at most. */
const AUDIT_PAGE_LIMIT = 200;

export type View = (context: ConsoleContext, request: FastifyRequest, signed: SignedIn) => Promise<string>;

function frame(context: ConsoleContext, request: FastifyRequest, signed: SignedIn): PageFrame {
  return {
    username: signed.user.username,
    csrf: csrfToken(context.servers.store.keyedHash, 'session', signed.session.id),
    flash: flashOf(field(request.query, 'done', 40), field(request.query, 'target'))
  };
}

function environmentNames(context: ConsoleContext): string[] {
  return context.servers.environments.map(env => env.name);
}

/** An environment named in the query, if it is one of ours. */
function environmentOf(context: ConsoleContext, request: FastifyRequest): string | undefined {
  const named = field(request.query, 'environment', 64);
  return named !== undefined && environmentNames(context).includes(named) ? named : undefined;
}

const defined = <T extends object>(value: T): T =>
  Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;

export const overview: View = async (context, request, signed) => {
  const [clients, grants, users] = await Promise.all([
    context.administration.clients(),
    context.administration.grants(),
    context.administration.users()
  ]);
  return overviewPage(frame(context, request, signed), {
    environments: context.servers.environments.length,
    clients: clients.length,
    grants: grants.length,
    users: users.length,
    activeUsers: users.filter(user => user.grants > 0).length,
    disabledUsers: users.filter(user => user.disabled).length
  });
};

export const clients: View = async (context, request, signed) => {
  const filter = defined({ q: field(request.query, 'q'), environment: environmentOf(context, request) });
  const list = await context.administration.clients(filter);
  return clientsPage(frame(context, request, signed), list, filter, environmentNames(context));
};

export const grants: View = async (context, request, signed) => {
  const filter = defined({
    user: field(request.query, 'user'),
    clientId: field(request.query, 'clientId'),
    environment: environmentOf(context, request)
  });
  const list = await context.administration.grants(filter);
  return grantsPage(frame(context, request, signed), list, filter, environmentNames(context));
};

export const users: View = async (context, request, signed) => {
  const q = field(request.query, 'q');
  const active = field(request.query, 'active', 8) === 'yes';
  const filter = defined({ q, active: active ? true : undefined });
  const list = await context.administration.users(filter);
  return usersPage(frame(context, request, signed), list, filter);
};

/** `since` from a datetime-local field (`2026-12-04T13:05`), read as UTC. */
function sinceOf(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(value)) return undefined;
  const ms = Date.parse(`${value}Z`);
  return Number.isFinite(ms) ? ms : undefined;
}

export const audit: View = async (context, request, signed) => {
  const sinceText = field(request.query, 'since', 32);
  const since = sinceOf(sinceText);
  const query: AuditQuery = defined({
    event: field(request.query, 'event', 64),
    user: field(request.query, 'user'),
    clientId: field(request.query, 'clientId'),
    environment: environmentOf(context, request),
    outcome: field(request.query, 'outcome', 16),
    since,
    limit: AUDIT_PAGE_LIMIT
  });
  const records = await context.administration.audit(query);
  return auditPage(
    frame(context, request, signed),
    records.slice(0, AUDIT_PAGE_LIMIT),
    query,
    environmentNames(context),
    since === undefined ? '' : (sinceText ?? '')
  );
};

export const keys: View = async (context, request, signed) => {
  const { config, store } = context.servers;
  const environments = await Promise.all(
    environmentNames(context).map(async environment => {
      const current = await loadOrCreateKeys(config.dataDir, environment, store.shared).catch(() => undefined);
      return { environment, signingKid: current?.signing[0]?.kid };
    })
  );
  return keysPage(frame(context, request, signed), environments);
};
