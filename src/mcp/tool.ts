import type {
  CallToolResult,
  McpServer,
  ScopeChallengeHandler,
  ServerContext,
  ToolAnnotations,
  ToolCallback
} from '@modelcontextprotocol/server';
import type * as z from 'zod';
import type { Environment } from '../environment.ts';
import { toolErrorResult } from '../errors/tool-error.ts';
import type { Logger } from '../observability/logger.ts';
import type { SessionIdentity } from '../db/driver.ts';
import type { ProgressListener } from '../db/progress.ts';
import type { QueryOptions } from '../db/runtime.ts';
import { progressNotifier } from './progress.ts';

/** A tool: its schemas, its description for the model, and a handler that returns data and text. */

export interface ToolContext {
  environment: Environment;
  signal: AbortSignal;
  logger: Logger;
  /** The signed-in caller (OAuth), set into the database session; undefined without auth. */
  identity?: SessionIdentity;
  /** Set when the client asked for progress (a `progressToken`): sends what a running query reports. */
  onProgress?: ProgressListener;
}

export interface ToolOutput<O> {
  structured: O;
  text: string;
}

export interface ToolDefinition<I extends z.ZodObject = z.ZodObject, O extends z.ZodObject = z.ZodObject> {
  name: string;
  title: string;
  description: string;
  annotations: ToolAnnotations;
  /** OAuth scopes a caller's token must hold beyond `sql:read` (checked before the handler runs; 403 asks for them). */
  requiredScopes?: readonly string[];
  inputSchema: I;
  outputSchema: O;
  run(args: z.output<I>, context: ToolContext): Promise<ToolOutput<z.output<O>>>;
}

/** What a tool that runs SQL passes to the database runtime: cancellation, the caller, progress. */
export function queryOptions(context: ToolContext): QueryOptions {
  return {
    signal: context.signal,
    ...(context.identity === undefined ? {} : { identity: context.identity }),
    ...(context.onProgress === undefined ? {} : { onProgress: context.onProgress })
  };
}

export function defineTool<I extends z.ZodObject, O extends z.ZodObject>(
  tool: ToolDefinition<I, O>
): ToolDefinition<I, O> {
  return tool;
}

/** Registers a tool whose failures come back as `isError` results, never as crashed requests. */
export function registerTool<I extends z.ZodObject, O extends z.ZodObject>(
  server: McpServer,
  tool: ToolDefinition<I, O>,
  base: Omit<ToolContext, 'signal'>
): void {
  const handler = async (args: z.output<I>, extra: ServerContext): Promise<CallToolResult> => {
    try {
      const authInfo = extra.http?.authInfo;
      const subject = authInfo?.extra?.['sub'];
      const identity: SessionIdentity | undefined =
        authInfo === undefined
          ? undefined
          : { subject: typeof subject === 'string' ? subject : null, clientId: authInfo.clientId };
      const onProgress = progressNotifier(extra, base.logger, { tool: tool.name });
      const output = await tool.run(args, {
        ...base,
        signal: extra.mcpReq.signal,
        ...(identity === undefined ? {} : { identity }),
        ...(onProgress === undefined ? {} : { onProgress })
      });
      return {
        content: [{ type: 'text', text: output.text }],
        structuredContent: output.structured
      };
    } catch (error) {
      return toolErrorResult(error, base.logger, { tool: tool.name, environment: base.environment.name });
    }
  };
  server.registerTool(
    tool.name,
    {
      title: tool.title,
      description: tool.description,
      annotations: { title: tool.title, ...tool.annotations },
      ...(tool.requiredScopes === undefined ? {} : { scopeChallenge: scopeChallenge(tool.requiredScopes) }),
      inputSchema: tool.inputSchema,
      outputSchema: tool.outputSchema
    },
    // The SDK's callback type is conditional on the schema type, which TypeScript cannot resolve for a generic I.
    handler as unknown as ToolCallback<I>
  );
}

/**
 * A tool that needs more than `sql:read`: a token without the scopes gets 403 `insufficient_scope`
 * naming every scope the call needs, which lets the client ask the user for them (step-up).
 * Without OAuth (no token) there is nothing to check.
 */
function scopeChallenge(required: readonly string[]): ScopeChallengeHandler {
  return ({ authInfo }) => {
    if (authInfo === undefined || required.every(scope => authInfo.scopes.includes(scope))) return undefined;
    const scopes = [...new Set(['sql:read', ...authInfo.scopes.filter(s => s.startsWith('sql:')), ...required])] as [
      string,
      ...string[]
    ];
    return { scopes, errorDescription: `this tool needs the ${required.join(' ')} scope` };
  };
}
