import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createApp, type App } from '../../src/app.ts';
import { AuthorizationServers } from '../../src/auth/authorization-servers.ts';
import { loadConfig } from '../../src/config/load.ts';
import { createHttpServer, type HttpServer } from '../../src/http-server.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { emptyDir } from './data-dir.ts';

/**
 * sqlbridge in process with OAuth on, as `serve` assembles it: the configuration file written from
 * `configLines` (its data directory a new empty one), the app, the real authorization servers and
 * the HTTP server, silent, listening on a free loopback port and started at that address.
 */
export interface AuthStack {
  app: App;
  servers: AuthorizationServers;
  http: HttpServer;
  /** e.g. http://127.0.0.1:40123 */
  base: string;
  close(): Promise<void>;
}

export async function startAuthStack(
  dirPrefix: string,
  configLines: readonly string[],
  /** Routes to add before the server listens. */
  beforeListen?: (http: HttpServer, servers: AuthorizationServers) => void
): Promise<AuthStack> {
  const silent = createLogger('silent');
  const dir = emptyDir(dirPrefix);
  const file = join(dir, 'sqlbridge.yaml');
  writeFileSync(file, [...configLines, ''].join('\n'));
  const { config } = loadConfig({ cli: { config: file, dataDir: dir }, env: {}, cwd: dir });
  const app = createApp(config, silent);
  const servers = await AuthorizationServers.create({ config, environments: app.environments, logger: silent });
  const http = await createHttpServer(config, app.environments, silent, '0.0.0-test', servers);
  beforeListen?.(http, servers);
  await http.app.listen({ host: '127.0.0.1', port: 0 });
  const address = http.app.server.address();
  const base = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
  servers.start(base);
  return {
    app,
    servers,
    http,
    base,
    async close() {
      await http.app.close();
      await servers.close();
      await app.close();
    }
  };
}
