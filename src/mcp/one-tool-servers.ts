import type { McpServer } from '@modelcontextprotocol/server';

/**
 * The servers that answer 2026-07-28 `tools/call` requests, kept for the next call of the same tool
 * instead of being built for each one. Such a server holds one tool and nothing that depends on
 * the caller: who is calling reaches the tool's handler with each request (its verified token, its
 * origin), never through the server. The SDK connects a server to one exchange at a time and
 * detaches it when the exchange ends (its `onclose`); only then is it kept for reuse, and only when
 * its call has ended: a client that goes away mid-call ends the exchange while the call is still
 * stopping, and that server is dropped. At most `maxIdle` are kept per tool; a burst's extra
 * servers are dropped.
 */

/** What a pooled server's tool handler reports, so that a server is reused only once its calls have ended. */
export interface CallTracker {
  started(): void;
  ended(): void;
}

export const MAX_IDLE_PER_TOOL = 32;

export class OneToolServers {
  private readonly idle = new Map<string, McpServer[]>();
  private readonly maxIdle: number;

  constructor(maxIdle = MAX_IDLE_PER_TOOL) {
    this.maxIdle = maxIdle;
  }

  /** An idle server for `tool`, or a new one from `build`, whose tool reports its calls to `calls`. */
  take(tool: string, build: (calls: CallTracker) => McpServer): McpServer {
    return this.idle.get(tool)?.pop() ?? this.create(tool, build);
  }

  /** How many servers are kept idle for `tool`. */
  idleCount(tool: string): number {
    return this.idle.get(tool)?.length ?? 0;
  }

  private create(tool: string, build: (calls: CallTracker) => McpServer): McpServer {
    let running = 0;
    const server = build({
      started: () => {
        running++;
      },
      ended: () => {
        running--;
      }
    });
    // The SDK chains its own exchange handler in front of this one and restores it afterwards.
    server.server.onclose = () => {
      if (running > 0 || server.isConnected()) return;
      let idle = this.idle.get(tool);
      if (idle === undefined) {
        idle = [];
        this.idle.set(tool, idle);
      }
      if (idle.length < this.maxIdle) idle.push(server);
    };
    return server;
  }
}
