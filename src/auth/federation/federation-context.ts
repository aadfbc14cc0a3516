import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuditRecord } from '../../audit/record.ts';
import type { AuditTrail } from '../../audit/trail.ts';
import { htmlPageHeaders } from '../../http/security-headers.ts';
import type { Logger } from '../../observability/logger.ts';
import { errorPage, STYLE_HASH } from '../server/pages.ts';
import type { UserRecords } from '../server/user-records.ts';
import type { User, UserDirectory } from '../server/users.ts';
import type { SignInStates } from './sign-in-state.ts';
import type { UpstreamProviders } from './upstream-providers.ts';

/** What the parts of a federated sign-in share: built once by FederatedSignIn. */
export interface FederationContext {
  providers: UpstreamProviders;
  states: SignInStates;
  users: UserDirectory;
  records: UserRecords;
  logger: Logger;
  audit: AuditTrail | undefined;
  /** The public origin (`https://host`), known once the servers started. */
  origin(): string | undefined;
  /** Whether the public origin is https (cookies are then Secure and `__Host-`). */
  secure(): boolean;
  /** The handler of a completed admin sign-in, once the console registered it. */
  adminHandler(): CompletionHandler | undefined;
}

export interface CompletedSignIn {
  user: User;
  provider: string;
}

export type CompletionHandler = (
  request: FastifyRequest,
  reply: FastifyReply,
  done: CompletedSignIn
) => Promise<unknown>;

/** The headers of the pages this module answers with itself (errors): nothing runs, nothing frames them. */
export function federationPageHeaders(reply: FastifyReply): void {
  htmlPageHeaders(reply, STYLE_HASH, 'none');
}

/** What the browser is told when a federated sign-in fails: never which check failed. */
const MESSAGES: Readonly<Record<string, string>> = {
  state_invalid:
    'This sign-in could not be matched to one started in this browser, or it was already used. Start again from the application.',
  upstream_error: 'The identity provider did not sign you in. Start again from the application.',
  upstream_unavailable: 'The identity provider cannot be reached right now. Try again in a few minutes.',
  id_token_invalid: 'The identity provider’s answer could not be verified, so sqlbridge did not sign you in.',
  not_linked:
    'Your account at the identity provider is not linked to a sqlbridge user. Ask an administrator to add it.',
  email_in_use:
    'A sqlbridge user already has the e-mail address of your account at the identity provider. Ask an administrator to link the two.',
  issuer_changed:
    'Your account belongs to a different identity provider than the one this user was created by. Ask an administrator.',
  user_not_allowed: 'Your account may not use this. Ask an administrator if you think it should.',
  admin_unavailable: 'The admin console is not served here.',
  provider_unknown: 'This identity provider is not offered here. Start again from the application.'
};

/** Refuses a sign-in: the audit record (with the provider), a log line, and a 400 error page. */
export function refuseSignIn(
  context: FederationContext,
  request: FastifyRequest,
  reply: FastifyReply,
  refusal: {
    errorClass: string;
    provider?: string | undefined;
    environment?: string | undefined;
    user?: string | undefined;
    /** The account's subject at the provider, once its ID token was verified: what an administrator links. */
    subject?: string | undefined;
    status?: number;
  }
): FastifyReply {
  const { errorClass, provider, environment, user, subject } = refusal;
  context.logger.info({ provider, environment, user, errorClass, address: request.ip }, 'federated sign-in refused');
  recordSignIn(context, request, {
    event: 'auth.login_failed',
    outcome: errorClass === 'upstream_unavailable' ? 'failed' : 'rejected',
    errorClass,
    ...(environment === undefined ? {} : { environment }),
    ...(user === undefined ? {} : { user }),
    ...(provider === undefined ? {} : { detail: { provider, ...(subject === undefined ? {} : { subject }) } })
  });
  federationPageHeaders(reply);
  return reply
    .code(refusal.status ?? 400)
    .send(errorPage('Sign-in refused', MESSAGES[errorClass] ?? 'Sign-in failed. Start again from the application.'));
}

export function recordSignIn(
  context: Pick<FederationContext, 'audit'>,
  request: FastifyRequest | undefined,
  entry: Pick<AuditRecord, 'event' | 'outcome'> & Partial<AuditRecord>
): void {
  context.audit?.record({
    ...(request === undefined ? {} : { requestId: request.id, remoteAddress: request.ip }),
    ...entry
  });
}
