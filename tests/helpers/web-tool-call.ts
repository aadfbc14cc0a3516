import { toolCall } from './tool-calls.ts';

/**
 * A 2026-07-28 `tools/call` as the web Request the MCP SDK's handler takes (`handler.fetch(request,
 * { parsedBody: body })`), with the headers a stateless client sends, and the body it carries.
 */
export function webToolCall(
  name: string,
  args: Record<string, unknown>,
  options: { id?: number; signal?: AbortSignal } = {}
): { request: Request; body: unknown } {
  const body = toolCall(name, args, options.id ?? 1);
  const request = new Request('http://127.0.0.1/mcp', {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2026-07-28',
      'mcp-method': 'tools/call',
      'mcp-name': name
    },
    body: JSON.stringify(body),
    ...(options.signal === undefined ? {} : { signal: options.signal })
  });
  return { request, body };
}
