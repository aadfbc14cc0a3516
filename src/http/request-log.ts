import type { FastifyReply, FastifyRequest } from 'fastify';
import { loggablePath } from './paths.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The path as routed, without the query string, recorded before anything rewrites the raw URL. */
    loggedPath: string;
  }
}

/**
 * One line per request, at the end. The query string is left out (it is where a careless client
 * puts tokens); the client address is the one Fastify derives, honouring only trusted proxies.
 * The path is recorded as the request arrives: a mounted Node application (oidc-provider) rewrites
 * the raw URL it is handed.
 */
export async function recordPath(request: FastifyRequest): Promise<void> {
  request.loggedPath = loggablePath(request.url);
}

export async function logRequest(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  request.log.info(
    {
      method: request.method,
      path: request.loggedPath,
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime),
      address: request.ip
    },
    'request'
  );
}
