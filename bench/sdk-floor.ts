import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createMcpHandler, McpServer } from '@modelcontextprotocol/server';
import { cacheJsonSchema } from '../src/mcp/json-schema-cache.ts';
import { executeSqlTool } from '../src/mcp/tools/execute-sql.ts';
import { SQLBRIDGE_ENV } from './build.ts';
import { toolCallBody } from './mcp-messages.ts';
import { peakRssMb, rssMb } from './process-memory.ts';
import { childEnv } from './spawned-server.ts';

/**
 * What the MCP SDK costs by itself: 2026-07-28 `tools/call` requests answered by `createMcpHandler`
 * in process, one after another, with a server built per request as sqlbridge builds one (a single
 * tool with execute_sql's input and output schemas, each converted to JSON Schema once per process)
 * whose handler returns a one-row result at once.
 * No HTTP, no database, no sqlbridge code on the path: the CPU time per call is the floor every
 * server built on this SDK pays, next to the servers' own figures, and the growth of its resident
 * set from its first call to its peak is the memory the SDK's garbage takes under V8's heap growth
 * with the image's heap setting. Run in a process of its own (`node bench/sdk-floor.ts CALLS`), so
 * that nothing else the bench did shares its heap.
 */

export interface SdkFloorFigure {
  calls: number;
  /** CPU time (user + system) per answered call, ms. */
  cpuMsPerCall: number;
  /** The process's resident set before its first call, MiB (absent in older results). */
  rssStartMb?: number;
  /** Its peak resident set (VmHWM) once every call was answered, MiB (absent in older results). */
  peakRssMb?: number;
}

const HEADERS = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  'mcp-protocol-version': '2026-07-28',
  'mcp-method': 'tools/call',
  'mcp-name': executeSqlTool.name
};
const ROW = { columns: [{ name: 'id', type: 'int4' }], rows: [[1]], rowCount: 1, truncated: false, truncation: null };

// As sqlbridge registers a tool (src/mcp/tool.ts): each schema is converted to JSON Schema once per process.
cacheJsonSchema(executeSqlTool.inputSchema);
cacheJsonSchema(executeSqlTool.outputSchema);

function oneToolServer(): McpServer {
  const server = new McpServer(
    { name: 'sdk-floor', version: '1' },
    { capabilities: { tools: { listChanged: false } } }
  );
  server.registerTool(
    executeSqlTool.name,
    { inputSchema: executeSqlTool.inputSchema, outputSchema: executeSqlTool.outputSchema },
    async ({ query }) => ({
      content: [{ type: 'text', text: query }],
      structuredContent: { ...ROW, elapsedMs: 0.1 }
    })
  );
  return server;
}

/** Answers `calls` tool calls after a warm-up and returns the CPU time they took; throws on a wrong answer. */
export async function sdkFloor(calls: number, warmup = Math.min(2000, calls)): Promise<SdkFloorFigure> {
  const rssStartMb = rssMb(process.pid);
  const handler = createMcpHandler(oneToolServer, { legacy: 'reject' });
  const call = async (id: number): Promise<void> => {
    const text = toolCallBody('2026-07-28', id, executeSqlTool.name, { query: 'SELECT 1' });
    const request = new Request('http://127.0.0.1/pg/mcp', { method: 'POST', headers: HEADERS, body: text });
    const response = await handler.fetch(request, { parsedBody: JSON.parse(text) });
    const answer = (await response.json()) as { id?: unknown; result?: { structuredContent?: { rowCount?: unknown } } };
    if (answer.id !== id || answer.result?.structuredContent?.rowCount !== 1) {
      throw new Error(`unexpected answer: ${JSON.stringify(answer).slice(0, 300)}`);
    }
  };
  try {
    for (let i = 0; i < warmup; i++) await call(i);
    const before = process.cpuUsage();
    for (let i = 0; i < calls; i++) await call(warmup + i);
    const used = process.cpuUsage(before);
    return {
      calls,
      cpuMsPerCall: (used.user + used.system) / 1000 / calls,
      rssStartMb,
      peakRssMb: peakRssMb(process.pid)
    };
  } finally {
    await handler.close();
  }
}

/** Runs `sdkFloor` in a fresh process, with the environment sqlbridge runs with (the image's heap setting). */
export async function measureSdkFloor(calls: number): Promise<SdkFloorFigure> {
  const { stdout } = await promisify(execFile)(process.execPath, [fileURLToPath(import.meta.url), String(calls)], {
    env: childEnv(SQLBRIDGE_ENV)
  });
  return JSON.parse(stdout) as SdkFloorFigure;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const figure = await sdkFloor(Number(process.argv[2] ?? 20_000));
  process.stdout.write(JSON.stringify(figure));
}
