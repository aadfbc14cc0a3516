import { createApp } from '../../app.ts';
import { prepareCuratedTools } from '../../mcp/curated/curated-tools.ts';
import type { LoadedConfig } from '../../config/load.ts';
import { isSqlbridgeError } from '../../errors/sqlbridge-error.ts';
import { configuredSecrets } from '../../config/secrets.ts';
import { createLogger, redactSecrets } from '../../observability/logger.ts';
import type { CliIo } from '../io.ts';
import { requireEnvironments } from './environments.ts';
import { describePrivileges, describeRole } from './least-privilege.ts';

/**
 * `sqlbridge check`: the configuration is valid (or the loader already said why not), and every
 * environment's database answers, what each read-only environment's login may change, and what each
 * database role its `access` setting maps callers to may read and change. Exit code 1 if any failed,
 * or if a login or role that must only read could write (requireLeastPrivilege). Identity providers
 * whose discovery fails are warnings, not failures (sqlbridge starts without them).
 */
export async function checkCommand(loaded: LoadedConfig, io: CliIo): Promise<number> {
  const config = requireEnvironments(loaded);
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
  // No configured password, secret or token reaches a log line, whatever carries it.
  redactSecrets(logger, configuredSecrets(config));
  io.out(`configuration: ok (${loaded.configFile ?? 'no file; defaults, environment variables and flags'})`);
  for (const notice of loaded.notices) io.out(`notice: ${notice}`);
  const app = createApp(config, logger);
  let failed = 0;
  const width = Math.max(...app.environments.map(env => env.name.length));
  try {
    // A curated tool that could never run is a configuration error (exit code 2), as at serve.
    for (const environment of app.environments) prepareCuratedTools(environment);
    for (const environment of app.environments) {
      const started = performance.now();
      const label = `${environment.name.padEnd(width)}  ${environment.config.database.engine.padEnd(8)}`;
      try {
        await environment.db.init();
        const tables = await environment.db.listTablesAs(undefined);
        const ms = Math.round(performance.now() - started);
        const views = tables.filter(t => t.type === 'view').length;
        const mode = environment.config.readOnly ? 'read-only' : 'read-write';
        io.out(
          `ok    ${label}  connected in ${ms} ms; ${tables.length - views} tables, ${views} views; ${environment.db.displayName}; ${mode}`
        );
        if (environment.config.readOnly) {
          const report = await environment.db.privileges();
          const status = report.canWrite ? (environment.config.requireLeastPrivilege ? 'FAIL' : 'WARN') : 'ok';
          if (status === 'FAIL') failed++;
          io.out(`${status.padEnd(4)}  ${label}  ${describePrivileges(report)}`);
        }
        for (const role of environment.db.mappedRoles()) {
          try {
            const readable = await environment.db.listTablesAs(role);
            const report = await environment.db.privileges(role);
            const writes = report.canWrite && environment.config.readOnly;
            const status = writes ? (environment.config.requireLeastPrivilege ? 'FAIL' : 'WARN') : 'ok';
            if (status === 'FAIL') failed++;
            io.out(`${status.padEnd(4)}  ${label}  ${describeRole(role, readable, report)}`);
          } catch (error) {
            failed++;
            io.out(`FAIL  ${label}  role ${role}: ${describeFailure(error)}`);
          }
        }
      } catch (error) {
        failed++;
        io.out(`FAIL  ${label}  ${describeFailure(error)}`);
      }
    }
    if (config.auth.enabled && config.auth.federation.providers.length > 0) {
      const { checkUpstreamProviders } = await import('../../auth/federation/provider-check.ts');
      for (const line of await checkUpstreamProviders(config, logger)) {
        io.out(`${line.status.padEnd(4)}  identity provider ${line.id}: ${line.text}`);
      }
    }
  } finally {
    await app.close();
  }
  return failed === 0 ? 0 : 1;
}

function describeFailure(error: unknown): string {
  if (!isSqlbridgeError(error)) return error instanceof Error ? error.message : String(error);
  const detail = error.detail === undefined ? '' : ` (${error.detail})`;
  const hint = error.hint === undefined ? '' : `; ${error.hint}`;
  return `${error.message}${detail}${hint}`;
}
