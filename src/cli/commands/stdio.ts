import { assertPrivateDataDir } from '../../config/data-dir-policy.ts';
import { createApp } from '../../app.ts';
import type { LoadedConfig } from '../../config/load.ts';
import { createServerFactory } from '../../mcp/server.ts';
import { configuredSecrets } from '../../config/secrets.ts';
import { createLogger, logProcessWarnings, redactSecrets } from '../../observability/logger.ts';
import { configLoaded } from '../../audit/lifecycle.ts';
import type { StdioServerHandle } from '@modelcontextprotocol/server/stdio';
import { startStdio } from '../../transports/stdio.ts';
import { VERSION } from '../../version.ts';
import { requireEnvironments, selectEnvironment } from './environments.ts';
import { connectAndVerify } from './least-privilege.ts';
import { untilSignal } from './signals.ts';

/** `sqlbridge stdio`: one environment over stdin/stdout until the client closes stdin. */
export async function stdioCommand(loaded: LoadedConfig, environmentName: string | undefined): Promise<number> {
  const config = selectEnvironment(requireEnvironments(loaded), environmentName);
  assertPrivateDataDir(config.dataDir);
  const logger = createLogger(config.logLevel);
  logProcessWarnings(logger);
  // From here on, no configured password, secret or token reaches a log line, whatever carries it.
  redactSecrets(logger, configuredSecrets(config));
  for (const notice of loaded.notices) logger.warn(notice);
  const app = createApp(config, logger);
  app.audit.record(configLoaded(loaded));
  const refusal = await connectAndVerify(app, logger);
  if (refusal !== undefined) {
    logger.error(refusal);
    app.audit.record({ event: 'server.stopped', outcome: 'failed', errorClass: 'startup_refused' });
    await app.close();
    return 1;
  }
  const environment = app.environments[0];
  if (environment === undefined) return 2;

  const factory = createServerFactory(environment, { version: VERSION, logger });
  let handle: StdioServerHandle | undefined;
  const reason = await new Promise<string>(resolve => {
    handle = startStdio(factory, logger, () => resolve('stdin closed'));
    logger.info(
      { environment: environment.name },
      `sqlbridge ${VERSION} is serving environment "${environment.name}" over stdio`
    );
    app.audit.record({
      event: 'server.started',
      outcome: 'ok',
      environment: environment.name,
      detail: { version: VERSION, transport: 'stdio' }
    });
    void untilSignal().then(resolve);
  });
  logger.info({ reason }, 'shutting down');
  await handle?.close();
  app.audit.record({ event: 'server.stopped', outcome: 'ok', environment: environment.name, detail: { reason } });
  await app.close();
  return 0;
}
