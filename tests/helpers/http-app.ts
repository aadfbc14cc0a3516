import { PassThrough } from 'node:stream';
import { createHttpApp, type HttpApp, type HttpAppOptions } from '../../src/http/http-app.ts';
import { InFlightCalls } from '../../src/http/in-flight.ts';
import { createLogger } from '../../src/observability/logger.ts';

/** The HTTP layer alone, silent, for `localhost`, with no proxies, origins or rate limits unless given. */
export async function quietHttpApp(options: Partial<HttpAppOptions> = {}): Promise<HttpApp> {
  return createHttpApp({
    logger: createLogger('silent', new PassThrough()),
    bodyLimit: 1024,
    trustProxy: [],
    allowedHosts: ['localhost'],
    allowedOrigins: [],
    limits: [],
    inFlight: new InFlightCalls(),
    ...options
  });
}
