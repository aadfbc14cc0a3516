import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config/load.ts';
import { ConfigError } from '../../src/errors/config-error.ts';
import { prepareCuratedTools } from '../../src/mcp/curated/curated-tools.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { emptyDir } from '../helpers/data-dir.ts';

/** Each mistake in a curated tool's settings is one message naming the exact setting. */

function configWith(environment: string, engine = '{ engine: sqlite, path: x.db }') {
  const dir = emptyDir('curated-config-');
  const path = join(dir, 'sqlbridge.yaml');
  const body = environment
    .trim()
    .split('\n')
    .map(line => `    ${line}`)
    .join('\n');
  writeFileSync(path, `environments:\n  p:\n    database: ${engine}\n${body}\n`);
  return loadConfig({ cli: { config: path }, env: {}, cwd: dir, demo: false }).config;
}

function problemOf(environment: string, engine?: string): string {
  try {
    configWith(environment, engine);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).message.replace(/ \(from \S*sqlbridge\.yaml\)/g, '');
  }
  throw new Error('expected a ConfigError');
}

const PARAM = '{ type: integer, description: "how many" }';

const MISTAKES: { name: string; tools: string; engine?: string; message: string }[] = [
  {
    name: 'a tool named like a built-in tool',
    tools: `tools:\n  execute_sql: { description: d, sql: "SELECT 1" }`,
    message:
      'environments.p.tools.execute_sql: invalid name "execute_sql": this name belongs to a tool sqlbridge offers itself'
  },
  {
    name: 'a tool with both sql and procedure',
    tools: `tools:\n  t: { description: d, sql: "SELECT 1", procedure: f }`,
    engine: '{ engine: postgres, host: db }',
    message: 'environments.p.tools.t.sql: a tool has either `sql` or `procedure`, exactly one'
  },
  {
    name: 'a tool with neither sql nor procedure',
    tools: `tools:\n  t: { description: d }`,
    message: 'environments.p.tools.t.sql: a tool has either `sql` or `procedure`, exactly one'
  },
  {
    name: 'an unknown parameter type',
    tools: `tools:\n  t: { description: d, sql: "SELECT :n", parameters: { n: { type: int, description: x } } }`,
    message: 'environments.p.tools.t.parameters.n.type'
  },
  {
    name: 'an enum value of the wrong type',
    tools: `tools:\n  t: { description: d, sql: "SELECT :n", parameters: { n: { type: integer, description: x, enum: [1, two] } } }`,
    message: 'environments.p.tools.t.parameters.n.enum.1: "two" is not a valid integer'
  },
  {
    name: 'a default outside the bounds',
    tools: `tools:\n  t: { description: d, sql: "SELECT :n", parameters: { n: { type: integer, description: x, minimum: 1, maximum: 10, default: 11 } } }`,
    message: 'environments.p.tools.t.parameters.n.default: 11 is not a valid integer (at least 1, at most 10)'
  },
  {
    name: 'a default not in the enum',
    tools: `tools:\n  t: { description: d, sql: "SELECT :n", parameters: { n: { type: string, description: x, enum: [eu, us], default: asia } } }`,
    message: 'environments.p.tools.t.parameters.n.default: "asia" is not a valid string listed in its enum'
  },
  {
    name: 'a minimum on a text parameter',
    tools: `tools:\n  t: { description: d, sql: "SELECT :n", parameters: { n: { type: string, description: x, minimum: 1 } } }`,
    message: 'environments.p.tools.t.parameters.n.minimum: only integer and number parameters have a minimum'
  },
  {
    name: 'a maximum below the minimum',
    tools: `tools:\n  t: { description: d, sql: "SELECT :n", parameters: { n: { type: number, description: x, minimum: 5, maximum: 1 } } }`,
    message: 'environments.p.tools.t.parameters.n.maximum: the maximum (1) is below the minimum (5)'
  },
  {
    name: 'a pattern that is no regular expression',
    tools: `tools:\n  t: { description: d, sql: "SELECT :n", parameters: { n: { type: string, description: x, pattern: "([a-z" } } }`,
    message: 'environments.p.tools.t.parameters.n.pattern: not a valid regular expression'
  },
  {
    name: 'a required parameter with a default',
    tools: `tools:\n  t: { description: d, sql: "SELECT :n", parameters: { n: { type: integer, description: x, default: 1, required: true } } }`,
    message: 'environments.p.tools.t.parameters.n.required: a parameter with a default is never required'
  },
  {
    name: 'a misspelt setting of a tool',
    tools: `tools:\n  t: { description: d, sql: "SELECT :n", paramters: { n: ${PARAM} } }`,
    message: 'environments.p.tools.t'
  },
  {
    name: 'a writing tool in a read-only environment',
    tools: `tools:\n  t: { description: d, sql: "DELETE FROM x", readOnly: false }`,
    message: 'environments.p.tools.t.readOnly: a read-only environment runs no tool that changes data'
  },
  {
    name: 'a procedure on SQLite',
    tools: `tools:\n  t: { description: d, procedure: f }`,
    message: 'environments.p.tools.t.procedure: SQLite has no stored routines; write `sql` instead'
  },
  {
    name: 'a row cap above the environment’s',
    tools: `limits: { maxRows: 50 }\ntools:\n  t: { description: d, sql: "SELECT 1", maxRows: 100 }`,
    message: 'environments.p.tools.t.maxRows: at most the environment’s limits.maxRows (50)'
  },
  {
    name: 'a scope that does not exist',
    tools: `tools:\n  t: { description: d, sql: "SELECT 1", scopes: [sql:admin] }`,
    message: 'environments.p.tools.t.scopes.0'
  },
  {
    name: 'execute_sql for no group at all',
    tools: 'executeSql: { groups: [] }',
    message: 'environments.p.executeSql'
  }
];

describe('curated tools configuration', () => {
  it.each(MISTAKES)('names the setting: $name', ({ tools, engine, message }) => {
    expect(problemOf(tools, engine)).toContain(`invalid configuration: ${message}`);
  });

  it('accepts a complete tool and keeps execute_sql on by default', () => {
    const config = configWith(
      `tools:\n  by_region:\n    description: Orders of a region\n    sql: "SELECT * FROM orders WHERE region = :region LIMIT :n"\n    parameters:\n      region: { type: string, description: Region, enum: [eu, us] }\n      n: { type: integer, description: Rows, minimum: 1, maximum: 100, default: 10 }\n    groups: [sales]`
    );
    const environment = config.environments['p'];
    expect(environment?.executeSql).toBe(true);
    expect(environment?.tools['by_region']?.parameters['n']?.default).toBe(10);
  });
});

describe('curated tools checked against the engine at start', () => {
  function startProblem(tools: string): string {
    const app = createApp(configWith(tools), createLogger('silent'));
    const environment = app.environments[0];
    if (environment === undefined) throw new Error('no environment');
    try {
      prepareCuratedTools(environment);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return (error as ConfigError).message;
    }
    throw new Error('expected a ConfigError');
  }

  it('names a placeholder that is not a parameter', () => {
    expect(startProblem(`tools:\n  t: { description: d, sql: "SELECT * FROM x WHERE a = :regoin" }`)).toBe(
      "invalid configuration: environments.p.tools.t.sql: the SQL uses :regoin, which is not among the tool's parameters"
    );
  });

  it('names a parameter the SQL never uses', () => {
    expect(startProblem(`tools:\n  t: { description: d, sql: "SELECT 1", parameters: { n: ${PARAM} } }`)).toBe(
      'invalid configuration: environments.p.tools.t.sql: the parameter n is declared but the SQL never uses it (write :n)'
    );
  });

  it('names a statement the guard refuses, with its reason', () => {
    expect(
      startProblem(`tools:\n  t: { description: d, sql: "DELETE FROM x WHERE id = :n", parameters: { n: ${PARAM} } }`)
    ).toMatch(/^invalid configuration: environments\.p\.tools\.t\.sql: the statement guard refuses it: .*DELETE/);
  });

  it('names every broken tool at once', () => {
    const message = startProblem(
      `tools:\n  a: { description: d, sql: "SELECT :x" }\n  b: { description: d, sql: "SELECT 1; SELECT 2" }`
    );
    expect(message).toContain('environments.p.tools.a.sql');
    expect(message).toContain('environments.p.tools.b.sql');
  });
});
