import { McpServer, createMcpHandler, type AuthInfo, type McpHttpHandler } from '@modelcontextprotocol/server';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createApp, type App } from '../../src/app.ts';
import { configSchema } from '../../src/config/schema.ts';
import { createServerFactory } from '../../src/mcp/server.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { emptyDir } from '../helpers/data-dir.ts';
import { createSqliteFixture } from '../helpers/sqlite-fixture.ts';

/**
 * The per-request server the SDK asks the factory for: a 2026-07-28 `tools/call` gets the one tool
 * it names and nothing else (a server kept from an earlier call of that tool, once that call has
 * ended); every other request, an encoded tool name and a tool the caller may not see get the whole
 * server, and answer as they always did.
 */

const META = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientInfo': { name: 'factory-test', version: '1' },
  'io.modelcontextprotocol/clientCapabilities': {}
};

let app: App;
let handler: McpHttpHandler;

beforeAll(async () => {
  const config = configSchema.parse({
    dataDir: emptyDir(),
    environments: { lite: { database: { engine: 'sqlite', path: createSqliteFixture() } } }
  });
  app = createApp(config, createLogger('silent'));
  expect(await app.connect()).toEqual([]);
  handler = createMcpHandler(createServerFactory(app.environments[0]!, { version: '0', logger: app.logger }), {
    legacy: 'reject'
  });
});

afterAll(async () => {
  await handler.close();
  await app.close();
});

afterEach(() => {
  vi.restoreAllMocks();
});

async function send(
  method: string,
  params: Record<string, unknown>,
  headers: Record<string, string> = {},
  authInfo?: AuthInfo
): Promise<{ status: number; message: { result?: Record<string, unknown>; error?: { message: string } } }> {
  const body = { jsonrpc: '2.0', id: 1, method, params: { ...params, _meta: META } };
  const request = new Request('http://127.0.0.1/lite/mcp', {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2026-07-28',
      'mcp-method': method,
      ...headers
    },
    body: JSON.stringify(body)
  });
  const response = await handler.fetch(request, { parsedBody: body, ...(authInfo === undefined ? {} : { authInfo }) });
  const text = await response.text();
  const json = text.startsWith('{') ? text : (/^data: (.*)$/m.exec(text)?.[1] ?? 'null');
  return { status: response.status, message: JSON.parse(json) as never };
}

describe('the server a request is given', () => {
  it('registers only the tool a 2026-07-28 tools/call names, and the call answers', async () => {
    const registered = vi.spyOn(McpServer.prototype, 'registerTool');
    const resources = vi.spyOn(McpServer.prototype, 'registerResource');
    const resourceHandlers = vi.spyOn(McpServer.prototype, 'setResourceRequestHandlers');
    const promptHandlers = vi.spyOn(McpServer.prototype, 'setPromptRequestHandlers');
    const answer = await send(
      'tools/call',
      { name: 'execute_sql', arguments: { query: 'SELECT 41 + 1 AS answer' } },
      { 'mcp-name': 'execute_sql' }
    );
    expect(answer.status).toBe(200);
    expect(answer.message.result?.['structuredContent']).toMatchObject({ rows: [[42]] });
    expect(registered.mock.calls.map(call => call[0])).toEqual(['execute_sql']);
    expect(resources).not.toHaveBeenCalled();
    // Nor does it install the resource and prompt handlers it could never use.
    expect(resourceHandlers).not.toHaveBeenCalled();
    expect(promptHandlers).not.toHaveBeenCalled();
  });

  it('serves the next call of the tool with the server kept from the last one, each caller as themselves', async () => {
    const who = async (subject: string, clientId: string): Promise<unknown> => {
      const authInfo: AuthInfo = {
        token: `token-of-${subject}`,
        clientId,
        scopes: ['sql:read'],
        extra: { sub: subject }
      };
      const answer = await send(
        'tools/call',
        {
          name: 'execute_sql',
          arguments: { query: "SELECT sqlbridge_identity('subject') AS who, sqlbridge_identity('client_id') AS client" }
        },
        { 'mcp-name': 'execute_sql' },
        authInfo
      );
      expect(answer.status).toBe(200);
      return (answer.message.result?.['structuredContent'] as { rows?: unknown[] } | undefined)?.rows;
    };
    expect(await who('alice', 'client-a')).toEqual([['alice', 'client-a']]);
    const registered = vi.spyOn(McpServer.prototype, 'registerTool');
    expect(await who('bob', 'client-b')).toEqual([['bob', 'client-b']]);
    expect(await who('alice', 'client-c')).toEqual([['alice', 'client-c']]);
    // Both served by the server the first call left: nothing was built or registered for them.
    expect(registered).not.toHaveBeenCalled();
  });

  it('gives every other request the whole server: tools/list lists every tool', async () => {
    const registered = vi.spyOn(McpServer.prototype, 'registerTool');
    const resourceHandlers = vi.spyOn(McpServer.prototype, 'setResourceRequestHandlers');
    const answer = await send('tools/list', {});
    const names = (answer.message.result?.['tools'] as { name: string }[]).map(tool => tool.name);
    expect(names).toEqual(['list_tables', 'describe_table', 'execute_sql', 'get_table_sample']);
    expect(registered.mock.calls.map(call => call[0])).toEqual(names);
    expect(resourceHandlers).toHaveBeenCalled();
  });

  it('answers server/discover with the instructions and every capability', async () => {
    const answer = await send('server/discover', {});
    const result = answer.message.result as { instructions?: string; capabilities?: Record<string, unknown> };
    expect(result.instructions).toContain('list_tables');
    expect(Object.keys(result.capabilities ?? {})).toEqual(expect.arrayContaining(['tools', 'resources', 'prompts']));
  });

  it('serves a tool name sent in the header’s Base64 form with the whole server', async () => {
    const registered = vi.spyOn(McpServer.prototype, 'registerTool');
    const encoded = `=?base64?${Buffer.from('execute_sql').toString('base64')}?=`;
    const answer = await send(
      'tools/call',
      { name: 'execute_sql', arguments: { query: 'SELECT 7 AS n' } },
      { 'mcp-name': encoded }
    );
    expect(answer.status).toBe(200);
    expect(answer.message.result?.['structuredContent']).toMatchObject({ rows: [[7]] });
    expect(registered.mock.calls.length).toBeGreaterThan(1);
  });

  it('answers a call of a tool the environment does not offer as unknown, as before', async () => {
    // execute_write_sql exists only in read-write environments; this one is read-only.
    const answer = await send(
      'tools/call',
      { name: 'execute_write_sql', arguments: { query: 'DELETE FROM customers' } },
      { 'mcp-name': 'execute_write_sql' }
    );
    const text = JSON.stringify(answer.message);
    expect(text).toMatch(/execute_write_sql/);
    expect(text).toMatch(/not found|unknown/i);
  });
});
