import { readFileSync } from 'node:fs';

/** A Dockerfile read into its stages and instructions, for running its steps without a container engine. */

export interface Instruction {
  keyword: string;
  /** The text after the keyword, continuation lines joined. */
  args: string;
  line: number;
}

export interface Stage {
  image: string;
  name: string | undefined;
  instructions: Instruction[];
}

export function parseDockerfile(path: string): Stage[] {
  const stages: Stage[] = [];
  let pending = '';
  let startLine = 0;
  readFileSync(path, 'utf8')
    .split('\n')
    .forEach((raw, index) => {
      const line = raw.trim();
      if (pending === '' && (line === '' || line.startsWith('#'))) return;
      if (pending === '') startLine = index + 1;
      if (line.endsWith('\\')) {
        pending += `${line.slice(0, -1)} `;
        return;
      }
      const text = `${pending}${line}`;
      pending = '';
      const [, keyword = '', args = ''] = /^(\S+)\s*(.*)$/.exec(text) ?? [];
      const instruction = { keyword: keyword.toUpperCase(), args, line: startLine };
      if (instruction.keyword === 'FROM') {
        const [image = '', , name] = args.split(/\s+/);
        stages.push({ image, name, instructions: [] });
      } else {
        const stage = stages.at(-1);
        if (stage === undefined) throw new Error(`${path}:${startLine}: ${keyword} before FROM`);
        stage.instructions.push(instruction);
      }
    });
  return stages;
}

/** `KEY=value KEY2=value2` (ENV), values unquoted. */
export function parseEnv(args: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const match of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S*)/g)) {
    values[match[1]!] = match[2]!.replace(/^"(.*)"$/, '$1');
  }
  return values;
}

/** The variables the image's final stage sets (its ENV instructions, in order), as a container starts with them. */
export function imageEnv(path: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const instruction of parseDockerfile(path).at(-1)?.instructions ?? []) {
    if (instruction.keyword === 'ENV') Object.assign(env, parseEnv(instruction.args));
  }
  return env;
}

/** The command the image's final stage starts with (its ENTRYPOINT, in exec form). */
export function imageEntrypoint(path: string): string[] {
  const entrypoint = parseDockerfile(path)
    .at(-1)
    ?.instructions.find(instruction => instruction.keyword === 'ENTRYPOINT');
  if (entrypoint === undefined) throw new Error(`${path} has no ENTRYPOINT in its final stage`);
  return execForm(entrypoint.args);
}

/** The JSON array of an exec-form instruction (ENTRYPOINT, CMD, HEALTHCHECK … CMD). */
export function execForm(args: string): string[] {
  const json = args.slice(args.indexOf('['));
  const parsed = JSON.parse(json) as unknown;
  if (!Array.isArray(parsed) || !parsed.every(item => typeof item === 'string')) {
    throw new Error(`expected the exec form (a JSON array of strings), got ${args}`);
  }
  return parsed;
}

/** The patterns of a .dockerignore file. */
export function readDockerignore(path: string): string[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .map(line => line.trim())
    .filter(line => line !== '' && !line.startsWith('#'));
}
