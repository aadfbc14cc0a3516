import type { AuditTrail } from '../audit/trail.ts';
import type { AuthStore } from '../auth/storage/store.ts';
import type { Environment } from '../environment.ts';
import type { Logger } from '../observability/logger.ts';
import type { HttpApp } from './http-app.ts';
import { ReadinessCheck } from './readiness-check.ts';

/**
 * `GET /readyz`: 200 with the report when every check passes, 503 with it otherwise (readiness-check.ts
 * says what is checked and what the report may show). Like every answer it carries
 * `Cache-Control: no-store` (security-headers.ts), so no proxy serves a stale verdict.
 */

export interface ReadinessOptions {
  environments: readonly Environment[];
  /** The authorization servers' storage, when OAuth is on. */
  store?: Pick<AuthStore, 'ping'> | undefined;
  audit?: AuditTrail | undefined;
  /** `server.readinessTimeoutMs`. */
  timeoutMs: number;
  logger: Logger;
}

export function mountReadiness(app: HttpApp, options: ReadinessOptions): ReadinessCheck {
  const readiness = new ReadinessCheck({
    databases: options.environments.map(environment => ({
      name: environment.name,
      ping: signal => environment.db.ping(signal),
      busy: () => environment.db.busy()
    })),
    storage: options.store,
    audit: options.audit,
    timeoutMs: options.timeoutMs,
    logger: options.logger
  });
  app.get('/readyz', async (_request, reply) => {
    const report = await readiness.check();
    return reply.code(report.status === 'ready' ? 200 : 503).send(report);
  });
  return readiness;
}
