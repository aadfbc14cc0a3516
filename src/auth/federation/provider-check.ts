import type { Config } from '../../config/schema.ts';
import type { Logger } from '../../observability/logger.ts';
import { UpstreamProviders } from './upstream-providers.ts';

/**
 * `sqlbridge check`'s word on the identity providers: each one's discovery document read now. One
 * that cannot be reached is a warning, never a failure: sqlbridge starts without it and tries again
 * at its next sign-in, and the people who sign in otherwise are not locked out by a provider's outage.
 */
export async function checkUpstreamProviders(
  config: Config,
  logger: Logger
): Promise<{ status: 'ok' | 'WARN'; id: string; text: string }[]> {
  const providers = new UpstreamProviders(config.auth.federation.providers, logger);
  return Promise.all(
    providers.all().map(async provider => {
      try {
        const metadata = (await providers.configuration(provider.id)).serverMetadata();
        return { status: 'ok' as const, id: provider.id, text: `discovered ${metadata.issuer}` };
      } catch (error) {
        const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
        return {
          status: 'WARN' as const,
          id: provider.id,
          text: `${provider.issuer} cannot be reached${cause} (sign-in through it is tried again when used)`
        };
      }
    })
  );
}
