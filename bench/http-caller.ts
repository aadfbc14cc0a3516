import { Pool } from 'undici';
import { answerMessage, checkToolAnswer, INITIALIZED_BODY, initializeBody, toolCallBody } from './mcp-messages.ts';
import type { Call, Era } from './workloads.ts';

/**
 * Tool calls over Streamable HTTP on keep-alive connections (one per concurrent client), each
 * answer checked. A 2025-era client initializes a session per concurrent client first, as a
 * real 2025 client does once per connection to a server.
 */

export interface HttpTarget {
  /** e.g. http://127.0.0.1:8008/pg/mcp */
  url: string;
  tool: string;
  /** Name of the tool's SQL argument (`query` for sqlbridge, `sql` for DBHub). */
  sqlArgument: string;
  era: Era;
  bearer?: string;
}

export interface HttpCaller {
  call(worker: number, call: Call, id: number): Promise<void>;
  close(): Promise<void>;
}

export async function httpCaller(target: HttpTarget, concurrency: number): Promise<HttpCaller> {
  const url = new URL(target.url);
  const pool = new Pool(url.origin, { connections: concurrency, pipelining: 1, keepAliveTimeout: 60_000 });
  const baseHeaders: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-protocol-version': target.era,
    ...(target.bearer === undefined ? {} : { authorization: `Bearer ${target.bearer}` })
  };
  const post = async (body: string, headers: Record<string, string>) => {
    const response = await pool.request({ method: 'POST', path: url.pathname, headers, body });
    const text = await response.body.text();
    const contentType = String(response.headers['content-type'] ?? '');
    return { status: response.statusCode, text, contentType, headers: response.headers };
  };

  // 2026-07-28 requests repeat their method and tool name in headers, which the server checks against the body.
  const callHeaders = { 'mcp-method': 'tools/call', 'mcp-name': target.tool };
  const sessionHeaders: Record<string, string>[] = [];
  for (let worker = 0; worker < concurrency; worker++) {
    if (target.era === '2026-07-28') {
      sessionHeaders.push(baseHeaders);
      continue;
    }
    const init = await post(initializeBody(target.era), baseHeaders);
    if (init.status !== 200) throw new Error(`initialize answered ${init.status}: ${init.text.slice(0, 300)}`);
    const sessionId = init.headers['mcp-session-id'];
    const headers = typeof sessionId === 'string' ? { ...baseHeaders, 'mcp-session-id': sessionId } : baseHeaders;
    const initialized = await post(INITIALIZED_BODY, headers);
    if (initialized.status >= 300) throw new Error(`notifications/initialized answered ${initialized.status}`);
    sessionHeaders.push(headers);
  }

  return {
    async call(worker, call, id) {
      const body = toolCallBody(target.era, id, target.tool, { [target.sqlArgument]: call.sql });
      const headers = sessionHeaders[worker] ?? baseHeaders;
      const answer = await post(body, target.era === '2026-07-28' ? { ...headers, ...callHeaders } : headers);
      if (answer.status !== 200) throw new Error(`HTTP ${answer.status}: ${answer.text.slice(0, 300)}`);
      checkToolAnswer(answerMessage(answer.contentType, answer.text, id), call.expect);
    },
    async close() {
      await pool.close();
    }
  };
}
