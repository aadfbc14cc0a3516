/**
 * The parser of tests/helpers/go-template.ts: splits a template into text and actions (trim markers, comments),
 * reads each action's tokens, and builds the tree of if/with/range/define/template nodes and pipelines. What the
 * interpreter does not implement is refused here with the file and line.
 */

type Token =
  | { kind: 'field'; base: 'dot' | 'variable'; variable: string; path: string[] }
  | { kind: 'identifier'; name: string }
  | { kind: 'string'; value: string }
  | { kind: 'number'; value: number | bigint }
  | { kind: 'punct'; value: '(' | ')' | '|' | ',' | ':=' | '=' };

export type Operand =
  | { kind: 'field'; base: 'dot' | 'variable'; variable: string; path: string[] }
  | { kind: 'function'; name: string }
  | { kind: 'literal'; value: unknown }
  | { kind: 'pipeline'; pipeline: Pipeline };

export interface Pipeline {
  declare: string[];
  assign: boolean;
  commands: Operand[][];
}

export type Node =
  | { kind: 'text'; text: string }
  | { kind: 'output'; pipeline: Pipeline }
  | { kind: 'if' | 'with'; pipeline: Pipeline; then: Node[]; otherwise: Node[] }
  | { kind: 'range'; pipeline: Pipeline; body: Node[]; otherwise: Node[] }
  | { kind: 'template'; name: string; pipeline: Pipeline | undefined };

/** One `{{ }}` action as written: its tokens, or a keyword and the tokens after it. */
interface Action {
  keyword: string | undefined;
  tokens: Token[];
  where: string;
}

type Piece = { kind: 'text'; text: string } | { kind: 'action'; action: Action };

export const KEYWORDS = new Set(['if', 'else', 'end', 'range', 'with', 'define', 'template']);
const REFUSED_KEYWORDS = new Set(['block', 'break', 'continue']);

/** Splits a template into text and actions, applying the `{{-` and `-}}` trim markers and dropping comments. */
function scan(source: string, file: string): Piece[] {
  const pieces: Piece[] = [];
  let position = 0;
  let trimNextText = false;
  while (position < source.length) {
    const open = source.indexOf('{{', position);
    let text = source.slice(position, open < 0 ? source.length : open);
    if (trimNextText) text = text.replace(/^\s+/, '');
    if (open < 0) {
      pieces.push({ kind: 'text', text });
      break;
    }
    const line = source.slice(0, open).split('\n').length;
    const where = `${file}:${line}`;
    let cursor = open + 2;
    if (/^-[ \t\r\n]/.test(source.slice(cursor, cursor + 2))) {
      text = text.replace(/\s+$/, '');
      cursor += 2;
    }
    pieces.push({ kind: 'text', text });
    while (/[ \t\r\n]/.test(source[cursor] ?? '')) cursor++;
    if (source.startsWith('/*', cursor)) {
      const end = source.indexOf('*/', cursor);
      if (end < 0) throw new Error(`${where}: unclosed comment`);
      cursor = end + 2;
      const close = /^( -)?}}/.exec(source.slice(cursor));
      if (close === null) throw new Error(`${where}: a comment must end its action`);
      trimNextText = close[1] !== undefined;
      position = cursor + close[0].length;
      continue;
    }
    const { tokens, end, trim } = lexAction(source, cursor, where);
    trimNextText = trim;
    position = end;
    const first = tokens[0];
    let keyword: string | undefined;
    if (first?.kind === 'identifier' && REFUSED_KEYWORDS.has(first.name)) {
      throw new Error(`${where}: "${first.name}" is not supported by this interpreter`);
    }
    if (first?.kind === 'identifier' && KEYWORDS.has(first.name)) {
      keyword = first.name;
      tokens.shift();
    }
    pieces.push({ kind: 'action', action: { keyword, tokens, where } });
  }
  return pieces;
}

function lexAction(source: string, start: number, where: string): { tokens: Token[]; end: number; trim: boolean } {
  const tokens: Token[] = [];
  let i = start;
  for (;;) {
    const rest = source.slice(i);
    const space = /^[ \t\r\n]+/.exec(rest);
    if (space !== null) {
      if (rest.startsWith(' -}}', space[0].length - 1)) return { tokens, end: i + space[0].length + 3, trim: true };
      i += space[0].length;
      continue;
    }
    if (rest.startsWith('}}')) return { tokens, end: i + 2, trim: false };
    if (rest === '') throw new Error(`${where}: unclosed action`);
    let match: RegExpExecArray | null;
    if ((match = /^"((?:[^"\\\n]|\\.)*)"/.exec(rest)) !== null) {
      tokens.push({ kind: 'string', value: unquote(match[1] ?? '', where) });
    } else if ((match = /^`([^`]*)`/.exec(rest)) !== null) {
      tokens.push({ kind: 'string', value: match[1] ?? '' });
    } else if ((match = /^-?\d+(\.\d+)?(?![\w.])/.exec(rest)) !== null) {
      tokens.push({ kind: 'number', value: match[1] === undefined ? BigInt(match[0]) : Number(match[0]) });
    } else if ((match = /^(:=|[()|,=])/.exec(rest)) !== null) {
      tokens.push({ kind: 'punct', value: match[0] as '(' | ')' | '|' | ',' | ':=' | '=' });
    } else if ((match = /^\$(\w*)((?:\.\w+)*)/.exec(rest)) !== null) {
      const path = (match[2] ?? '').split('.').slice(1);
      tokens.push({ kind: 'field', base: 'variable', variable: `$${match[1] ?? ''}`, path });
    } else if ((match = /^\.(\w+(?:\.\w+)*)?/.exec(rest)) !== null) {
      tokens.push({
        kind: 'field',
        base: 'dot',
        variable: '',
        path: match[1] === undefined ? [] : match[1].split('.')
      });
    } else if ((match = /^[A-Za-z_]\w*/.exec(rest)) !== null) {
      if (rest[match[0].length] === '.') throw new Error(`${where}: fields of a function's result are not supported`);
      tokens.push({ kind: 'identifier', name: match[0] });
    } else {
      throw new Error(`${where}: cannot read ${JSON.stringify(rest.slice(0, 20))} in an action`);
    }
    i += match[0].length;
  }
}

/** Go's strconv.Unquote for the escapes a chart needs. */
function unquote(body: string, where: string): string {
  return body.replace(/\\(.)/g, (_all, escaped: string) => {
    const replacement = ({ n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"' } as Record<string, string>)[escaped];
    if (replacement === undefined) throw new Error(`${where}: the escape \\${escaped} is not supported`);
    return replacement;
  });
}

class Parser {
  private index = 0;
  readonly defines = new Map<string, Node[]>();
  private readonly pieces: Piece[];

  constructor(pieces: Piece[]) {
    this.pieces = pieces;
  }

  /** Parses nodes until `{{ end }}` or `{{ else }}` (returned as the stop), or the end of the template. */
  parseList(topLevel: boolean): { nodes: Node[]; stop: Action | undefined } {
    const nodes: Node[] = [];
    while (this.index < this.pieces.length) {
      const piece = this.pieces[this.index++];
      if (piece === undefined) break;
      if (piece.kind === 'text') {
        if (piece.text !== '') nodes.push({ kind: 'text', text: piece.text });
        continue;
      }
      const action = piece.action;
      switch (action.keyword) {
        case undefined:
          nodes.push({ kind: 'output', pipeline: parsePipeline(action.tokens, action.where, true) });
          break;
        case 'end':
        case 'else':
          if (topLevel) throw new Error(`${action.where}: unexpected ${action.keyword}`);
          return { nodes, stop: action };
        case 'if':
        case 'with':
        case 'range':
          nodes.push(this.parseControl(action.keyword, action));
          break;
        case 'define': {
          const name = onlyString(action.tokens, action.where);
          const body = this.parseList(false);
          if (body.stop?.keyword !== 'end') throw new Error(`${action.where}: define needs an end`);
          this.defines.set(name, body.nodes);
          break;
        }
        case 'template': {
          const [nameToken, ...rest] = action.tokens;
          if (nameToken?.kind !== 'string') throw new Error(`${action.where}: template needs a quoted name`);
          const pipeline = rest.length === 0 ? undefined : parsePipeline(rest, action.where, false);
          nodes.push({ kind: 'template', name: nameToken.value, pipeline });
          break;
        }
        default:
          throw new Error(`${action.where}: unknown action ${action.keyword}`);
      }
    }
    if (!topLevel) throw new Error('a control structure is missing its end');
    return { nodes, stop: undefined };
  }

  private parseControl(kind: 'if' | 'with' | 'range', action: Action): Node {
    const pipeline = parsePipeline(action.tokens, action.where, kind !== 'if');
    const body = this.parseList(false);
    let otherwise: Node[] = [];
    if (body.stop?.keyword === 'else') {
      const rest = body.stop.tokens;
      const elseIf = rest[0];
      if (elseIf !== undefined) {
        if (kind !== 'if' || elseIf.kind !== 'identifier' || elseIf.name !== 'if') {
          throw new Error(`${body.stop.where}: only "else if" may follow else`);
        }
        // `{{ else if x }}` is an if inside the else branch that shares this structure's end.
        otherwise = [this.parseControl('if', { keyword: 'if', tokens: rest.slice(1), where: body.stop.where })];
      } else {
        const tail = this.parseList(false);
        if (tail.stop?.keyword !== 'end') throw new Error(`${body.stop.where}: else needs an end`);
        otherwise = tail.nodes;
      }
    } else if (body.stop?.keyword !== 'end') {
      throw new Error(`${action.where}: ${kind} needs an end`);
    } else if (body.stop.tokens.length > 0) {
      throw new Error(`${body.stop.where}: end takes no arguments`);
    }
    return kind === 'range'
      ? { kind, pipeline, body: body.nodes, otherwise }
      : { kind, pipeline, then: body.nodes, otherwise };
  }
}

function onlyString(tokens: Token[], where: string): string {
  const [token, ...rest] = tokens;
  if (token?.kind !== 'string' || rest.length > 0) throw new Error(`${where}: expected one quoted name`);
  return token.value;
}

function parsePipeline(tokens: Token[], where: string, declarations: boolean): Pipeline {
  const pipeline: Pipeline = { declare: [], assign: false, commands: [] };
  let rest = tokens;
  const declaration = tokens.findIndex(
    token => token.kind === 'punct' && (token.value === ':=' || token.value === '=')
  );
  if (declaration >= 0) {
    const names = tokens.slice(0, declaration).filter(token => !(token.kind === 'punct' && token.value === ','));
    for (const name of names) {
      if (name.kind !== 'field' || name.base !== 'variable' || name.path.length > 0) {
        throw new Error(`${where}: only variables can be declared`);
      }
      pipeline.declare.push(name.variable);
    }
    const operator = tokens[declaration];
    pipeline.assign = operator?.kind === 'punct' && operator.value === '=';
    if (!declarations && !pipeline.assign && pipeline.declare.length > 0 && names.length > 1) {
      throw new Error(`${where}: two variables are only allowed in range`);
    }
    rest = tokens.slice(declaration + 1);
  }
  const state = { tokens: rest, index: 0 };
  pipeline.commands = readCommands(state, where);
  if (state.index !== rest.length) throw new Error(`${where}: unexpected ")"`);
  if (pipeline.commands.length === 0) throw new Error(`${where}: empty pipeline`);
  return pipeline;
}

function readCommands(state: { tokens: Token[]; index: number }, where: string): Operand[][] {
  const commands: Operand[][] = [[]];
  while (state.index < state.tokens.length) {
    const token = state.tokens[state.index];
    if (token === undefined) break;
    if (token.kind === 'punct' && token.value === ')') break;
    state.index++;
    const current = commands[commands.length - 1] ?? [];
    if (token.kind === 'punct') {
      if (token.value === '|') {
        if (current.length === 0) throw new Error(`${where}: empty command in a pipeline`);
        commands.push([]);
      } else if (token.value === '(') {
        const inner = readCommands(state, where);
        const close = state.tokens[state.index++];
        if (close?.kind !== 'punct' || close.value !== ')') throw new Error(`${where}: unclosed "("`);
        current.push({ kind: 'pipeline', pipeline: { declare: [], assign: false, commands: inner } });
      } else {
        throw new Error(`${where}: unexpected "${token.value}"`);
      }
    } else if (token.kind === 'field') {
      current.push({ kind: 'field', base: token.base, variable: token.variable, path: token.path });
    } else if (token.kind === 'identifier') {
      const literal = ({ true: true, false: false, nil: null } as Record<string, unknown>)[token.name];
      if (literal !== undefined) current.push({ kind: 'literal', value: literal });
      else if (KEYWORDS.has(token.name)) throw new Error(`${where}: unexpected keyword ${token.name}`);
      else current.push({ kind: 'function', name: token.name });
    } else {
      current.push({ kind: 'literal', value: token.value });
    }
  }
  if (commands[commands.length - 1]?.length === 0) commands.pop();
  return commands;
}

/** Parses one file: its nodes, and the templates it defines. */
export function parseTemplate(source: string, file: string): { nodes: Node[]; defines: Map<string, Node[]> } {
  const parser = new Parser(scan(source, file));
  const { nodes } = parser.parseList(true);
  return { nodes, defines: parser.defines };
}
