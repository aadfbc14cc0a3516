import { createMcpHandler, McpServer, SdkError } from '@modelcontextprotocol/server';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { SqlbridgeMcpServer } from '../../src/mcp/mcp-server.ts';
import { webToolCall } from '../helpers/web-tool-call.ts';

/**
 * sqlbridge's McpServer closes its transports without capturing stack traces: the SDK's
 * `Connection closed` error, built on every close, reaches a running call as its abort reason with
 * its class, code and message, and no stack frames; `Error.stackTraceLimit` is as it was afterwards.
 */

/** Calls a tool that runs until its call is aborted, goes away mid-call, and returns the abort reason. */
async function reasonWhenClientLeaves(build: () => McpServer): Promise<unknown> {
  let reason: (value: unknown) => void = () => undefined;
  const aborted = new Promise<unknown>(resolve => {
    reason = resolve;
  });
  let started: () => void = () => undefined;
  const running = new Promise<void>(resolve => {
    started = resolve;
  });
  const handler = createMcpHandler(
    () => {
      const server = build();
      server.registerTool('wait', { inputSchema: z.object({}) }, async (_args, extra) => {
        const signal = extra.mcpReq.signal;
        started();
        await new Promise<void>(resolve => signal.addEventListener('abort', () => resolve(), { once: true }));
        reason(signal.reason);
        return { content: [{ type: 'text', text: 'stopped' }] };
      });
      return server;
    },
    { legacy: 'reject' }
  );
  try {
    const client = new AbortController();
    const { request, body } = webToolCall('wait', {}, { signal: client.signal });
    const answered = handler.fetch(request, { parsedBody: body }).catch(() => undefined);
    await running;
    client.abort();
    const result = await aborted;
    await answered;
    return result;
  } finally {
    await handler.close();
  }
}

const frames = (error: Error): string[] => (error.stack ?? '').split('\n').filter(line => /^\s+at /.test(line));
const info = { name: 'close-test', version: '1' };
const options = { capabilities: { tools: { listChanged: false } } };

describe('SqlbridgeMcpServer', () => {
  it('hands a running call the Connection closed error without stack frames, and restores the limit', async () => {
    const limit = Error.stackTraceLimit;
    const reason = await reasonWhenClientLeaves(() => new SqlbridgeMcpServer(info, options));
    expect(reason).toBeInstanceOf(SdkError);
    const error = reason as SdkError;
    expect(error.message).toBe('Connection closed');
    expect(error.code).toBe('CONNECTION_CLOSED');
    expect(frames(error)).toEqual([]);
    expect(Error.stackTraceLimit).toBe(limit);
    expect(frames(new Error('after'))).not.toEqual([]);
  });

  it('differs from the SDK’s McpServer only there: its error carries the close path’s frames', async () => {
    const reason = await reasonWhenClientLeaves(() => new McpServer(info, options));
    expect(reason).toBeInstanceOf(SdkError);
    expect(frames(reason as SdkError)).not.toEqual([]);
  });
});
