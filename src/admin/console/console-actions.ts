import type { FastifyRequest } from 'fastify';
import { actor, field, type ConsoleContext, type SignedIn } from './console-context.ts';
import { withFlash } from './console-flash.ts';

/**
 * What the console's buttons do, through `Administration` (which audits each action under the
 * administrator's name, with the request id and address). Each answers the path to send the browser
 * back to, with the outcome: Post/Redirect/Get, so a reload never repeats an action.
 */

export type Action = (context: ConsoleContext, request: FastifyRequest, signed: SignedIn) => Promise<string>;

function environmentOf(context: ConsoleContext, request: FastifyRequest): string | undefined {
  const named = field(request.body, 'environment', 64);
  return named !== undefined && context.servers.environments.some(env => env.name === named) ? named : undefined;
}

export const revokeGrant: Action = async (context, request, signed) => {
  const environment = environmentOf(context, request);
  const grantId = field(request.body, 'grantId');
  if (environment === undefined || grantId === undefined) return withFlash('/admin/grants', 'incomplete');
  const revoked = await context.administration.revokeGrant(environment, grantId, actor(request, signed));
  return withFlash('/admin/grants', revoked ? 'grant_revoked' : 'grant_missing', grantId);
};

export const deleteClient: Action = async (context, request, signed) => {
  const environment = environmentOf(context, request);
  const clientId = field(request.body, 'clientId', 2048);
  if (environment === undefined || clientId === undefined) return withFlash('/admin/clients', 'incomplete');
  // A configured client is the configuration's to remove: it would come back at the next start.
  if (context.servers.config.auth.clients.some(client => client.clientId === clientId)) {
    return withFlash('/admin/clients', 'client_static', clientId);
  }
  const deleted = await context.administration.deleteClient(environment, clientId, actor(request, signed));
  return withFlash('/admin/clients', deleted ? 'client_deleted' : 'client_missing', clientId);
};

function setDisabled(disabled: boolean): Action {
  return async (context, request, signed) => {
    const username = field(request.body, 'username', 300);
    if (username === undefined) return withFlash('/admin/users', 'incomplete');
    // Disabling oneself would end this very session with nobody left to undo it from here.
    if (disabled && context.servers.users.find(username)?.username === signed.user.username) {
      return withFlash('/admin/users', 'user_self');
    }
    const changed = await context.administration.setUserDisabled(username, disabled, actor(request, signed));
    return withFlash(
      '/admin/users',
      changed ? (disabled ? 'user_disabled' : 'user_enabled') : 'user_missing',
      username
    );
  };
}

export const disableUser = setDisabled(true);
export const enableUser = setDisabled(false);

export const rotateKeys: Action = async (context, request, signed) => {
  const named = field(request.body, 'environment', 64);
  const environment = environmentOf(context, request);
  if (named !== undefined && environment === undefined) return withFlash('/admin/keys', 'incomplete');
  const rotated = await context.administration.rotateKeys(
    environment === undefined ? undefined : [environment],
    actor(request, signed)
  );
  return withFlash('/admin/keys', 'keys_rotated', rotated.join(','));
};
