import type { Era, Expectation } from './workloads.ts';

/**
 * MCP requests as each protocol era sends them, and the check of each answer. A 2026-07-28 request
 * is self-contained (protocol version, client info and capabilities in `_meta`, no session); a
 * 2025-era client initializes once and then sends its session id with every request.
 */

export const CLIENT_INFO = { name: 'sqlbridge-bench', version: '1' };

/** What every 2026-07-28 request carries in its `_meta` instead of a session. */
const MODERN_META = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientInfo': CLIENT_INFO,
  'io.modelcontextprotocol/clientCapabilities': {}
};

export function toolCallBody(era: Era, id: number, tool: string, args: Record<string, unknown>): string {
  const meta = era === '2026-07-28' ? { _meta: MODERN_META } : {};
  return JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: tool, arguments: args, ...meta } });
}

export function initializeBody(era: Era): string {
  return JSON.stringify({
    jsonrpc: '2.0',
    id: 0,
    method: 'initialize',
    params: { protocolVersion: era, capabilities: {}, clientInfo: CLIENT_INFO }
  });
}

export const INITIALIZED_BODY = JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' });

export function toolsListBody(id: number): string {
  return JSON.stringify({
    jsonrpc: '2.0',
    id,
    method: 'tools/list',
    params: { _meta: MODERN_META }
  });
}

/** The JSON-RPC message of an answer sent as JSON or as an event stream (the event with `id`). */
export function answerMessage(contentType: string, text: string, id: number): Record<string, unknown> {
  if (!contentType.includes('text/event-stream')) return JSON.parse(text) as Record<string, unknown>;
  for (const block of text.split(/\r?\n\r?\n/)) {
    const data = block
      .split(/\r?\n/)
      .filter(line => line.startsWith('data:'))
      .map(line => line.slice(5).trimStart())
      .join('\n');
    if (data === '') continue;
    const message = JSON.parse(data) as Record<string, unknown>;
    if (message['id'] === id) return message;
  }
  throw new Error(`no answer to request ${id} in the event stream`);
}

interface ToolResult {
  isError?: boolean;
  structuredContent?: { rows?: unknown[] };
  content?: { type: string; text?: string }[];
}

/** Rows of a tool result: sqlbridge's `structuredContent.rows`, or DBHub's JSON text (`data.statements[0].rows`). */
function rowsOf(result: ToolResult): unknown[][] {
  const structured = result.structuredContent?.rows;
  if (Array.isArray(structured)) return structured as unknown[][];
  const text = result.content?.find(part => part.type === 'text')?.text ?? '';
  const parsed = JSON.parse(text) as { data?: { statements?: { rows?: unknown[] }[]; rows?: unknown[] } };
  const rows = parsed.data?.statements?.[0]?.rows ?? parsed.data?.rows;
  if (!Array.isArray(rows)) throw new Error(`no rows in the tool result: ${text.slice(0, 200)}`);
  return rows.map((row): unknown[] =>
    Array.isArray(row) ? (row as unknown[]) : Object.values(row as Record<string, unknown>)
  );
}

/** Throws unless `rows` match what the call expects. */
export function checkRows(rows: unknown[][], expect: Expectation): void {
  if (rows.length !== expect.rows) throw new Error(`expected ${expect.rows} rows, got ${rows.length}`);
  if (expect.contains === undefined) return;
  const first = (rows[0] ?? []).map(value => String(value));
  if (!first.includes(expect.contains))
    throw new Error(`the first row ${JSON.stringify(first)} lacks ${expect.contains}`);
}

/** Throws unless the JSON-RPC answer is the tool result the call expects. */
export function checkToolAnswer(message: Record<string, unknown>, expect: Expectation): void {
  if (message['error'] !== undefined) throw new Error(`JSON-RPC error: ${JSON.stringify(message['error'])}`);
  const result = message['result'] as ToolResult | undefined;
  if (result === undefined) throw new Error('no result in the answer');
  if (expect.error === true) {
    if (result.isError !== true) throw new Error('expected a tool error, got a result');
    return;
  }
  if (result.isError === true) throw new Error(`tool error: ${JSON.stringify(result.content).slice(0, 300)}`);
  checkRows(rowsOf(result), expect);
}
