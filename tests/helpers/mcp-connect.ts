import {
  Client,
  StreamableHTTPClientTransport,
  UnauthorizedError,
  type ClientOptions
} from '@modelcontextprotocol/client';
import type { TestOAuthProvider } from './oauth-login.ts';

/**
 * The official MCP client SDK connected to one environment of a running server: signed in through
 * its OAuth support (a 401, discovery, registration, sign-in and consent, the token), or, for
 * servers started with `--no-auth`, directly.
 */

export const mcpUrl = (baseUrl: string, environment: string): URL => new URL(`${baseUrl}/${environment}/mcp`);

/** The HTTP status the environment's MCP endpoint answers a 2025-era initialize sent with `token`. */
export async function initializeStatus(baseUrl: string, environment: string, token: string): Promise<number> {
  const response = await fetch(mcpUrl(baseUrl, environment), {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream'
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'status', version: '1' } }
    })
  });
  await response.arrayBuffer();
  return response.status;
}

/** Connects as the SDK does: the first attempt is refused, the provider signs in, the second connects. */
export async function connectWithOAuth(
  baseUrl: string,
  environment: string,
  provider: TestOAuthProvider,
  options: ClientOptions = {}
) {
  const first = new StreamableHTTPClientTransport(mcpUrl(baseUrl, environment), { authProvider: provider });
  const refused = await new Client({ name: 'audit-e2e', version: '1' }).connect(first).then(
    () => undefined,
    (error: unknown) => error
  );
  if (!(refused instanceof UnauthorizedError)) throw new Error(`expected a sign-in, got ${String(refused)}`);
  const callback = provider.callback;
  if (callback === undefined) throw new Error('the client was never sent to sign in');
  await first.finishAuth(callback.searchParams);
  const client = new Client({ name: 'audit-e2e', version: '1' }, options);
  await client.connect(new StreamableHTTPClientTransport(mcpUrl(baseUrl, environment), { authProvider: provider }));
  return client;
}

/** Connects without OAuth (a server started with `--no-auth`). */
export async function connectWithoutAuth(baseUrl: string, environment: string): Promise<Client> {
  const client = new Client({ name: 'audit-e2e', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(mcpUrl(baseUrl, environment)));
  return client;
}

/**
 * Ends the session as a well-behaved client does (DELETE), then closes the client. A client that only
 * closes leaves its server-side session for the shutdown to end, which can hold a stop back by seconds.
 */
export async function disconnect(client: Client): Promise<void> {
  const transport = client.transport;
  if (transport instanceof StreamableHTTPClientTransport) await transport.terminateSession();
  await client.close();
}

export interface ToolAnswer {
  isError: boolean;
  text: string;
  structured: unknown;
}

/** One tool call, its answer reduced to what the tests look at. */
export async function callTool(client: Client, name: string, args: Record<string, unknown> = {}): Promise<ToolAnswer> {
  const result = await client.callTool({ name, arguments: args });
  const content = result.content as { type: string; text?: string }[];
  return {
    isError: result.isError === true,
    text: content.map(part => part.text ?? '').join('\n'),
    structured: result.structuredContent
  };
}
