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
  /** Opens every environment's connection pool; reports the ones that could not connect. */
  connect(): Promise<{ environment: string; error: unknown }[]>;
  close(): Promise<void>;
}

export interface AppOptions {
  /** The clock of the demo database (tests pin it). */
  now?: () => number;
  /** How often running queries report progress to clients that asked for it (tests shorten it; default 1 s). */
  progressIntervalMs?: number;
}

export function createApp(config: Config, logger: Logger, options: AppOptions = {}): App {
  let demo: DemoDatabase | undefined;
  const environments: Environment[] = [];
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
      ...(options.progressIntervalMs === undefined ? {} : { progressIntervalMs: options.progressIntervalMs })
    });
    db.onQuery(event => {
      const { sql, ...rest } = event;
      logger.debug({ ...rest, sqlLength: sql.length }, 'query');
    });
    environments.push({ name, config: environmentConfig, db });
  }

  return {
    config,
    environments,
    logger,
    async connect() {
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
    }
  };
}
