import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { Config } from '../config/schema.ts';
import type { Logger } from '../observability/logger.ts';
import type { AuthStore } from '../auth/storage/store.ts';
import { ClientRecords, inBackground, type ProviderClient } from './client-records.ts';
import { GrantRecords, type ProviderGrant } from './grant-records.ts';

/**
 * The records administration lists (client-records.ts, grant-records.ts), kept from an
 * authorization server's own events (oidc-provider emits `<model>.<action>` for its models, and
 * `registration_create.success`, `authorization.success`, `grant.success`, `grant.revoked` for its
 * endpoints):
 *
 * - a client registered → its record; a client that authorizes or obtains tokens → its record
 *   created if missing (a Client ID Metadata Document client's first authorization) and its last
 *   use written (at most once a minute);
 * - a grant saved → its record; a grant destroyed or revoked (a client revoking its refresh token, a
 *   replayed refresh token) → its record removed.
 *
 * Writes run off the request path: a record that cannot be written is logged and the sign-in or
 * token request goes on.
 */

export interface EnvironmentRecords {
  clients: ClientRecords;
  grants: GrantRecords;
}

/** The records of one environment, over the store. */
export function environmentRecords(store: AuthStore, config: Config, environment: string): EnvironmentRecords {
  return {
    clients: new ClientRecords({
      store,
      environment,
      idleDays: config.auth.clientIdleDays,
      staticClients: config.auth.clients.map(client => client.clientId)
    }),
    grants: new GrantRecords({ store, environment })
  };
}

type Context = KoaContextWithOIDC | undefined;

export function keepAdminRecords(
  provider: Provider,
  environment: string,
  options: { store: AuthStore; config: Config; logger: Logger }
): EnvironmentRecords {
  const records = environmentRecords(options.store, options.config, environment);
  const { logger } = options;
  const used = (ctx: Context): void => {
    const client = ctx?.oidc.client as ProviderClient | undefined;
    if (client !== undefined) inBackground(logger, 'client use', () => records.clients.used(client));
  };
  provider.on('registration_create.success', (_ctx: Context, client: ProviderClient) => {
    inBackground(logger, 'registered client', () => records.clients.registered(client));
  });
  provider.on('authorization.success', used);
  provider.on('grant.success', used);
  // Emitted synchronously inside Grant#save: `saved` reads what it needs before its first await.
  provider.on('grant.saved', (grant: ProviderGrant) => {
    inBackground(logger, 'grant', () => records.grants.saved(grant));
  });
  provider.on('grant.destroyed', (grant: ProviderGrant) => {
    inBackground(logger, 'destroyed grant', () => records.grants.remove(grant.jti));
  });
  provider.on('grant.revoked', (_ctx: Context, grantId: string) => {
    inBackground(logger, 'revoked grant', () => records.grants.remove(grantId));
  });
  return records;
}
