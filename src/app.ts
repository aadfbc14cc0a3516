import { queryEntry } from './audit/query-records.ts';
import { createAuditSinks } from './audit/sinks.ts';
import { AuditTrail } from './audit/trail.ts';
import type { Config } from './config/schema.ts';
import { DatabaseRuntime } from './db/runtime.ts';
import { createDialect } from './db/registry.ts';
import { DemoDatabase } from './demo/demo-database.ts';
import type { Environment } from './environment.ts';
import type { Logger } from './observability/logger.ts';

/**
 * The composition root: builds every long-lived object from the frozen configuration. Nothing in
 * sqlbridge is a module-level singleton; a test can build as many apps as it likes.
 */

export interface App {
  readonly config: Config;
  readonly environments: readonly Environment[];
  readonly logger: Logger;
  /** The audit trail every environment, the authorization servers and the server itself record to. */
  readonly audit: AuditTrail;
  /** Opens every environment's connection pool; reports the ones that could not connect. */
  connect(): Promise<{ environment: string; error: unknown }[]>;
  close(): Promise<void>;
}

export interface AppOptions {
  /** The clock of the demo database (tests pin it). */
  now?: () => number;
  /** How often running queries report progress to clients that asked for it (tests shorten it; default 1 s). */
  progressIntervalMs?: number;
  /** The clock of audit record times (tests pin it). */
  auditNow?: () => number;
}

export function createApp(config: Config, logger: Logger, options: AppOptions = {}): App {
  let demo: DemoDatabase | undefined;
  const environments: Environment[] = [];
  const audit = new AuditTrail(createAuditSinks(config, logger), {
    flushIntervalMs: config.audit.flushIntervalMs,
    maxPending: config.audit.maxPending,
    logger,
    ...(options.auditNow === undefined ? {} : { now: options.auditNow })
  });
  for (const [name, environmentConfig] of Object.entries(config.environments)) {
    if (environmentConfig.database.engine === 'demo' && demo === undefined) {
      demo = DemoDatabase.open({
        dataDir: config.dataDir,
        logger,
        liveFeed: environmentConfig.database.liveFeed,
        ...(options.now === undefined ? {} : { now: options.now })
      });
    }
    const db = new DatabaseRuntime({
      environment: name,
      dialect: createDialect(environmentConfig, { environment: name, dataDir: config.dataDir, logger }),
      readOnly: environmentConfig.readOnly,
      limits: environmentConfig.limits,
      identity: environmentConfig.identity,
      ...(environmentConfig.access === undefined ? {} : { access: environmentConfig.access }),
      ...(options.progressIntervalMs === undefined ? {} : { progressIntervalMs: options.progressIntervalMs })
    });
    db.onQuery(event => {
      if (logger.isLevelEnabled('debug')) {
        const { sql, caller, ...rest } = event;
        logger.debug({ ...rest, tool: caller?.tool, reqId: caller?.requestId, sqlLength: sql.length }, 'query');
      }
      const entry = queryEntry(event, environmentConfig.audit);
      if (entry !== undefined) audit.record(entry);
    });
    environments.push({ name, config: environmentConfig, db, audit });
  }

  return {
    config,
    environments,
    logger,
    audit,
    async connect() {
      // The demo serves at once: its data reaches the present in a worker thread meanwhile.
      const results = await Promise.allSettled(environments.map(env => env.db.init()));
      const failures: { environment: string; error: unknown }[] = [];
      results.forEach((result, i) => {
        const environment = environments[i]?.name ?? '?';
        if (result.status === 'rejected') failures.push({ environment, error: result.reason });
      });
      return failures;
    },
    async close() {
      await Promise.allSettled(environments.map(env => env.db.close()));
      demo?.close();
      // Last: everything above may still have recorded something.
      await audit.close();
    }
  };
}
