import { SqlbridgeError } from './sqlbridge-error.ts';

export interface ConfigProblem {
  /** Dotted path of the setting, e.g. `environments.demo.database.port`. */
  setting: string;
  problem: string;
  /** Where the offending value came from: a file, an environment variable or a CLI flag. */
  source?: string | undefined;
}

/** A configuration that cannot be used. The CLI prints `message` and exits with code 2. */
export class ConfigError extends SqlbridgeError {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    super('config_invalid', formatProblems(problems));
    this.name = 'ConfigError';
    this.problems = problems;
  }

  static single(setting: string, problem: string, source?: string): ConfigError {
    return new ConfigError([{ setting, problem, source }]);
  }
}

function formatProblems(problems: readonly ConfigProblem[]): string {
  const lines = problems.map(p => `${p.setting}${p.source === undefined ? '' : ` (from ${p.source})`}: ${p.problem}`);
  if (lines.length === 1) return `invalid configuration: ${lines[0] ?? ''}`;
  return `invalid configuration (${lines.length} problems):\n${lines.map(l => `  - ${l}`).join('\n')}`;
}
