import type {
  AuthInfo,
  CallToolResult,
  ScopeChallengeHandler,
  ServerContext,
  ToolAnnotations
} from '@modelcontextprotocol/server';
import type * as z from 'zod';
import type { ProgressListener } from '../db/progress.ts';
import type { Caller, QueryOptions } from '../db/runtime.ts';
import type { Environment } from '../environment.ts';
import { SqlbridgeError } from '../errors/sqlbridge-error.ts';
import { takeQuerySlot, type QuerySlot } from '../http/limits/concurrent-queries.ts';
import type { Logger } from '../observability/logger.ts';
import { callerOf, callerWith, recordCall, recordRefusedCall, refuseWhileAuditFails } from './call-audit.ts';
import { cacheJsonSchema } from './json-schema-cache.ts';
import type { SqlbridgeMcpServer } from './mcp-server.ts';
import type { CallTracker } from './one-tool-servers.ts';
import { progressNotifier } from './progress.ts';
import { toolErrorResult } from './tool-error.ts';

/** A tool: its schemas, its description for the model, and a handler that returns data and text. */

export interface ToolContext {
  environment: Environment;
  signal: AbortSignal;
  logger: Logger;
  /** Who is calling and from where: the identity is set into the database session; audit records carry it all. */
  caller?: Caller;
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
    ...(context.caller === undefined ? {} : { caller: context.caller }),
    ...(context.onProgress === undefined ? {} : { onProgress: context.onProgress })
  };
}

export function defineTool<I extends z.ZodObject, O extends z.ZodObject>(
  tool: ToolDefinition<I, O>
): ToolDefinition<I, O> {
  return tool;
}

/**
 * Registers a tool whose failures come back as `isError` results, never as crashed requests, and
 * whose every call is audited: refused before it ran (a missing scope, arguments that fail the
 * input schema, an audit trail that cannot write), failed, or done. `calls` hears when each call
 * starts and ends (see one-tool-servers.ts).
 */
export function registerTool<I extends z.ZodObject, O extends z.ZodObject>(
  server: SqlbridgeMcpServer,
  tool: ToolDefinition<I, O>,
  base: Omit<ToolContext, 'signal'>,
  calls?: CallTracker
): void {
  cacheJsonSchema(tool.inputSchema);
  cacheJsonSchema(tool.outputSchema);
  const handler = async (rawArgs: unknown, extra: ServerContext): Promise<CallToolResult> => {
    const started = performance.now();
    const caller = callerOf(extra, tool.name);
    let result: CallToolResult;
    let slot: QuerySlot | undefined;
    calls?.started();
    try {
      refuseWhileAuditFails(base.environment);
      refuseWithoutScopes(tool, extra.http?.authInfo);
      const args = parseArguments(tool, rawArgs);
      slot = takeQuerySlot(base.environment, caller, base.logger);
      const onProgress = progressNotifier(extra, base.logger, { tool: tool.name });
      const output = await tool.run(args, {
        ...base,
        signal: extra.mcpReq.signal,
        caller,
        ...(onProgress === undefined ? {} : { onProgress })
      });
      result = {
        content: [{ type: 'text', text: output.text }],
        structuredContent: output.structured
      };
      recordCall(base.environment, 'tool.called', caller, started);
    } catch (error) {
      // The environment is already a field of the environment's logger.
      result = toolErrorResult(error, base.logger, {
        tool: tool.name,
        ...(caller.requestId === undefined ? {} : { reqId: caller.requestId })
      });
      recordCall(base.environment, 'tool.called', caller, started, error);
    } finally {
      slot?.release();
      calls?.ended();
    }
    return result;
  };
  server.addTool(
    tool.name,
    {
      title: tool.title,
      description: tool.description,
      annotations: { title: tool.title, ...tool.annotations },
      ...(tool.requiredScopes === undefined
        ? {}
        : { scopeChallenge: scopeChallenge(tool.requiredScopes, base.environment, tool.name) }),
      inputSchema: tool.inputSchema,
      outputSchema: tool.outputSchema
    },
    handler
  );
}

/** The arguments as the tool's input schema reads them; an `invalid_argument` error naming what is wrong. */
function parseArguments<I extends z.ZodObject>(tool: ToolDefinition<I>, raw: unknown): z.output<I> {
  const parsed = tool.inputSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map(issue =>
    issue.path.length === 0 ? issue.message : `${issue.path.map(String).join('.')}: ${issue.message}`
  );
  throw new SqlbridgeError('invalid_argument', `invalid arguments for ${tool.name}: ${problems.join('; ')}`, {
    expose: true,
    hint: 'send the arguments tools/list describes for this tool'
  });
}

/** The scopes a caller's token lacks for `tool`; none without OAuth (no token). */
function missingScopes(required: readonly string[] | undefined, authInfo: AuthInfo | undefined): string[] {
  if (required === undefined || authInfo === undefined) return [];
  return required.filter(scope => !authInfo.scopes.includes(scope));
}

/**
 * The scope check every transport gets. Over Streamable HTTP the SDK answers a token without the
 * scopes with 403 before the call reaches the server (see `scopeChallenge`); the legacy HTTP+SSE
 * transport has no such gate (its POST is answered 202 before the call runs), and nothing else stops
 * a token limited to `sql:read` from calling a tool that needs `sql:write` there.
 */
function refuseWithoutScopes(tool: ToolDefinition, authInfo: AuthInfo | undefined): void {
  const missing = missingScopes(tool.requiredScopes, authInfo);
  if (missing.length === 0) return;
  throw new SqlbridgeError(
    'access_denied',
    `this tool needs the ${missing.join(' ')} scope, which your token does not hold`,
    {
      expose: true,
      hint: 'sign in again and grant the scope, or ask the server operator for it'
    }
  );
}

/**
 * A tool that needs more than `sql:read`: a token without the scopes gets 403 `insufficient_scope`
 * naming every scope the call needs, which lets the client ask the user for them (step-up). The
 * refused call is audited here, since no handler runs. Without OAuth (no token) there is nothing to
 * check.
 */
function scopeChallenge(required: readonly string[], environment: Environment, tool: string): ScopeChallengeHandler {
  return ({ authInfo }) => {
    if (authInfo === undefined || missingScopes(required, authInfo).length === 0) return undefined;
    recordRefusedCall(environment, callerWith(authInfo, tool), 'access_denied');
    const scopes = [...new Set(['sql:read', ...authInfo.scopes.filter(s => s.startsWith('sql:')), ...required])] as [
      string,
      ...string[]
    ];
    return { scopes, errorDescription: `this tool needs the ${required.join(' ')} scope` };
  };
}
