import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  audit,
  clientOf,
  csrfValid,
  details,
  expired,
  pageHeaders,
  type InteractionContext
} from '../server/interactions.ts';
import { errorPage } from '../server/pages.ts';

/**
 * The two steps of an authorization request's sign-in that go through an identity provider:
 *
 * - `POST /<env>/interaction/<uid>/federate` (the "Sign in with …" buttons): checks the form's CSRF
 *   token and that the request is at its sign-in step, then sends the browser to the provider;
 * - `GET /<env>/interaction/<uid>/federated?ticket=…`, where the callback sends it back: takes the
 *   one-time ticket (this browser's, for this interaction), checks the user may use the environment
 *   now, and finishes the login step as a password sign-in would. Consent follows as usual.
 */

type Form = Record<string, string | undefined>;

export async function startFederatedLogin(
  context: InteractionContext,
  request: FastifyRequest,
  reply: FastifyReply
): Promise<unknown> {
  const interaction = await details(context, request, reply);
  if (interaction?.prompt.name !== 'login') return expired(reply);
  const form = (request.body ?? {}) as Form;
  if (!csrfValid(context.csrfSecret, interaction.uid, form['csrf'])) {
    pageHeaders(reply, undefined);
    return reply
      .code(403)
      .send(errorPage('Sign-in refused', 'The form was not sent from this page. Start again from the application.'));
  }
  return context.federation.begin(request, reply, form['provider'] ?? '', {
    kind: 'interaction',
    environment: context.environment,
    uid: interaction.uid
  });
}

export async function finishFederatedLogin(
  context: InteractionContext,
  request: FastifyRequest,
  reply: FastifyReply
): Promise<unknown> {
  reply.header('cache-control', 'no-store');
  // Taken first: a ticket presented anywhere, in any browser, is spent.
  const ticketValue = new URL(request.url, 'http://ticket.invalid').searchParams.get('ticket') ?? '';
  const taken = await context.federation.takeTicket(request, ticketValue);
  const ticket = taken.ok ? taken.value : undefined;
  const interaction = await details(context, request, reply);
  if (ticket === undefined || ticket.uid !== interaction?.uid || ticket.environment !== context.environment) {
    return context.federation.refuse(request, reply, { errorClass: 'state_invalid', environment: context.environment });
  }
  if (interaction.prompt.name !== 'login') return expired(reply);
  const user = context.users.allowed(ticket.username, context.environment);
  if (user === undefined) {
    return context.federation.refuse(request, reply, {
      errorClass: 'user_not_allowed',
      provider: ticket.provider,
      environment: context.environment,
      user: ticket.username
    });
  }
  context.logger.info(
    { environment: context.environment, username: user.username, provider: ticket.provider },
    'signed in through the identity provider'
  );
  audit(context, request, {
    event: 'auth.login_succeeded',
    outcome: 'ok',
    user: user.username,
    ...clientOf(interaction),
    detail: { provider: ticket.provider, ...(ticket.groupsOverage ? { groupsOverage: true } : {}) }
  });
  const returnTo = await context
    .provider()
    .interactionResult(
      request.raw,
      reply.raw,
      { login: { accountId: user.username } },
      { mergeWithLastSubmission: false }
    );
  return reply.redirect(returnTo, 303);
}
