import type { Config } from '../../config/schema.ts';
import type { Environment } from '../../environment.ts';
import { pathOf } from '../../http/paths.ts';
import { RateLimit } from '../../http/rate-limit.ts';
import type { RequestLimitRule } from '../../http/request-limits.ts';

/**
 * Dynamic client registration is open to anyone and stores what it is sent: each client address may
 * register `auth.maxRegistrationsPerHour` clients an hour, over every environment.
 */
export function registrationLimit(config: Config, environments: readonly Environment[]): RequestLimitRule {
  const paths = new Set(environments.map(environment => `/${environment.name}/register`));
  return {
    name: 'client registration',
    keyOf: request => (request.method === 'POST' && paths.has(pathOf(request.url)) ? request.ip : undefined),
    limit: new RateLimit(config.auth.maxRegistrationsPerHour, 3_600_000),
    refusal: {
      error: 'temporarily_unavailable',
      error_description: 'too many client registrations from this address; try again later'
    }
  };
}
