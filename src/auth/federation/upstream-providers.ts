import * as client from 'openid-client';
import type { Config } from '../../config/schema.ts';
import type { Logger } from '../../observability/logger.ts';

/**
 * The organisation's OpenID Connect providers as openid-client configurations: discovered once
 * (`/.well-known/openid-configuration`), cached, and discovered again at the next use after a
 * failure, so a provider that was down when sqlbridge started is picked up when it comes back.
 * A provider is a confidential client when it has a secret (client_secret_post), else a public one
 * (PKCE alone). Plain http is allowed only for loopback issuers, which the configuration schema
 * already limits to tests.
 */

export type UpstreamProviderConfig = Config['auth']['federation']['providers'][number];

/** How long a discovery, token or user info request may take. */
const REQUEST_TIMEOUT_SECONDS = 10;

export class UpstreamProviderUnavailable extends Error {
  readonly provider: string;
  constructor(provider: string, options?: ErrorOptions) {
    super(`the identity provider ${provider} cannot be reached`, options);
    this.name = 'UpstreamProviderUnavailable';
    this.provider = provider;
  }
}

export class UpstreamProviders {
  private readonly byId: ReadonlyMap<string, UpstreamProviderConfig>;
  private readonly discovered = new Map<string, Promise<client.Configuration>>();
  private readonly ready = new Map<string, client.Configuration>();
  private readonly logger: Logger;

  constructor(providers: readonly UpstreamProviderConfig[], logger: Logger) {
    this.byId = new Map(providers.map(provider => [provider.id, provider]));
    this.logger = logger;
  }

  get(id: string): UpstreamProviderConfig | undefined {
    return this.byId.get(id);
  }

  all(): UpstreamProviderConfig[] {
    return [...this.byId.values()];
  }

  /** Discovers every provider now; one that cannot be reached is a warning, tried again at its next use. */
  async discoverAll(): Promise<{ id: string; ok: boolean }[]> {
    return Promise.all(
      this.all().map(async provider => {
        try {
          await this.configuration(provider.id);
          return { id: provider.id, ok: true };
        } catch {
          return { id: provider.id, ok: false };
        }
      })
    );
  }

  /** The provider's openid-client configuration, discovered at first use (or again after a failure). */
  async configuration(id: string): Promise<client.Configuration> {
    const provider = this.byId.get(id);
    if (provider === undefined) throw new UpstreamProviderUnavailable(id);
    let pending = this.discovered.get(id);
    if (pending === undefined) {
      pending = discover(provider);
      this.discovered.set(id, pending);
      pending.then(
        configuration => this.ready.set(id, configuration),
        () => undefined
      );
      pending.catch((error: unknown) => {
        // Forgotten so that the next sign-in tries again.
        if (this.discovered.get(id) === pending) this.discovered.delete(id);
        this.logger.warn(
          { provider: id, issuer: provider.issuer, error: error instanceof Error ? error.message : String(error) },
          'the identity provider cannot be reached (its discovery document could not be read); sign-in through it is tried again at its next use'
        );
      });
    }
    try {
      return await pending;
    } catch (error) {
      throw new UpstreamProviderUnavailable(id, { cause: error });
    }
  }

  /** The origin of the provider's authorization endpoint, once discovered, else of its issuer. */
  authorizationOrigin(id: string): string | undefined {
    const provider = this.byId.get(id);
    if (provider === undefined) return undefined;
    try {
      const endpoint = this.ready.get(id)?.serverMetadata().authorization_endpoint;
      return new URL(endpoint ?? provider.issuer).origin;
    } catch {
      return undefined;
    }
  }
}

async function discover(provider: UpstreamProviderConfig): Promise<client.Configuration> {
  const insecure = new URL(provider.issuer).protocol === 'http:';
  const configuration = await client.discovery(
    new URL(provider.issuer),
    provider.clientId,
    provider.clientSecret,
    // With a secret, openid-client's default: client_secret_post, which every major provider accepts.
    provider.clientSecret === undefined ? client.None() : undefined,
    {
      timeout: REQUEST_TIMEOUT_SECONDS,
      // Loopback issuers only (the configuration schema refuses any other http issuer): tests.
      // eslint-disable-next-line @typescript-eslint/no-deprecated
      ...(insecure ? { execute: [client.allowInsecureRequests] } : {})
    }
  );
  // ID tokens are checked against the provider's published keys too, not only for issuer, audience,
  // expiry and nonce: a token endpoint answer is not trusted for its TLS alone.
  client.enableNonRepudiationChecks(configuration);
  return configuration;
}
