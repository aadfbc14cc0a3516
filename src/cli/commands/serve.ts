import { assertPrivateDataDir } from '../../config/data-dir-policy.ts';
import { createApp, type App } from '../../app.ts';
import type { AuthorizationServers } from '../../auth/authorization-servers.ts';
import { DEMO_USERNAME, ensureDemoLogin } from '../../auth/server/demo-login.ts';
import { standaloneCluster } from '../../cluster/cluster.ts';
import type { Config } from '../../config/schema.ts';
import type { LoadedConfig } from '../../config/load.ts';
import { assertHttpExposureAllowed } from '../../config/policy.ts';
import { createHttpServer, type HttpServer } from '../../http-server.ts';
import { configuredSecrets } from '../../config/secrets.ts';
import { createLogger, logProcessWarnings, redactSecrets, type Logger } from '../../observability/logger.ts';
import { limitLabel } from '../../http/limits/rejections.ts';
import type { MetricsListener } from '../../observability/metrics-listener.ts';
import { configLoaded } from '../../audit/lifecycle.ts';
import { VERSION } from '../../version.ts';
import type { CliIo } from '../io.ts';
import { requireEnvironments } from './environments.ts';
import { connectAndVerify } from './least-privilege.ts';
import { endGrantsOfRemovedUsers, reloadOnSignal } from './reload.ts';
import { stopSignals, type StopSignals } from './signals.ts';

/** The configuration, once it passes the checks a server makes before it serves (at start and at every reload). */
function servable(loaded: LoadedConfig): Config {
  const config = requireEnvironments(loaded);
  assertHttpExposureAllowed(config);
  assertPrivateDataDir(config.dataDir);
  return config;
}

/**
 * `sqlbridge serve` / `sqlbridge demo`: HTTP until SIGINT or SIGTERM; on SIGHUP the configuration
 * is loaded again with `load` (reload.ts), and applied only if a server could start with it.
 */
export async function serveCommand(loaded: LoadedConfig, io: CliIo, load: () => LoadedConfig): Promise<number> {
  const config = servable(loaded);
  // A line per request: batched (logger.ts); the lines a supervisor waits for are written at once.
  const logger = createLogger(config.logLevel, 2, { batched: true });
  // A SIGHUP while the server starts or stops reloads nothing, and must not end it (Node's default).
  let reloading = false;
  const onHangup = (): void => {
    if (!reloading) logger.warn('SIGHUP ignored: the configuration is reloaded only while the server serves');
  };
  process.on('SIGHUP', onHangup);
  // From the start: as a container's PID 1 the process has no default action for SIGTERM, and one
  // sent while the server is being built would be lost.
  const signals = stopSignals();
  try {
    return await serveUntilStopped(config, loaded, io, load, {
      logger,
      signals,
      setReloading: (on: boolean) => (reloading = on)
    });
  } finally {
    signals.release();
    process.off('SIGHUP', onHangup);
  }
}

/** What the serving process shares with its start: its log, the stop signals, whether SIGHUP reloads. */
interface Serving {
  logger: Logger;
  signals: StopSignals;
  setReloading: (on: boolean) => void;
}

async function serveUntilStopped(
  config: Config,
  loaded: LoadedConfig,
  io: CliIo,
  load: () => LoadedConfig,
  { logger, signals, setReloading }: Serving
): Promise<number> {
  logProcessWarnings(logger);
  // From here on, no configured password, secret or token reaches a log line, whatever carries it.
  redactSecrets(logger, configuredSecrets(config));
  for (const notice of loaded.notices) logger.warn(notice);
  const app = createApp(config, logger);
  // Counting from the first record on, so that the metrics agree with the trail. prom-client is
  // loaded only by a server that serves metrics.
  const metrics = config.metrics.enabled ? new (await import('../../observability/metrics.ts')).Metrics() : undefined;
  metrics?.observeAudit(app.audit);
  app.audit.record(configLoaded(loaded));
  // The databases connect (a SQLite worker process starting, a TLS handshake) while the HTTP side is
  // built; nothing listens before both are done, and a refused start closes what was built unused.
  const verifying = connectAndVerify(app, logger);
  // Awaited below; meanwhile a rejection is not left unhandled.
  verifying.catch(() => undefined);
  let auth: AuthorizationServers | undefined;
  let http: HttpServer;
  try {
    auth = config.auth.enabled ? await createAuth(config, app, logger, io) : undefined;
    // With a store of its own (SQLite), this server knows every user there is: the grants of a user
    // removed while it was stopped end now. Replicas sharing Redis may run another configuration
    // for a while (a rolling update) and leave that to the reload that removes a user.
    if (auth !== undefined && !auth.store.shared) endGrantsOfRemovedUsers(auth, app.audit, logger);
    http = await createHttpServer(config, app.environments, logger, VERSION, auth, {
      ...(metrics === undefined
        ? {}
        : {
            rateLimitObserver: rejection =>
              metrics.rateLimitRejected({
                limit: limitLabel(rejection.rule),
                ...(rejection.environment === undefined ? {} : { environment: rejection.environment })
              })
          })
    });
  } catch (error) {
    await verifying.catch(() => undefined);
    await auth?.close();
    await app.close();
    throw error;
  }
  const refusal = await verifying;
  if (refusal !== undefined) {
    logger.error(refusal);
    app.audit.record({ event: 'server.stopped', outcome: 'failed', errorClass: 'startup_refused' });
    await http.shutdown(0);
    await auth?.close();
    await app.close();
    return 1;
  }
  metrics?.observeStreams(http.streams);
  for (const environment of app.environments) metrics?.observePool(environment.name, () => environment.db.poolStats());
  // A stop signal received while the server was being built: it stops before it serves.
  const early = signals.received();
  if (early !== undefined) {
    logger.info({ signal: early }, 'stopped before serving');
    app.audit.record({ event: 'server.stopped', outcome: 'ok', detail: { signal: early, running: 0, cutOff: 0 } });
    await http.shutdown(0);
    await auth?.close();
    await app.close();
    return 0;
  }
  try {
    await http.app.listen({ host: config.server.host, port: config.server.port });
  } catch (error) {
    app.audit.record({ event: 'server.stopped', outcome: 'failed', errorClass: 'listen_failed' });
    await auth?.close();
    await app.close();
    const code = (error as NodeJS.ErrnoException).code;
    const where = `${config.server.host}:${config.server.port}`;
    io.err(
      code === 'EADDRINUSE'
        ? `sqlbridge: port ${config.server.port} is already in use on ${config.server.host}; choose another with --port`
        : `sqlbridge: cannot listen on ${where}: ${error instanceof Error ? error.message : String(error)}`
    );
    return 1;
  }
  const address = http.app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.server.port;
  const base = (config.server.publicUrl ?? `http://${formatHost(config.server.host)}:${port}`).replace(/\/$/, '');
  let metricsListener: MetricsListener | undefined;
  if (metrics !== undefined) {
    const { host, port: metricsPort, token } = config.metrics;
    try {
      const { startMetricsListener } = await import('../../observability/metrics-listener.ts');
      metricsListener = await startMetricsListener({ host, port: metricsPort, token, metrics, logger });
    } catch (error) {
      app.audit.record({ event: 'server.stopped', outcome: 'failed', errorClass: 'listen_failed' });
      await http.shutdown(0);
      await auth?.close();
      await app.close();
      io.err(
        `sqlbridge: cannot serve metrics on ${host}:${metricsPort} (metrics.host, metrics.port): ${error instanceof Error ? error.message : String(error)}`
      );
      return 1;
    }
    // `metricsUrl`, not `url`: a line with `url` and `port` announces the MCP server (tests read it so).
    logger.info({ metricsUrl: metricsListener.url, port: metricsListener.port }, 'metrics listening');
  }
  auth?.start(base);
  // Before the lines that say it serves: a SIGHUP from then on reloads instead of ending the process.
  setReloading(true);
  const stopReloading = reloadOnSignal({
    load: () => {
      const reloaded = load();
      servable(reloaded);
      return reloaded;
    },
    running: config,
    auth,
    cluster: auth?.store.cluster ?? standaloneCluster(),
    audit: app.audit,
    logger
  });
  app.audit.record({
    event: 'server.started',
    outcome: 'ok',
    detail: { version: VERSION, url: base, transport: 'http', auth: auth !== undefined }
  });
  if (auth === undefined) {
    logger.warn('OAuth is off (--no-auth): anyone who can reach this loopback port can use every environment');
  }
  for (const environment of app.environments) {
    logger.info(
      {
        environment: environment.name,
        url: `${base}/${environment.name}/mcp`,
        port,
        readOnly: environment.config.readOnly,
        auth: auth === undefined ? 'none' : 'oauth'
      },
      `sqlbridge ${VERSION} is serving environment "${environment.name}" at ${base}/${environment.name}/mcp`
    );
  }
  logger.flush();
  const signal = await signals.first;
  stopReloading();
  setReloading(false);
  const deadlineMs = config.server.shutdownTimeoutMs;
  // Running calls get until the deadline to finish.
  logger.info({ signal, running: http.inFlight.size, deadlineMs }, 'shutting down');
  logger.flush();
  // A second signal means "now": whatever still runs is cut off at once.
  void signals.again.then(() => {
    http.inFlight.hurry();
  });
  const outcome = await http.shutdown(deadlineMs);
  await metricsListener?.close();
  metrics?.close();
  logger[outcome.cutOff > 0 ? 'warn' : 'info'](
    { running: outcome.running, cutOff: outcome.cutOff },
    outcome.cutOff > 0
      ? 'calls still running at the deadline were stopped and answered with an error'
      : 'every running call finished'
  );
  app.audit.record({
    event: 'server.stopped',
    outcome: 'ok',
    detail: { signal, running: outcome.running, cutOff: outcome.cutOff }
  });
  // The trail closes with the app, last: the authorization servers may record until they close.
  await auth?.close();
  await app.close();
  logger.info('stopped');
  return 0;
}

/** The authorization servers, with the demo's login (printed once, at first start) when the demo is served. */
async function createAuth(config: Config, app: App, logger: Logger, io: CliIo): Promise<AuthorizationServers> {
  const demoEnvironments = app.environments.filter(env => env.config.database.engine === 'demo').map(env => env.name);
  const extraUsers = [];
  if (demoEnvironments.length > 0) {
    const demo = await ensureDemoLogin(config.dataDir, demoEnvironments);
    extraUsers.push(demo.user);
    if (demo.newPassword !== undefined) {
      io.out(
        `Demo sign-in — user: ${DEMO_USERNAME}  password: ${demo.newPassword}\n(shown once; delete ${demo.path} for a new one)`
      );
    } else {
      logger.info(
        { user: DEMO_USERNAME },
        `the demo's sign-in is user "${DEMO_USERNAME}" with the password shown at first start`
      );
    }
  }
  // The authorization server (oidc-provider, Koa) is loaded only when OAuth is on.
  const { AuthorizationServers } = await import('../../auth/authorization-servers.ts');
  return AuthorizationServers.create({ config, environments: app.environments, logger, extraUsers });
}

function formatHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}
