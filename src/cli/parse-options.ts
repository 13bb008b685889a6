import { parseArgs } from 'node:util';
import { UsageError } from './cli-error.ts';
import type { ArgumentSpec, OptionSpec } from './command-spec.ts';

type OptionValue = string | boolean | Array<string | boolean> | undefined;

/** The options of one call, read through their spec's types. */
export class ParsedOptions {
  readonly #values: Record<string, OptionValue>;

  constructor(values: Record<string, OptionValue>) {
    this.#values = values;
  }

  string(name: string): string | undefined {
    const value = this.#values[name];
    return typeof value === 'string' ? value : undefined;
  }

  strings(name: string): string[] | undefined {
    const value = this.#values[name];
    return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : undefined;
  }

  isSet(name: string): boolean {
    return this.#values[name] === true;
  }
}

export interface ParsedCommandLine {
  isHelp: boolean;
  options: ParsedOptions;
  argument: string | undefined;
}

export const helpOption: OptionSpec = { name: 'help', short: 'h', type: 'boolean', description: 'show this help', default: 'off' };

/**
 * Reads a leaf command's arguments against its spec. parseArgs runs loosely and the tokens are checked
 * here, so that each mistake gets its own one-line message (parseArgs' strict errors are several lines
 * and not meant for a person).
 */
export function parseOptions(args: string[], specs: readonly OptionSpec[], argument: ArgumentSpec | undefined, commandPath: string): ParsedCommandLine {
  const all = [...specs, helpOption];
  const byName = new Map(all.map((spec) => [spec.name, spec]));
  const options = Object.fromEntries(
    all.map((spec) => [spec.name, { type: spec.type, ...(spec.short === undefined ? {} : { short: spec.short }), ...(spec.multiple === true ? { multiple: true } : {}) }]),
  );
  const { values, positionals, tokens } = parseArgs({ args, options, strict: false, allowPositionals: true, tokens: true });
  const parsed = new ParsedOptions(values);
  if (parsed.isSet('help')) return { isHelp: true, options: parsed, argument: undefined };

  const fail = (message: string): never => {
    throw new UsageError(message, commandPath);
  };
  for (const token of tokens) {
    if (token.kind !== 'option') continue;
    const spec = byName.get(token.name);
    if (spec === undefined) fail(`unknown option ${token.rawName}.`);
    else if (spec.type === 'boolean' && token.inlineValue === true) fail(`${token.rawName} takes no value.`);
    else if (spec.type === 'string' && token.value === undefined) fail(`${token.rawName} needs a value.`);
    // parseArgs would take the next flag as the value: `--name --json` is a missing name, not one called "--json".
    else if (spec.type === 'string' && token.inlineValue === false && token.value?.startsWith('-') === true) {
      fail(`${token.rawName} needs a value (to give one that starts with "-", write ${token.rawName}=VALUE).`);
    }
  }
  for (const spec of specs) if (spec.required === true && values[spec.name] === undefined) fail(`--${spec.name} is required.`);
  if (positionals.length > (argument === undefined ? 0 : 1)) fail(`unexpected argument "${positionals[argument === undefined ? 0 : 1]}".`);
  if (argument !== undefined && argument.isOptional !== true && positionals[0] === undefined) fail(`which ${argument.name}? Give its ${argument.description}.`);
  return { isHelp: false, options: parsed, argument: positionals[0] };
}
