import {
  McpServer,
  ProtocolError,
  ProtocolErrorCode,
  type CallToolResult,
  type McpServerOptions,
  type RegisteredTool,
  type ScopeChallengeHandler,
  type ServerContext,
  type ToolAnnotations,
  type ToolCallback,
  type Transport
} from '@modelcontextprotocol/server';
import type * as z from 'zod';

/** A tool handler that checks its own arguments: it is given them as the client sent them. */
export type RawToolHandler = (args: unknown, extra: ServerContext) => Promise<CallToolResult>;

/** A `tools/call` for a tool this server does not have (or does not offer this caller). */
export type UnknownToolListener = (name: string, extra: ServerContext) => void;

/** What the SDK lists of a tool and checks before a call reaches it (its scopes). */
export interface ToolConfig {
  title: string;
  description: string;
  annotations: ToolAnnotations;
  scopeChallenge?: ScopeChallengeHandler;
  inputSchema: z.ZodObject;
  outputSchema: z.ZodObject;
}

/**
 * The SDK's McpServer, with two changes.
 *
 * **`tools/call` is answered here.** The SDK's own handler refuses a tool it does not have and
 * arguments that fail the tool's input schema before any code of ours runs, so such a call would
 * leave no audit record: a caller trying a tool they are not offered (free SQL without the group, a
 * write tool in a read-only environment) would go unseen. Tools are still registered with the SDK,
 * which lists them and checks their scopes at the HTTP layer; `tools/call` is served through the
 * SDK's low-level `setRequestHandler` by the tool's own handler, which checks its arguments itself
 * (tool.ts), and its result is projected through the SDK's wire codec as the SDK's handler does.
 * An unknown tool is told to `onUnknownTool` and answered with the SDK's error.
 *
 * **A transport closing builds its errors without stack traces.** Whenever a transport closes, the
 * SDK builds a `Connection closed` SdkError to settle whatever still waits on it: requests the
 * server sent the client, handlers still running. A 2026-07-28 request is served by a transport of
 * its own that closes once the answer is sent, so this happens on every call, almost always with
 * nothing waiting. V8 captures a stack trace for each error it constructs, walking the JavaScript
 * stack, optimized frames included: about 4% of the instructions a primary-key lookup costs the
 * server (`npm run bench`; docs/performance.md). That stack would only ever show the SDK's close
 * path, never what made the transport close, so the close runs with `Error.stackTraceLimit` at 0:
 * the errors keep their class, code and message.
 */
export class SqlbridgeMcpServer extends McpServer {
  private readonly tools = new Map<string, { handler: RawToolHandler; registered: RegisteredTool }>();
  private readonly onUnknownTool: UnknownToolListener | undefined;

  constructor(
    serverInfo: ConstructorParameters<typeof McpServer>[0],
    options?: McpServerOptions & { onUnknownTool?: UnknownToolListener }
  ) {
    const { onUnknownTool, ...sdkOptions } = options ?? {};
    super(serverInfo, sdkOptions);
    this.onUnknownTool = onUnknownTool;
  }

  /** Registers a tool whose handler validates its arguments against `config.inputSchema` itself. */
  addTool(name: string, config: ToolConfig, handler: RawToolHandler): void {
    // The SDK's callback type is conditional on the schema type; the handler takes the arguments unparsed.
    const registered = this.registerTool(name, config, handler as unknown as ToolCallback<z.ZodObject>);
    if (this.tools.size === 0) this.answerToolCalls();
    this.tools.set(name, { handler, registered });
  }

  override async connect(transport: Transport): Promise<void> {
    await super.connect(transport);
    // The SDK's own close handling now sits in `onclose` (it chains whatever was there before).
    const onclose = transport.onclose;
    transport.onclose = () => {
      withoutStackTraces(() => onclose?.());
    };
  }

  /** Replaces the `tools/call` handler the SDK installed with its first registered tool. */
  private answerToolCalls(): void {
    this.server.removeRequestHandler('tools/call');
    this.server.setRequestHandler('tools/call', async (request, extra) => {
      const { name } = request.params;
      const tool = this.tools.get(name);
      if (tool === undefined) {
        this.onUnknownTool?.(name, extra);
        throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Tool ${name} not found`);
      }
      const result = await tool.handler(request.params.arguments ?? {}, extra);
      return this.server.projectCallToolResult(result, tool.registered.outputSchemaJson);
    });
  }
}

/** Runs `run` with V8 capturing no stack trace for the errors built meanwhile. */
function withoutStackTraces(run: () => void): void {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    run();
  } finally {
    Error.stackTraceLimit = limit;
  }
}
