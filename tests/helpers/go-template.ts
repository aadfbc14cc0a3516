import { parseTemplate, type Node, type Operand, type Pipeline } from './go-template-parser.ts';

/**
 * An interpreter for the part of Go's text/template language (https://pkg.go.dev/text/template) that the Helm
 * chart in deploy/helm uses: actions with trim markers and comments, fields of `.` and of variables, `$`,
 * variables (`:=`, `=`), pipelines, parenthesised pipelines, string/number/boolean literals, and the actions
 * if/else if/else, with/else, range (over lists and maps, with index and value variables)/else, define and
 * template. Anything else (block, break, continue, method calls, `.Field` on a parenthesised value, an unknown
 * function) is refused with an error rather than guessed at, so that a template this interpreter would misread
 * cannot pass a test.
 *
 * Values follow Helm's: numbers read from values files are float64 (JavaScript numbers), integer literals in a
 * template are Go ints (bigint here), and comparing the two is an error, as in Go.
 */

export type GoFunction = (context: CallContext, args: readonly unknown[]) => unknown;

export interface CallContext {
  /** Executes the named template with the given data and returns its text (Helm's `include`). */
  include(name: string, data: unknown): string;
}

/** Objects whose missing fields are errors (Go structs), unlike maps, whose missing keys are nil. */
export const goStructs = new WeakSet<object>();

/** Go's truth of a value for if, with, and, or, not: false, 0, nil, and empty strings, lists and maps are false. */
export function isTrue(value: unknown): boolean {
  if (value === undefined || value === null || value === false || value === 0 || value === 0n || value === '') {
    return false;
  }
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return true;
}

/** Go's %v of a float64: the shortest representation, with an exponent from 1e+06 up and below 1e-04. */
export function formatFloat(value: number): string {
  if (!Number.isFinite(value)) throw new Error(`cannot print ${value}`);
  if (value === 0) return '0';
  const [mantissa = '', exponentText = '0'] = value.toExponential().split('e');
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= 21 || exponent >= 6) {
    const sign = exponent < 0 ? '-' : '+';
    return `${mantissa}e${sign}${String(Math.abs(exponent)).padStart(2, '0')}`;
  }
  return String(value);
}

/** How `{{ value }}` prints a value; lists and maps are refused (Go would print its own map[...] syntax). */
export function printValue(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'bigint') return String(value);
  if (typeof value === 'number') return formatFloat(value);
  if (typeof value === 'boolean') return String(value);
  throw new Error(`cannot print a ${Array.isArray(value) ? 'list' : 'map'} without toYaml`);
}

type Scope = Map<string, unknown>[];

/** A parsed set of templates (every file of a chart shares one set, as in Helm) and its functions. */
export class TemplateSet {
  private readonly templates = new Map<string, Node[]>();
  private readonly functions: Readonly<Record<string, GoFunction>>;

  constructor(functions: Readonly<Record<string, GoFunction>>) {
    this.functions = functions;
  }

  /** Parses a file; its defines join the set, and the file itself becomes the template named `name`. */
  add(name: string, source: string): void {
    const { nodes, defines } = parseTemplate(source, name);
    for (const [defined, body] of defines) this.templates.set(defined, body);
    this.templates.set(name, nodes);
  }

  execute(name: string, data: unknown): string {
    const nodes = this.templates.get(name);
    if (nodes === undefined) throw new Error(`no template named ${JSON.stringify(name)}`);
    const out: string[] = [];
    this.run(nodes, data, [new Map([['$', data]])], out);
    return out.join('');
  }

  private run(nodes: Node[], dot: unknown, scope: Scope, out: string[]): void {
    for (const node of nodes) {
      switch (node.kind) {
        case 'text':
          out.push(node.text);
          break;
        case 'output': {
          const value = this.pipeline(node.pipeline, dot, scope);
          if (node.pipeline.declare.length === 0) out.push(printValue(value));
          break;
        }
        case 'if':
        case 'with': {
          const inner: Scope = [...scope, new Map<string, unknown>()];
          const value = this.pipeline(node.pipeline, dot, inner);
          if (isTrue(value)) this.run(node.then, node.kind === 'with' ? value : dot, inner, out);
          else this.run(node.otherwise, dot, [...scope, new Map<string, unknown>()], out);
          break;
        }
        case 'range':
          this.range(node, dot, scope, out);
          break;
        case 'template':
          out.push(
            this.execute(node.name, node.pipeline === undefined ? null : this.pipeline(node.pipeline, dot, scope))
          );
          break;
      }
    }
  }

  private range(node: Extract<Node, { kind: 'range' }>, dot: unknown, scope: Scope, out: string[]): void {
    const { declare } = node.pipeline;
    const value = this.evaluate({ ...node.pipeline, declare: [] }, dot, scope);
    let entries: [unknown, unknown][];
    if (value === undefined || value === null) entries = [];
    else if (Array.isArray(value)) entries = value.map((item, i) => [BigInt(i), item]);
    else if (typeof value === 'object') {
      const map = value as Record<string, unknown>;
      // Go ranges over a map in the order of its sorted keys.
      entries = Object.keys(map)
        .sort()
        .map(key => [key, map[key]]);
    } else throw new Error(`range cannot iterate over ${typeof value}`);
    if (entries.length === 0) {
      this.run(node.otherwise, dot, [...scope, new Map<string, unknown>()], out);
      return;
    }
    for (const [key, item] of entries) {
      const inner = new Map<string, unknown>();
      if (declare.length === 1) inner.set(declare[0] ?? '', item);
      if (declare.length === 2) {
        inner.set(declare[0] ?? '', key);
        inner.set(declare[1] ?? '', item);
      }
      this.run(node.body, item, [...scope, inner], out);
    }
  }

  private pipeline(pipeline: Pipeline, dot: unknown, scope: Scope): unknown {
    const value = this.evaluate(pipeline, dot, scope);
    if (pipeline.declare.length > 1) throw new Error('two variables are only allowed in range');
    const name = pipeline.declare[0];
    if (name === undefined) return value;
    if (pipeline.assign) {
      const holder = [...scope].reverse().find(frame => frame.has(name));
      if (holder === undefined) throw new Error(`undefined variable ${name}`);
      holder.set(name, value);
    } else {
      scope[scope.length - 1]?.set(name, value);
    }
    return value;
  }

  private evaluate(pipeline: Pipeline, dot: unknown, scope: Scope): unknown {
    let piped: { value: unknown } | undefined;
    for (const command of pipeline.commands) {
      piped = { value: this.command(command, dot, scope, piped) };
    }
    return piped?.value;
  }

  private command(command: Operand[], dot: unknown, scope: Scope, piped: { value: unknown } | undefined): unknown {
    const [head, ...rest] = command;
    if (head === undefined) throw new Error('empty command');
    if (head.kind !== 'function') {
      if (rest.length > 0 || piped !== undefined) throw new Error('only a function takes arguments');
      return this.operand(head, dot, scope);
    }
    const fn = this.functions[head.name];
    if (fn === undefined) throw new Error(`function "${head.name}" is not supported by this interpreter`);
    const evaluateArg = (operand: Operand): unknown => this.operand(operand, dot, scope);
    // and/or stop at the first argument that decides them (Go 1.18), so their arguments are evaluated lazily.
    if (head.name === 'and' || head.name === 'or') {
      const thunks: (() => unknown)[] = rest.map(operand => () => evaluateArg(operand));
      if (piped !== undefined) thunks.push(() => piped.value);
      return fn(this.callContext(), thunks);
    }
    const args = rest.map(evaluateArg);
    if (piped !== undefined) args.push(piped.value);
    return fn(this.callContext(), args);
  }

  private callContext(): CallContext {
    return { include: (name, data) => this.execute(name, data) };
  }

  private operand(operand: Operand, dot: unknown, scope: Scope): unknown {
    switch (operand.kind) {
      case 'literal':
        return operand.value;
      case 'pipeline':
        return this.evaluate(operand.pipeline, dot, scope);
      case 'function': {
        const fn = this.functions[operand.name];
        if (fn === undefined) throw new Error(`function "${operand.name}" is not supported by this interpreter`);
        return fn(this.callContext(), []);
      }
      case 'field': {
        let value: unknown = dot;
        if (operand.base === 'variable') {
          const frame = [...scope].reverse().find(candidate => candidate.has(operand.variable));
          if (frame === undefined) throw new Error(`undefined variable ${operand.variable}`);
          value = frame.get(operand.variable);
        }
        for (const key of operand.path) value = field(value, key);
        return value;
      }
    }
  }
}

function field(value: unknown, key: string): unknown {
  if (value === undefined || value === null) throw new Error(`nil pointer evaluating interface {}.${key}`);
  if (typeof value !== 'object' || Array.isArray(value))
    throw new Error(`can't evaluate field ${key} in ${typeof value}`);
  const map = value as Record<string, unknown>;
  if (Object.hasOwn(map, key)) return map[key];
  if (goStructs.has(value)) throw new Error(`can't evaluate field ${key}`);
  return undefined;
}
