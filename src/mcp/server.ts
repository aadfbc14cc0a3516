import { McpServer, type McpServerFactory } from '@modelcontextprotocol/server';
import type { Environment } from '../environment.ts';
import type { Logger } from '../observability/logger.ts';
import { registerTool } from './tool.ts';
import { describeTableTool } from './tools/describe-table.ts';
import { executeSqlTool } from './tools/execute-sql.ts';
import { executeWriteSqlTool } from './tools/execute-write-sql.ts';
import { getTableSampleTool } from './tools/get-table-sample.ts';
import { listTablesTool } from './tools/list-tables.ts';

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
  const instructions = serverInstructions(environment);
  const logger = options.logger.child({ environment: environment.name });
  return () => {
    const server = new McpServer(
      { name: 'sqlbridge', title: `sqlbridge — ${environment.name}`, version: options.version },
      {
        instructions,
        // The tool list depends only on the environment's configuration: it never changes while serving.
        capabilities: { tools: { listChanged: false } },
        cacheHints: {
          'tools/list': { ttlMs: 300_000, cacheScope: 'private' },
          'server/discover': { ttlMs: 300_000, cacheScope: 'private' }
        }
      }
    );
    const context = { environment, logger };
    // Registration order is the order clients list the tools in.
    registerTool(server, listTablesTool, context);
    registerTool(server, describeTableTool, context);
    registerTool(server, executeSqlTool, context);
    registerTool(server, sampleTool, context);
    if (!environment.config.readOnly) registerTool(server, executeWriteSqlTool, context);
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
    db.adapter.sqlNotes
  ];
  return lines.filter(line => line !== '').join('\n');
}
