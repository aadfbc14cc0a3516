import formbody from '@fastify/formbody';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuthorizationServers } from '../../auth/authorization-servers.ts';
import type { HttpApp } from '../../http/http-app.ts';
import { AdminError } from '../admin-error.ts';
import { AdminService } from '../admin-service.ts';
import type { Administration } from '../admin-types.ts';
import { AdminSessions } from './admin-sessions.ts';
import * as actions from './console-actions.ts';
import type { Action } from './console-actions.ts';
import { consoleHeaders, field, signedIn, type AdminFederation, type ConsoleContext } from './console-context.ts';
import { csrfValid, sameOrigin } from './console-csrf.ts';
import { withFlash } from './console-flash.ts';
import { completeFederatedLogin, logout, showLogin, startFederatedLogin, submitLogin } from './console-sign-in.ts';
import * as views from './console-views.ts';
import type { View } from './console-views.ts';
import { consoleMessagePage } from './pages/sign-in-pages.ts';

/**
 * The admin console at `/admin`: deployment-level pages over `Administration` for people holding
 * `sqlbridge:admin`. Every page checks the session and its user on each request; every action is a
 * form POST that must carry the session's CSRF token and come from the public origin, then
 * redirects (Post/Redirect/Get). Pages have their own strict policy: no script, inline style by
 * hash, no framing, nothing cached.
 */

export interface AdminConsoleOptions {
  servers: AuthorizationServers;
  administration: Administration;
  /** Identity providers, when federation is configured: a button each on the sign-in page. */
  federation?: AdminFederation | undefined;
}

/**
 * The console of a running server, when `auth.admin.enabled`: administration through its own
 * authorization servers and the deployment's audit trail.
 */
export async function serveAdminConsole(
  app: HttpApp,
  servers: AuthorizationServers,
  federation?: AdminFederation
): Promise<void> {
  if (!servers.config.auth.admin.enabled) return;
  const audit = servers.environments[0]?.audit;
  if (audit === undefined) throw new Error('the admin console needs at least one environment');
  await mountAdminConsole(app, { servers, administration: AdminService.forServers(servers, audit), federation });
}

/** Forms are small; anything larger is not a person clicking. */
const FORM_LIMIT = 8 * 1024;

export async function mountAdminConsole(app: HttpApp, options: AdminConsoleOptions): Promise<void> {
  const { servers } = options;
  const context: ConsoleContext = {
    servers,
    administration: options.administration,
    sessions: new AdminSessions(servers.store, servers.config.auth.admin.sessionMinutes * 60),
    // One trail for the deployment: every environment records to the same one (app.ts).
    audit: servers.environments[0]?.audit,
    federation: options.federation
  };
  options.federation?.onComplete('admin', (request, reply, done) =>
    completeFederatedLogin(context, request, reply, done)
  );

  type Handler = (context: ConsoleContext, request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
  /** Every route: 503 until the servers know their public URL; the console's headers on every answer. */
  const route =
    (handler: Handler) =>
    async (request: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
      consoleHeaders(reply);
      if (servers.publicOrigin === undefined) {
        return reply.code(503).send(consoleMessagePage('Starting', 'The server is starting. Try again in a moment.'));
      }
      return handler(context, request, reply);
    };
  const page = (view: View) =>
    route(async (ctx, request, reply) => {
      const signed = await signedIn(ctx, request);
      if (signed === undefined) return reply.redirect('/admin/login', 303);
      let body: string;
      try {
        body = await view(ctx, request, signed);
      } catch (error) {
        // A request the page cannot answer as asked (an audit filter no record can match): said on a page.
        if (error instanceof AdminError) {
          return reply.code(400).send(consoleMessagePage('Request refused', error.message, request.url.split('?')[0]));
        }
        throw error;
      }
      return reply.send(body);
    });
  const action = (run: Action, back: string) =>
    route(async (ctx, request, reply) => {
      const signed = await signedIn(ctx, request);
      const valid =
        signed !== undefined &&
        sameOrigin(request, servers.publicOrigin) &&
        csrfValid(servers.store.keyedHash, 'session', signed.session.id, field(request.body, 'csrf'));
      if (!valid) {
        servers.logger.warn({ path: request.url, address: request.ip }, 'admin console form refused');
        return reply
          .code(403)
          .send(
            consoleMessagePage(
              'Action refused',
              signed === undefined
                ? 'You are not signed in to the admin console (any more). Nothing was changed.'
                : 'The form was not sent from the admin console. Nothing was changed.'
            )
          );
      }
      let location: string;
      try {
        location = await run(ctx, request, signed);
      } catch (error) {
        // A request the administration cannot do as asked says why, in words meant for the administrator.
        if (error instanceof AdminError) {
          return reply.code(400).send(consoleMessagePage('Action refused', error.message, back));
        }
        servers.logger.error({ err: error, path: request.url, admin: signed.user.username }, 'admin action failed');
        return reply.redirect(withFlash(back, 'failed'), 303);
      }
      return reply.redirect(location, 303);
    });

  await app.register(async scope => {
    await scope.register(formbody, {
      bodyLimit: FORM_LIMIT,
      parser: body => Object.fromEntries(new URLSearchParams(body))
    });
    scope.get('/admin', page(views.overview));
    scope.get('/admin/clients', page(views.clients));
    scope.get('/admin/grants', page(views.grants));
    scope.get('/admin/users', page(views.users));
    scope.get('/admin/audit', page(views.audit));
    scope.get('/admin/keys', page(views.keys));
    scope.get('/admin/login', route(showLogin));
    scope.post('/admin/login', route(submitLogin));
    scope.post('/admin/login/federate', route(startFederatedLogin));
    scope.post('/admin/logout', route(logout));
    scope.post('/admin/grants/revoke', action(actions.revokeGrant, '/admin/grants'));
    scope.post('/admin/clients/delete', action(actions.deleteClient, '/admin/clients'));
    scope.post('/admin/users/disable', action(actions.disableUser, '/admin/users'));
    scope.post('/admin/users/enable', action(actions.enableUser, '/admin/users'));
    scope.post('/admin/keys/rotate', action(actions.rotateKeys, '/admin/keys'));
  });
}
