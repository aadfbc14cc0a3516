import type { Config } from '../../config/schema.ts';
import type { Environment } from '../../environment.ts';
import type { CounterStore } from '../../http/limits/counter-store.ts';
import { WindowLimit } from '../../http/limits/window-limit.ts';
import { pathOf } from '../../http/paths.ts';
import type { RequestLimitRule } from '../../http/request-limits.ts';

/**
 * Dynamic client registration is open to anyone and stores what it is sent: each client address may
 * register `auth.maxRegistrationsPerHour` clients an hour, over every environment. Counted in the
 * shared counter store, like every other limit.
 */
export function registrationLimit(
  config: Config,
  environments: readonly Environment[],
  store: CounterStore
): RequestLimitRule {
  const paths = new Set(environments.map(environment => `/${environment.name}/register`));
  return {
    name: 'client registration',
    keyOf: request => (request.method === 'POST' && paths.has(pathOf(request.url)) ? request.ip : undefined),
    limit: new WindowLimit(store, 'registration', { limit: config.auth.maxRegistrationsPerHour, windowSeconds: 3600 }),
    refusal: {
      error: 'temporarily_unavailable',
      error_description: 'too many client registrations from this address; try again later'
    }
  };
}
