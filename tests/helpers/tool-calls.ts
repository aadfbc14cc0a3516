import { request } from 'node:http';

/**
 * Tool calls as raw HTTP requests (2026-07-28, stateless), so a test sees the status, the headers
 * and the body exactly as the server sends them, optionally from another loopback source address
 * (a peer that is not a trusted proxy) and with a forged or proxied X-Forwarded-For.
 */

export interface CallAnswer {
  status: number;
  retryAfter: string | undefined;
  /** The JSON-RPC message(s) answered: the body as JSON, or the data of its first SSE event. */
  message: unknown;
}

export interface CallOptions {
  token?: string;
  headers?: Record<string, string>;
  /** The local address the request is sent from (any 127.x address reaches a loopback server). */
  localAddress?: string;
  id?: number | string;
}

export function toolCall(name: string, args: Record<string, unknown>, id: number | string = 1): unknown {
  return {
    jsonrpc: '2.0',
    id,
    method: 'tools/call',
    params: {
      name,
      arguments: args,
      _meta: {
        'io.modelcontextprotocol/protocolVersion': '2026-07-28',
        'io.modelcontextprotocol/clientInfo': { name: 'rate-limit-tests', version: '1' },
        'io.modelcontextprotocol/clientCapabilities': {}
      }
    }
  };
}

export async function postJson(
  url: string,
  body: unknown,
  options: Omit<CallOptions, 'id'> = {}
): Promise<{ status: number; retryAfter: string | undefined; text: string }> {
  const target = new URL(url);
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname + target.search,
        method: 'POST',
        ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-protocol-version': '2026-07-28',
          ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }),
          ...options.headers
        },
        timeout: 30_000
      },
      res => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          const header = res.headers['retry-after'];
          resolve({ status: res.statusCode ?? 0, retryAfter: Array.isArray(header) ? header[0] : header, text });
        });
        res.on('error', reject);
      }
    );
    req.on('timeout', () => req.destroy(new Error(`${url}: no answer within 30 s`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** Calls a tool on `/<environment>/mcp`. */
export async function callToolRaw(
  baseUrl: string,
  environment: string,
  name: string,
  args: Record<string, unknown>,
  options: CallOptions = {}
): Promise<CallAnswer> {
  const { status, retryAfter, text } = await postJson(
    `${baseUrl}/${environment}/mcp`,
    toolCall(name, args, options.id ?? 1),
    // 2026-07-28 repeats the method and tool name in headers, which must agree with the body.
    { ...options, headers: { 'mcp-method': 'tools/call', 'mcp-name': name, ...options.headers } }
  );
  return { status, retryAfter, message: parseMessage(text) };
}

function parseMessage(text: string): unknown {
  if (text === '') return undefined;
  const data =
    text.trimStart().startsWith('{') || text.trimStart().startsWith('[')
      ? text
      : text
          .split('\n')
          .find(line => line.startsWith('data: '))
          ?.slice(6);
  return data === undefined ? text : JSON.parse(data);
}

/** The text of a tool result's first content item, and whether it is an error. */
export function toolResult(message: unknown): { isError: boolean; text: string } {
  const result = (message as { result?: { isError?: boolean; content?: { text?: string }[] } }).result;
  if (result === undefined) throw new Error(`not a tool result: ${JSON.stringify(message)}`);
  return { isError: result.isError === true, text: result.content?.[0]?.text ?? '' };
}
