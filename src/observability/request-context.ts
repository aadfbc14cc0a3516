import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The HTTP request a tool call arrived in: its id (the `reqId` of its request log line) and the
 * client's address (trusted proxies honoured). The MCP SDK sits between the route and the tool
 * handler and passes neither, so the route runs the SDK inside this context and the tool reads it
 * back — the one value carried implicitly, at one boundary; everything below receives it explicitly.
 */
export interface RequestOrigin {
  requestId: string;
  remoteAddress: string;
}

const storage = new AsyncLocalStorage<RequestOrigin>();

export function withRequestOrigin<T>(origin: RequestOrigin, work: () => T): T {
  return storage.run(origin, work);
}

/** The origin of the request being served; undefined outside one (stdio). */
export function requestOrigin(): RequestOrigin | undefined {
  return storage.getStore();
}
