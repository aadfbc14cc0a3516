import type { SessionIdentity } from '../../db/driver.ts';
import { StatementGuard } from '../../db/guard/statement-guard.ts';
import type { Environment } from '../../environment.ts';
import { ConfigError, type ConfigProblem } from '../../errors/config-error.ts';
import type { ToolDefinition } from '../tool.ts';
import { curatedTool, type PreparedStatement } from './curated-tool.ts';
import { ENGINE_SYNTAX } from './engine-syntax.ts';
import { inGroups, refuseOutsideGroups } from './groups.ts';
import { compilePlaceholders, PlaceholderError } from './placeholders.ts';
import type { CuratedToolConfig } from './tool-config.ts';

/** One environment's curated tools, and who gets which tools. */
export interface CuratedTools {
  /** The curated tools this caller may see and call, in configuration order. */
  visibleTo(identity: SessionIdentity | undefined): ToolDefinition[];
  /** Whether this caller gets execute_sql (and execute_write_sql where offered). */
  freeSqlFor(identity: SessionIdentity | undefined): boolean;
  /** A free-SQL tool that also refuses, when called, a caller who may not use it. */
  gateFreeSql<T extends ToolDefinition>(tool: T): T;
}

/**
 * Compiles every curated tool of the environment for its engine: placeholders into bound
 * parameters, each statement through the statement guard. Called when the server starts, so a tool
 * that could never run stops the start with a ConfigError naming its setting (exit code 2).
 */
export function prepareCuratedTools(environment: Environment): CuratedTools {
  const problems: ConfigProblem[] = [];
  const tools: { tool: ToolDefinition; groups: readonly string[] | undefined }[] = [];
  for (const [name, config] of Object.entries(environment.config.tools)) {
    const setting = `environments.${environment.name}.tools.${name}.${config.sql === undefined ? 'procedure' : 'sql'}`;
    try {
      const statement = prepareStatement(config, environment);
      tools.push({ tool: curatedTool(name, config, statement, environment), groups: config.groups });
    } catch (error) {
      if (!(error instanceof PlaceholderError || error instanceof UnrunnableStatement)) throw error;
      problems.push({ setting, problem: error.message });
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const access = environment.config.executeSql;
  const freeSqlFor = (identity: SessionIdentity | undefined): boolean =>
    typeof access === 'boolean' ? access : inGroups(access.groups, identity);
  return {
    visibleTo: identity =>
      tools.filter(entry => entry.groups === undefined || inGroups(entry.groups, identity)).map(entry => entry.tool),
    freeSqlFor,
    gateFreeSql: tool => {
      if (access === true) return tool;
      return {
        ...tool,
        run: (args, context) => {
          refuseOutsideGroups(tool.name, access === false ? [] : access.groups, context.caller?.identity);
          return tool.run(args, context);
        }
      };
    }
  };
}

/** Why a curated tool's statement could never run (the guard refuses it, the engine has no routines). */
class UnrunnableStatement extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnrunnableStatement';
  }
}

/** The statement as the engine runs it; throws PlaceholderError or UnrunnableStatement naming what is wrong. */
function prepareStatement(config: CuratedToolConfig, environment: Environment): PreparedStatement {
  const { adapter, engine } = environment.db;
  const syntax = ENGINE_SYNTAX[engine];
  const declared = Object.keys(config.parameters);
  let source = config.sql;
  if (source === undefined) {
    const parts = (config.procedure ?? '').split('.');
    const routine = parts.map(part => adapter.quoteIdentifier(part)).join('.');
    const column = adapter.quoteIdentifier(parts.at(-1) ?? 'result');
    source = syntax.routineCall(
      routine,
      column,
      declared.map(name => `:${name}`)
    );
    if (source === undefined)
      throw new UnrunnableStatement(`${adapter.engineName} has no stored routines; write sql instead`);
  }
  const compiled = compilePlaceholders(source, declared, adapter.guardRules.lexer, syntax);
  // The same guard caller SQL passes; at call time the runtime checks the statement again.
  const mode = config.readOnly ? 'read' : 'write';
  const rejection = new StatementGuard(adapter.guardRules).rejection(compiled.sql, { mode, maxStatements: 1 });
  if (rejection !== undefined) throw new UnrunnableStatement(`the statement guard refuses it: ${rejection}`);
  return { sql: compiled.sql, bindings: compiled.bindings, bind: syntax.bind };
}

/**
 * What the server instructions say about curated tools and a limited execute_sql. Per environment,
 * not per caller, so it names no tool: a group's tools stay unknown to everyone else.
 */
export function curatedInstructions(environment: Environment): string {
  const lines: string[] = [];
  if (Object.keys(environment.config.tools).length > 0) {
    lines.push('Curated tools answer common questions with a fixed, reviewed query: prefer one whenever it fits.');
  }
  if (environment.config.executeSql !== true) {
    lines.push('execute_sql is not offered to everyone here; without it, use the curated tools and the catalog tools.');
  }
  return lines.join('\n');
}
