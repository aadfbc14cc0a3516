import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import Fastify, { LogController, type FastifyInstance, type FastifyRequest, type RawServerDefault } from 'fastify';
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';

/**
 * `GET /metrics` on a listener of its own (`metrics.host`, `metrics.port`), never on the public MCP
 * port: the MCP port faces clients, this one faces Prometheus. With `metrics.token`, a scrape needs
 * `Authorization: Bearer <token>`; without one the listener must be on loopback (config/policy.ts).
 * Nothing else is served here.
 */

export interface MetricsListenerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  token?: string;
  metrics: Metrics;
  logger: Logger;
}

export interface MetricsListener {
  /** Where `/metrics` is served, e.g. http://127.0.0.1:9464/metrics. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

type MetricsApp = FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, Logger>;

export async function startMetricsListener(options: MetricsListenerOptions): Promise<MetricsListener> {
  const app: MetricsApp = Fastify({
    loggerInstance: options.logger,
    // A scrape every few seconds is not worth a log line each.
    logController: new LogController({ disableRequestLogging: true })
  });
  const authorized = options.token === undefined ? () => true : bearerCheck(options.token);
  app.get('/metrics', async (request, reply) => {
    if (!authorized(request)) {
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer realm="sqlbridge-metrics"')
        .send({ error: 'unauthorized' });
    }
    const text = await options.metrics.render();
    return reply.header('content-type', options.metrics.contentType).header('cache-control', 'no-store').send(text);
  });
  app.setNotFoundHandler(async (_request, reply) => reply.code(404).send({ error: 'not_found' }));
  await app.listen({ host: options.host, port: options.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  const host = options.host.includes(':') && !options.host.startsWith('[') ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}/metrics`,
    port,
    async close() {
      await app.close();
    }
  };
}

/**
 * Compares the presented bearer token with the configured one in constant time: both are hashed
 * first, so neither the content nor the length of the token shows in how long a refusal takes.
 */
function bearerCheck(token: string): (request: FastifyRequest) => boolean {
  const expected = digest(token);
  return request => {
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer +(\S+) *$/i.exec(header) : null;
    const presented = digest(match?.[1] ?? '');
    // Evaluated whatever the header held, so that a missing header takes as long as a wrong token.
    return timingSafeEqual(presented, expected) && match !== null;
  };
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
