import type { Config } from '../../config/schema.ts';
import type { Environment } from '../../environment.ts';
import type { CounterStore } from '../../http/limits/counter-store.ts';
import { addressBucket } from '../../http/limits/address-bucket.ts';
import { WindowLimit } from '../../http/limits/window-limit.ts';
import { pathOf } from '../../http/paths.ts';
import type { RequestLimitRule } from '../../http/request-limits.ts';

/**
 * Per-address limits on the authorization server's costly endpoints (`auth.rateLimits`), over
 * every environment (an IPv6 client counts by its /64, which one client holds whole). Sign-in submissions each cost a password hash (scrypt), so a flood of them is
 * refused before any is checked; the failure throttle (throttle.ts) still counts failed attempts per
 * user name on top. The token endpoint is limited so that one address cannot hammer the store with
 * redemptions and refreshes. Both are request rules: they run in onRequest, before the sign-in
 * route or oidc-provider sees the request.
 */
export function authEndpointLimits(
  config: Config,
  environments: readonly Environment[],
  store: CounterStore
): RequestLimitRule[] {
  const names = new Set(environments.map(environment => environment.name));
  const rules: RequestLimitRule[] = [];
  const { signIn, token } = config.auth.rateLimits;
  if (signIn !== null) {
    rules.push({
      name: 'sign-in',
      keyOf: request => {
        if (request.method !== 'POST') return undefined;
        // The route the router matched, not the path as sent: the router decodes percent-escapes, so
        // `/demo/interaction/x/logi%6E` reaches the sign-in handler too.
        const route = request.routeOptions.url;
        // The admin console's sign-in checks passwords alike, with the same throttle behind it.
        if (route === ADMIN_SIGN_IN_ROUTE) return addressBucket(request.ip);
        const environment = route === undefined ? undefined : SIGN_IN_ROUTE.exec(route)?.[1];
        return environment !== undefined && names.has(environment) ? addressBucket(request.ip) : undefined;
      },
      limit: new WindowLimit(store, 'sign-in', signIn),
      refusal: {
        error: 'temporarily_unavailable',
        error_description: 'too many sign-in attempts from this address; try again later'
      }
    });
  }
  if (token !== null) {
    const paths = new Set([...names].map(name => `/${name}/token`));
    rules.push({
      name: 'token',
      keyOf: request =>
        request.method === 'POST' && paths.has(pathOf(request.url)) ? addressBucket(request.ip) : undefined,
      limit: new WindowLimit(store, 'token', token),
      refusal: {
        error: 'temporarily_unavailable',
        error_description: 'too many token requests from this address; try again later'
      }
    });
  }
  return rules;
}

/** The route of `/<env>/interaction/<uid>/login`, the sign-in form's submission (interaction-routes.ts). */
const SIGN_IN_ROUTE = /^\/([^/]+)\/interaction\/:uid\/login$/;
/** The admin console's sign-in form's submission (admin/console/mount-console.ts). */
const ADMIN_SIGN_IN_ROUTE = '/admin/login';
