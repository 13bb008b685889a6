import { createHash } from 'node:crypto';
import { stringify as toYamlText } from 'yaml';

/**
 * Renders a Helm chart's templates without the helm binary (none can be installed
 * here): Go's text/template for the subset our chart uses (actions with trim markers,
 * comments, if / else if / else, with, range over lists and maps with $k, $v, define,
 * pipelines, parentheses, variables) and the Sprig/Helm functions it calls. A template
 * that uses anything else fails loudly, so the chart cannot drift outside what this
 * checks. Semantics follow Go and Helm: emptiness for `if`, `default`, `required`;
 * toYaml sorts keys and drops the final newline; a missing value prints as nothing.
 */

type Value = unknown;
type Scope = { dot: Value; variables: Map<string, Value> };

interface TextNode {
  kind: 'text';
  text: string;
}
interface ActionNode {
  kind: 'action';
  pipeline: Pipeline;
}
interface IfNode {
  kind: 'if' | 'with';
  branches: Array<{ pipeline: Pipeline; body: Node[] }>;
  otherwise: Node[];
}
interface RangeNode {
  kind: 'range';
  keyVariable: string | null;
  valueVariable: string | null;
  pipeline: Pipeline;
  body: Node[];
  otherwise: Node[];
}
type Node = TextNode | ActionNode | IfNode | RangeNode;

/** `$x := a | b c` : the declared variable (if any) and commands separated by `|`. */
interface Pipeline {
  declare: string | null;
  commands: Operand[][];
}
type Operand =
  | { kind: 'field'; base: 'dot' | string; path: string[] }
  | { kind: 'literal'; value: Value }
  | { kind: 'function'; name: string }
  | { kind: 'group'; pipeline: Pipeline };

export class TemplateError extends Error {}

export class ChartRenderer {
  readonly #defines = new Map<string, Node[]>();
  readonly #templates = new Map<string, Node[]>();

  constructor(files: Map<string, string>) {
    for (const [name, text] of files) this.#templates.set(name, this.#parse(name, text));
  }

  /** Renders one template file (the defines of every file are known) with Helm's built-in objects. */
  render(name: string, context: { Values: Value; Release: Value; Chart: Value }): string {
    const nodes = this.#templates.get(name);
    if (nodes === undefined) throw new TemplateError(`no template ${name}`);
    return this.#run(nodes, { dot: context, variables: new Map([['$', context]]) });
  }

  #parse(file: string, text: string): Node[] {
    // Tokens: text and actions, applying the trim markers as Go does.
    const tokens: Array<{ text: string } | { action: string }> = [];
    const pattern = /\{\{(-\s)?([\s\S]*?)(\s-)?\}\}/g;
    let last = 0;
    for (const match of text.matchAll(pattern)) {
      let before = text.slice(last, match.index);
      if (match[1] !== undefined) before = before.replace(/\s+$/, '');
      tokens.push({ text: before });
      tokens.push({ action: (match[2] as string).trim() });
      last = (match.index as number) + match[0].length;
      if (match[3] !== undefined) {
        const rest = /^\s*/.exec(text.slice(last)) as RegExpExecArray;
        last += rest[0].length;
      }
    }
    tokens.push({ text: text.slice(last) });

    let position = 0;
    const block = (closers: RegExp): { nodes: Node[]; closer: string | null } => {
      const nodes: Node[] = [];
      while (position < tokens.length) {
        const token = tokens[position++] as { text: string } | { action: string };
        if ('text' in token) {
          if (token.text !== '') nodes.push({ kind: 'text', text: token.text });
          continue;
        }
        const action = token.action;
        if (action.startsWith('/*')) continue;
        if (closers.test(action)) return { nodes, closer: action };
        const keyword = /^(if|with|range|define|else|end)\b\s*([\s\S]*)$/.exec(action);
        if (keyword === null) {
          nodes.push({ kind: 'action', pipeline: parsePipeline(action, file) });
          continue;
        }
        const [, word, rest] = keyword as unknown as [string, string, string];
        if (word === 'if' || word === 'with') {
          const node: IfNode = { kind: word, branches: [], otherwise: [] };
          let condition = rest;
          for (;;) {
            const inner = block(/^(else|end)\b/);
            node.branches.push({ pipeline: parsePipeline(condition, file), body: inner.nodes });
            if (inner.closer === null) throw new TemplateError(`${file}: {{ ${word} }} without {{ end }}`);
            if (inner.closer === 'end') break;
            const elseIf = /^else\s+if\s+([\s\S]+)$/.exec(inner.closer);
            if (elseIf !== null && word === 'if') {
              condition = elseIf[1] as string;
              continue;
            }
            if (inner.closer !== 'else') throw new TemplateError(`${file}: unsupported {{ ${inner.closer} }}`);
            const tail = block(/^end$/);
            if (tail.closer === null) throw new TemplateError(`${file}: {{ else }} without {{ end }}`);
            node.otherwise = tail.nodes;
            break;
          }
          nodes.push(node);
        } else if (word === 'range') {
          const declaration = /^(\$\w+)\s*(?:,\s*(\$\w+))?\s*:=\s*([\s\S]+)$/.exec(rest);
          const inner = block(/^(else|end)$/);
          if (inner.closer === null) throw new TemplateError(`${file}: {{ range }} without {{ end }}`);
          const otherwise = inner.closer === 'else' ? block(/^end$/).nodes : [];
          nodes.push({
            kind: 'range',
            keyVariable: declaration !== null && declaration[2] !== undefined ? (declaration[1] as string) : null,
            valueVariable: declaration === null ? null : ((declaration[2] ?? declaration[1]) as string),
            pipeline: parsePipeline(declaration === null ? rest : (declaration[3] as string), file),
            body: inner.nodes,
            otherwise,
          });
        } else if (word === 'define') {
          const name = /^"([^"]+)"$/.exec(rest)?.[1];
          if (name === undefined) throw new TemplateError(`${file}: bad {{ define ${rest} }}`);
          const inner = block(/^end$/);
          if (inner.closer === null) throw new TemplateError(`${file}: {{ define }} without {{ end }}`);
          this.#defines.set(name, inner.nodes);
        } else {
          throw new TemplateError(`${file}: unexpected {{ ${action} }}`);
        }
      }
      return { nodes, closer: null };
    };
    const top = block(/^(else|end)\b/);
    if (top.closer !== null) throw new TemplateError(`${file}: {{ ${top.closer} }} without its block`);
    return top.nodes;
  }

  #run(nodes: Node[], scope: Scope): string {
    let output = '';
    for (const node of nodes) {
      if (node.kind === 'text') output += node.text;
      else if (node.kind === 'action') {
        const value = this.#pipeline(node.pipeline, scope);
        if (node.pipeline.declare === null) output += printed(value);
      } else if (node.kind === 'if' || node.kind === 'with') {
        let taken = false;
        for (const branch of node.branches) {
          const value = this.#pipeline(branch.pipeline, scope);
          if (truthy(value)) {
            output += this.#run(branch.body, node.kind === 'with' ? { dot: value, variables: scope.variables } : scope);
            taken = true;
            break;
          }
        }
        if (!taken) output += this.#run(node.otherwise, scope);
      } else if (node.kind === 'range') {
        const collection = this.#pipeline(node.pipeline, scope);
        const entries: Array<[Value, Value]> = Array.isArray(collection)
          ? collection.map((item, index) => [index, item])
          : collection !== null && typeof collection === 'object'
            ? Object.keys(collection)
                .sort()
                .map((key) => [key, (collection as Record<string, Value>)[key]])
            : [];
        if (entries.length === 0) output += this.#run(node.otherwise, scope);
        for (const [key, item] of entries) {
          const variables = new Map(scope.variables);
          if (node.keyVariable !== null) variables.set(node.keyVariable, key);
          if (node.valueVariable !== null) variables.set(node.valueVariable, item);
          output += this.#run(node.body, { dot: item, variables });
        }
      }
    }
    return output;
  }

  #pipeline(pipeline: Pipeline, scope: Scope): Value {
    let carried: Value = undefined;
    pipeline.commands.forEach((command, index) => {
      carried = this.#command(command, scope, index === 0 ? [] : [carried]);
    });
    if (pipeline.declare !== null) scope.variables.set(pipeline.declare, carried);
    return carried;
  }

  #command(command: Operand[], scope: Scope, piped: Value[]): Value {
    const [head, ...rest] = command;
    if (head === undefined) throw new TemplateError('empty command');
    if (head.kind !== 'function') {
      if (rest.length > 0 || piped.length > 0) throw new TemplateError('a value cannot take arguments');
      return this.#operand(head, scope);
    }
    const args = [...rest.map((operand) => this.#operand(operand, scope)), ...piped];
    return this.#call(head.name, args);
  }

  #operand(operand: Operand, scope: Scope): Value {
    switch (operand.kind) {
      case 'literal':
        return operand.value;
      case 'group':
        return this.#pipeline(operand.pipeline, scope);
      case 'function':
        return this.#call(operand.name, []);
      case 'field': {
        let value: Value;
        if (operand.base === 'dot') value = scope.dot;
        else {
          if (!scope.variables.has(operand.base)) throw new TemplateError(`undefined variable ${operand.base}`);
          value = scope.variables.get(operand.base);
        }
        for (const [index, key] of operand.path.entries()) {
          if (value === null || value === undefined) throw new TemplateError(`nil pointer evaluating .${operand.path.slice(0, index + 1).join('.')}`);
          value = (value as Record<string, Value>)[key];
        }
        return value;
      }
    }
  }

  #call(name: string, args: Value[]): Value {
    const text = (value: Value) => (typeof value === 'string' ? value : printed(value));
    switch (name) {
      case 'include': {
        const body = this.#defines.get(String(args[0]));
        if (body === undefined) throw new TemplateError(`no template "${String(args[0])}" defined`);
        return this.#run(body, { dot: args[1], variables: new Map([['$', args[1]]]) });
      }
      case 'default':
        return truthy(args[1]) ? args[1] : args[0];
      case 'required':
        if (!truthy(args[1]) && args[1] !== false && args[1] !== 0) throw new TemplateError(`execution error: ${String(args[0])}`);
        return args[1];
      case 'quote':
        return args.map((arg) => JSON.stringify(arg === undefined || arg === null ? '' : text(arg))).join(' ');
      case 'toYaml':
        return args[0] === undefined || args[0] === null ? 'null' : toYamlText(args[0], { sortMapEntries: true, lineWidth: 0 }).replace(/\n$/, '');
      case 'nindent':
        return `\n${indent(Number(args[0]), text(args[1]))}`;
      case 'indent':
        return indent(Number(args[0]), text(args[1]));
      case 'trunc':
        return text(args[1]).slice(0, Number(args[0]));
      case 'trimSuffix':
        return text(args[1]).endsWith(String(args[0])) ? text(args[1]).slice(0, -String(args[0]).length) : text(args[1]);
      case 'contains':
        return text(args[1]).includes(text(args[0]));
      case 'printf': {
        const rest = args.slice(1);
        return String(args[0]).replace(/%([sdvq%])/g, (_match, verb: string) => (verb === '%' ? '%' : verb === 'q' ? JSON.stringify(text(rest.shift())) : text(rest.shift())));
      }
      case 'sha256sum':
        return createHash('sha256').update(text(args[0])).digest('hex');
      case 'add':
        return args.reduce<number>((sum, arg) => sum + Number(arg), 0);
      case 'not':
        return !truthy(args[0]);
      case 'and':
        return args.find((arg) => !truthy(arg)) ?? args[args.length - 1];
      case 'or':
        return args.find((arg) => truthy(arg)) ?? args[args.length - 1];
      default:
        throw new TemplateError(`function "${name}" not defined (the test renderer knows only the chart's functions)`);
    }
  }
}

/** Go's notion of empty: false, 0, nil, "" and empty lists and maps. */
function truthy(value: Value): boolean {
  if (value === null || value === undefined || value === false || value === 0 || value === '') return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return true;
}

/** How an action prints a value; Helm prints a missing one as nothing. */
function printed(value: Value): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') throw new TemplateError('printing a map or list (use toYaml)');
  return String(value);
}

function indent(spaces: number, text: string): string {
  const pad = ' '.repeat(spaces);
  return text
    .split('\n')
    .map((line) => pad + line)
    .join('\n');
}

function parsePipeline(source: string, file: string): Pipeline {
  const tokens = tokenize(source, file);
  let position = 0;
  const parse = (closing: string | null): Pipeline => {
    let declare: string | null = null;
    if (/^\$\w*$/.test(tokens[position] ?? '') && tokens[position + 1] === ':=') {
      declare = tokens[position] as string;
      position += 2;
    }
    const commands: Operand[][] = [[]];
    while (position < tokens.length && tokens[position] !== closing) {
      const token = tokens[position++] as string;
      if (token === '|') {
        commands.push([]);
        continue;
      }
      (commands[commands.length - 1] as Operand[]).push(operandOf(token));
    }
    if (closing !== null) {
      if (tokens[position] !== closing) throw new TemplateError(`${file}: unclosed ( in {{ ${source} }}`);
      position += 1;
    }
    if (commands.some((command) => command.length === 0)) throw new TemplateError(`${file}: empty command in {{ ${source} }}`);
    return { declare, commands };
  };
  const operandOf = (token: string): Operand => {
    if (token === '(') return { kind: 'group', pipeline: parse(')') };
    if (token.startsWith('"')) return { kind: 'literal', value: JSON.parse(token) as string };
    if (/^-?\d+(\.\d+)?$/.test(token)) return { kind: 'literal', value: Number(token) };
    if (token === 'true' || token === 'false') return { kind: 'literal', value: token === 'true' };
    if (token === 'nil') return { kind: 'literal', value: null };
    if (token === '.') return { kind: 'field', base: 'dot', path: [] };
    if (token.startsWith('.')) return { kind: 'field', base: 'dot', path: token.slice(1).split('.') };
    if (token.startsWith('$')) {
      const [base, ...path] = token.split('.');
      return { kind: 'field', base: base as string, path };
    }
    if (/^[A-Za-z]\w*$/.test(token)) return { kind: 'function', name: token };
    throw new TemplateError(`${file}: cannot read "${token}" in {{ ${source} }}`);
  };
  const pipeline = parse(null);
  if (position !== tokens.length) throw new TemplateError(`${file}: unexpected ) in {{ ${source} }}`);
  return pipeline;
}

function tokenize(source: string, file: string): string[] {
  const tokens: string[] = [];
  const pattern = /\s*("(?:[^"\\]|\\.)*"|:=|\||\(|\)|[^\s|()"]+)/y;
  let match: RegExpExecArray | null;
  let position = 0;
  while (position < source.length) {
    pattern.lastIndex = position;
    match = pattern.exec(source);
    if (match === null) {
      if (/^\s*$/.test(source.slice(position))) break;
      throw new TemplateError(`${file}: cannot read {{ ${source} }}`);
    }
    tokens.push(match[1] as string);
    position = pattern.lastIndex;
  }
  return tokens;
}
