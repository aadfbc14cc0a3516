import type { McpServerFactory } from '@modelcontextprotocol/server';
import { serveStdio, type StdioServerHandle } from '@modelcontextprotocol/server/stdio';
import type { Logger } from '../observability/logger.ts';

/**
 * One environment over stdin/stdout, for clients that launch the server (Claude Desktop). stdout
 * carries only the protocol; logs go to stderr. When the client closes stdin, `onEnd` runs so the
 * process can release its database connections and exit.
 */
export function startStdio(factory: McpServerFactory, logger: Logger, onEnd: () => void): StdioServerHandle {
  const handle = serveStdio(factory, {
    // A malformed message from the client is its mistake, not a bug here: no stack trace.
    onerror: error => logger.warn({ error: error.message }, 'stdio message rejected')
  });
  process.stdin.once('end', onEnd);
  process.stdin.once('close', onEnd);
  return handle;
}
