import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { JSON_RPC, jsonRpcError } from './json-rpc-errors.ts';
import { loggablePath } from './paths.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route speaks JSON-RPC (an MCP endpoint): its errors are JSON-RPC error objects. */
    jsonRpc?: boolean;
  }
}

/**
 * Every error a route or hook throws ends here, in the format its route speaks: a JSON-RPC error
 * object on the MCP endpoints, `{ error, message }` elsewhere. A refusal caused by the request (bad
 * JSON, a body too large, a wrong media type) is logged at info without a stack; only the
 * unexpected (5xx) is logged as an error, and its details never reach the client.
 */
export function errorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const status = typeof error.statusCode === 'number' && error.statusCode >= 400 ? error.statusCode : 500;
  const path = loggablePath(request.url);
  if (status >= 500) request.log.error({ err: error, path }, 'request failed');
  else request.log.info({ status, code: error.code, path }, 'request refused');
  const message = status >= 500 ? 'Internal server error' : describe(error, request);
  if (request.routeOptions.config.jsonRpc === true) {
    return reply.code(status).send(jsonRpcError(jsonRpcCode(error, status), message));
  }
  return reply.code(status).send({ error: status >= 500 ? 'server_error' : 'bad_request', message });
}

function describe(error: FastifyError, request: FastifyRequest): string {
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return 'Parse error: the body is not valid JSON';
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return `Payload Too Large: the body exceeds ${request.routeOptions.bodyLimit} bytes`;
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'Unsupported Media Type: Content-Type must be application/json';
    default:
      return error.message;
  }
}

function jsonRpcCode(error: FastifyError, status: number): number {
  if (error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
    return JSON_RPC.parseError;
  }
  if (error.code === 'SQLBRIDGE_JSON_TOO_DEEP') return JSON_RPC.invalidRequest;
  return status >= 500 ? JSON_RPC.internalError : JSON_RPC.serverError;
}
