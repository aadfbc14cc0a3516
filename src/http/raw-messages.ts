import { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Node's request and response objects with every property declared from the start that the
 * authorization servers' mount adds to some of them: @fastify/middie copies Fastify's view of the
 * request onto the ones it runs for, oidc-provider's Koa marks the ones it answers, and
 * provider-mount.ts sets the issuer path. Added later, each such property gives those objects a
 * hidden class of their own; once the code every request runs (Node's HTTP, Fastify's hooks, the
 * request log) has met more than four, V8 looks properties up the slow, megamorphic way for every
 * request from then on, MCP calls included. Declared here, every request has one class and every
 * response another, whatever answers it. The values are those the properties had before (absent
 * reads as undefined; a response's status is the prototype's until it is set).
 */
export class RawRequest extends IncomingMessage {
  // @fastify/middie (onRequest): Fastify's request id, address and parsed query.
  id: unknown = undefined;
  hostname: unknown = undefined;
  protocol: unknown = undefined;
  ip: unknown = undefined;
  ips: unknown = undefined;
  log: unknown = undefined;
  query: unknown = undefined;
  // provider-mount.ts: the issuer path the authorization server is mounted at.
  baseUrl: string | undefined = undefined;
  // Koa (parseurl): the parsed URL it keeps.
  _parsedUrl: unknown = undefined;
}

export class RawResponse extends ServerResponse {
  // Set by writeHead, in either order depending on the caller.
  override statusCode = 200;
  override statusMessage = undefined as unknown as string;
  // @fastify/middie: the request's logger.
  log: unknown = undefined;
  // Koa (on-finished): the listeners waiting for the response to finish.
  __onFinished: unknown = undefined;
}
