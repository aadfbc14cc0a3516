import type { McpRequestContext, McpServerFactory, ServerContext } from '@modelcontextprotocol/server';
import type { Environment } from '../environment.ts';
import type { Logger } from '../observability/logger.ts';
import { callerOf, recordRefusedCall } from './call-audit.ts';
import { curatedInstructions, prepareCuratedTools } from './curated/curated-tools.ts';
import { identityOf } from './identity.ts';
import { SqlbridgeMcpServer } from './mcp-server.ts';
import { OneToolServers } from './one-tool-servers.ts';
import { registerPrompts } from './prompts/register-prompts.ts';
import { registerTableResources } from './resources/table-resources.ts';
import { registerTool, type ToolDefinition } from './tool.ts';
import { describeTableTool } from './tools/describe-table.ts';
import { executeSqlTool } from './tools/execute-sql.ts';
import { executeWriteSqlTool } from './tools/execute-write-sql.ts';
import { getTableSampleTool } from './tools/get-table-sample.ts';
import { listTablesTool } from './tools/list-tables.ts';
import { UNTRUSTED_DATA_NOTICE } from './untrusted-data.ts';

export interface ServerFactoryOptions {
  version: string;
  logger: Logger;
}

/**
 * The MCP server of one environment, as a factory: the SDK builds a fresh instance per HTTP request
 * (and one per stdio connection), so the factory only wires prebuilt tools to the environment. A
 * 2026-07-28 `tools/call` gets an instance with the one tool it names (when the caller may see it)
 * and nothing else, not even resource and prompt handlers: that is all the request can reach.
 */
export function createServerFactory(environment: Environment, options: ServerFactoryOptions): McpServerFactory {
  const sampleTool = getTableSampleTool(environment);
  // Compiled once, at start: a curated tool that could never run stops the start (ConfigError).
  const curated = prepareCuratedTools(environment);
  const executeSql = curated.gateFreeSql(executeSqlTool);
  const executeWriteSql = curated.gateFreeSql(executeWriteSqlTool);
  const instructions = serverInstructions(environment);
  const logger = options.logger.child({ environment: environment.name });
  // ASCII only: a 2026-07-28 answer carries this in its `_meta`, and one character beyond Latin-1
  // anywhere in an answer makes V8 write the whole JSON text in two bytes a character and encode
  // it to UTF-8 the slow way (see docs/performance.md).
  const serverInfo = { name: 'sqlbridge', title: `sqlbridge: ${environment.name}`, version: options.version };
  const context = { environment, logger };
  const oneToolServers = new OneToolServers();
  const onUnknownTool = (name: string, extra: ServerContext): void => {
    recordRefusedCall(environment, callerOf(extra, name), 'tool_not_found');
  };
  return request => {
    // Which tools a caller sees depends on their groups (`groups` of curated tools, `executeSql`).
    const caller = identityOf(request.authInfo);
    const freeSql = curated.freeSqlFor(caller);
    // Registration order is the order clients list the tools in.
    const tools: ToolDefinition[] = [listTablesTool, describeTableTool];
    if (freeSql) tools.push(executeSql);
    tools.push(sampleTool);
    if (!environment.config.readOnly && freeSql) tools.push(executeWriteSql);
    tools.push(...curated.visibleTo(caller));
    const called = calledTool(request);
    const only = called === undefined ? undefined : tools.find(tool => tool.name === called);
    if (only !== undefined) {
      // A server for one tool call: no resource or prompt handlers, no instructions (they travel
      // with server/discover and initialize, which this request is not). Reused (one-tool-servers.ts).
      return oneToolServers.take(only.name, calls => {
        const server = new SqlbridgeMcpServer(serverInfo, { capabilities: { tools: { listChanged: false } } });
        registerTool(server, only, context, calls);
        return server;
      });
    }
    const server = new SqlbridgeMcpServer(serverInfo, {
      onUnknownTool,
      instructions,
      // The tool list depends on the configuration and the caller's groups: it never changes while serving.
      // Resources (one per readable table) follow the catalog, which clients re-list when they need to.
      capabilities: {
        tools: { listChanged: false },
        resources: { listChanged: false },
        prompts: { listChanged: false }
      },
      cacheHints: {
        'tools/list': { ttlMs: 300_000, cacheScope: 'private' },
        'prompts/list': { ttlMs: 300_000, cacheScope: 'private' },
        'resources/templates/list': { ttlMs: 300_000, cacheScope: 'private' },
        // What a caller may read depends on their database role, and the catalog can change.
        'resources/list': { ttlMs: 60_000, cacheScope: 'private' },
        'resources/read': { ttlMs: 60_000, cacheScope: 'private' },
        'server/discover': { ttlMs: 300_000, cacheScope: 'private' }
      }
    });
    for (const tool of tools) registerTool(server, tool, context);
    registerTableResources(server, environment, logger);
    registerPrompts(server, environment, { freeSql });
    return server;
  };
}

/**
 * The tool a 2026-07-28 `tools/call` names. The SDK asks for a server only once the request's
 * Mcp-Method and Mcp-Name headers agree with its body, so the headers name the one method and tool
 * the instance will serve. A name sent encoded (the header's Base64 form) matches no tool here, and
 * the instance then gets everything, as every other request does.
 */
function calledTool(request: McpRequestContext): string | undefined {
  const headers = request.era === 'modern' ? request.requestInfo?.headers : undefined;
  if (headers?.get('mcp-method') !== 'tools/call') return undefined;
  return headers.get('mcp-name') ?? undefined;
}

export function serverInstructions(environment: Environment): string {
  const { config, db } = environment;
  const lines = [
    `This server answers questions from the "${environment.name}" database (${db.displayName}).`,
    config.description ?? '',
    config.readOnly
      ? 'It is read-only: only queries that read data are accepted.'
      : 'execute_sql only reads; execute_write_sql changes data, each call in a transaction of its own. Change data only when the user asked for it.',
    'Start with list_tables, then describe_table for the columns and keys of the tables you need, then execute_sql.',
    `Results hold at most ${config.limits.maxRows} rows; aggregate and filter in SQL instead of fetching raw rows.`,
    db.adapter.sqlNotes,
    curatedInstructions(environment),
    UNTRUSTED_DATA_NOTICE
  ];
  return lines.filter(line => line !== '').join('\n');
}
