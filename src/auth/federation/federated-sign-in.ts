import type { FastifyReply, FastifyRequest } from 'fastify';
import * as client from 'openid-client';
import type { AuditTrail } from '../../audit/trail.ts';
import type { Config } from '../../config/schema.ts';
import type { Logger } from '../../observability/logger.ts';
import type { HashedStore } from '../storage/hashed-store.ts';
import type { UserRecords } from '../server/user-records.ts';
import type { UserDirectory } from '../server/users.ts';
import { bindBrowser, presentedBinding } from './browser-binding.ts';
import {
  refuseSignIn,
  type CompletedSignIn,
  type CompletionHandler,
  type FederationContext
} from './federation-context.ts';
import { CALLBACK_PATH, receiveCallback } from './sign-in-callback.ts';
import { SignInStates, type SignInPurpose, type Taken, type Ticket } from './sign-in-state.ts';
import { UpstreamProviders } from './upstream-providers.ts';
import { UpstreamRefresh } from './upstream-refresh.ts';

export type { CompletedSignIn, SignInPurpose };

/**
 * Sign-in through the organisation's OpenID Connect providers (`auth.federation`), for the sign-in
 * step of an authorization request in an environment and for the admin console. A sign-in starts
 * here (`begin`: authorization code + PKCE S256 + state + nonce, bound to the browser), comes back
 * at the one callback every provider has registered (`/auth/federation/callback`) and continues
 * where it started. At every sqlbridge refresh the user's groups are read again at the provider.
 */
export interface FederatedSignInOptions {
  config: Config;
  store: HashedStore;
  users: UserDirectory;
  records: UserRecords;
  logger: Logger;
  audit: AuditTrail | undefined;
}

export class FederatedSignIn {
  readonly providers: UpstreamProviders;
  private readonly context: FederationContext;
  private readonly states: SignInStates;
  private readonly refresher: UpstreamRefresh;
  private readonly handlers = new Map<'admin', CompletionHandler>();
  private publicOrigin: string | undefined;

  constructor(options: FederatedSignInOptions) {
    this.providers = new UpstreamProviders(options.config.auth.federation.providers, options.logger);
    this.states = new SignInStates(options.store);
    this.context = {
      providers: this.providers,
      states: this.states,
      users: options.users,
      records: options.records,
      logger: options.logger,
      audit: options.audit,
      origin: () => this.publicOrigin,
      secure: () => this.secure,
      adminHandler: () => this.handlers.get('admin')
    };
    this.refresher = new UpstreamRefresh(this.context);
  }

  /** Called once the public origin is known: discovers every provider (an unreachable one is only a warning). */
  start(publicOrigin: string): void {
    this.publicOrigin = publicOrigin;
    void this.providers.discoverAll();
  }

  /** The URL every provider must have registered for sqlbridge. */
  get redirectUri(): string | undefined {
    return this.publicOrigin === undefined ? undefined : `${this.publicOrigin}${CALLBACK_PATH}`;
  }

  /** Whether cookies are Secure and `__Host-` prefixed (the public URL is https). */
  get secure(): boolean {
    return this.publicOrigin?.startsWith('https:') === true;
  }

  /** Providers offered: in an environment's sign-in page, or (no argument) on the admin sign-in. */
  providersFor(environment?: string): { id: string; name: string }[] {
    return this.providers
      .all()
      .filter(
        provider =>
          environment === undefined ||
          provider.environments.includes('*') ||
          provider.environments.includes(environment)
      )
      .map(provider => ({ id: provider.id, name: provider.name }));
  }

  /**
   * Origins a page offering these providers must let its forms go to: a form POST answered with a
   * redirect to another origin is governed by the page's CSP `form-action` in Chromium.
   */
  formActionOrigins(environment?: string): string[] {
    const origins = this.providersFor(environment).map(provider => this.providers.authorizationOrigin(provider.id));
    return [...new Set(origins.filter((origin): origin is string => origin !== undefined))];
  }

  /** Starts a sign-in at the provider: stores state, sets the browser-binding cookie, answers 303. */
  async begin(
    request: FastifyRequest,
    reply: FastifyReply,
    providerId: string,
    purpose: SignInPurpose
  ): Promise<FastifyReply> {
    const environment = purpose.kind === 'interaction' ? purpose.environment : undefined;
    const offered = this.providersFor(environment).some(provider => provider.id === providerId);
    const provider = this.providers.get(providerId);
    const redirectUri = this.redirectUri;
    if (!offered || provider === undefined || redirectUri === undefined) {
      return refuseSignIn(this.context, request, reply, { errorClass: 'provider_unknown', environment });
    }
    let configuration: client.Configuration;
    try {
      configuration = await this.providers.configuration(provider.id);
    } catch {
      return refuseSignIn(this.context, request, reply, {
        errorClass: 'upstream_unavailable',
        provider: provider.id,
        environment,
        status: 502
      });
    }
    const codeVerifier = client.randomPKCECodeVerifier();
    const nonce = client.randomNonce();
    const binding = bindBrowser(request, reply, this.secure);
    const state = await this.states.save({ provider: provider.id, purpose, nonce, codeVerifier }, binding);
    const scopes = new Set(['openid', ...provider.scopes]);
    const url = client.buildAuthorizationUrl(configuration, {
      redirect_uri: redirectUri,
      response_type: 'code',
      scope: [...scopes].join(' '),
      state,
      nonce,
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256'
    });
    reply.header('cache-control', 'no-store');
    return reply.redirect(url.href, 303);
  }

  /** `GET /auth/federation/callback`. */
  async callback(request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    reply.header('cache-control', 'no-store');
    return receiveCallback(this.context, request, reply);
  }

  /** What to do when a sign-in for `admin` completes (the console sets its session and redirects). */
  onComplete(kind: 'admin', handler: CompletionHandler): void {
    this.handlers.set(kind, handler);
  }

  /** The ticket a callback issued for an interaction, once, if this browser started that sign-in. */
  async takeTicket(request: FastifyRequest, ticket: string): Promise<Taken<Ticket>> {
    return this.states.takeTicket(ticket, presentedBinding(request, this.secure));
  }

  /** Refuses a federated step the way the callback does (audit, log, error page). */
  refuse(request: FastifyRequest, reply: FastifyReply, refusal: Parameters<typeof refuseSignIn>[3]): FastifyReply {
    return refuseSignIn(this.context, request, reply, refusal);
  }

  /** At a sqlbridge refresh: reads the user's groups again at the provider; false refuses the refresh. */
  async refreshUser(username: string): Promise<boolean> {
    return this.refresher.refreshUser(username);
  }
}
