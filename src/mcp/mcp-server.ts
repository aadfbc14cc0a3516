import { McpServer, type Transport } from '@modelcontextprotocol/server';

/**
 * The SDK's McpServer, but a transport closing builds its errors without stack traces.
 *
 * Whenever a transport closes, the SDK builds a `Connection closed` SdkError to settle whatever
 * still waits on it: requests the server sent the client, handlers still running. A 2026-07-28
 * request is served by a transport of its own that closes once the answer is sent, so this
 * happens on every call, almost always with nothing waiting. V8 captures a stack trace for each
 * error it constructs, walking the JavaScript stack, optimized frames included: about 4% of the
 * instructions a primary-key lookup costs the server (`npm run bench`; docs/performance.md). That
 * stack would only ever show the SDK's close path, never what made the transport close, so the close
 * runs with `Error.stackTraceLimit` at 0: the errors keep their class, code and message.
 */
export class SqlbridgeMcpServer extends McpServer {
  override async connect(transport: Transport): Promise<void> {
    await super.connect(transport);
    // The SDK's own close handling now sits in `onclose` (it chains whatever was there before).
    const onclose = transport.onclose;
    transport.onclose = () => {
      withoutStackTraces(() => onclose?.());
    };
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
