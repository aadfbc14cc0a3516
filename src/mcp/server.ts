import { McpServer, type McpServerFactory } from '@modelcontextprotocol/server';
import type { Environment } from '../environment.ts';
import type { Logger } from '../observability/logger.ts';
import { curatedInstructions, prepareCuratedTools } from './curated/curated-tools.ts';
import { identityOf } from './identity.ts';
import { registerPrompts } from './prompts/register-prompts.ts';
import { registerTableResources } from './resources/table-resources.ts';
import { registerTool } from './tool.ts';
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
 * (and one per stdio connection), so the factory only wires prebuilt tools to the environment.
 */
export function createServerFactory(environment: Environment, options: ServerFactoryOptions): McpServerFactory {
  const sampleTool = getTableSampleTool(environment);
  // Compiled once, at start: a curated tool that could never run stops the start (ConfigError).
  const curated = prepareCuratedTools(environment);
  const executeSql = curated.gateFreeSql(executeSqlTool);
  const executeWriteSql = curated.gateFreeSql(executeWriteSqlTool);
  const instructions = serverInstructions(environment);
  const logger = options.logger.child({ environment: environment.name });
  return request => {
    // Which tools a caller sees depends on their groups (`groups` of curated tools, `executeSql`).
    const caller = identityOf(request.authInfo);
    const server = new McpServer(
      { name: 'sqlbridge', title: `sqlbridge — ${environment.name}`, version: options.version },
      {
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
      }
    );
    const context = { environment, logger };
    // Registration order is the order clients list the tools in.
    registerTool(server, listTablesTool, context);
    registerTool(server, describeTableTool, context);
    const freeSql = curated.freeSqlFor(caller);
    if (freeSql) registerTool(server, executeSql, context);
    registerTool(server, sampleTool, context);
    if (!environment.config.readOnly && freeSql) registerTool(server, executeWriteSql, context);
    for (const tool of curated.visibleTo(caller)) registerTool(server, tool, context);
    registerTableResources(server, environment, logger);
    registerPrompts(server, environment, { freeSql });
    return server;
  };
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
