import type { CommandSpec, OptionSpec } from './command-spec.ts';
import { helpOption } from './parse-options.ts';

/**
 * --help for any command, made from its spec: usage, what it does, then either its subcommands or
 * every option with its default. `path` is the command line up to it, e.g. ["switchyard", "servers"].
 */
export function helpText(command: CommandSpec, path: readonly string[]): string {
  const name = path.join(' ');
  const lines: string[] = [];
  if (command.subcommands !== undefined) {
    lines.push(`Usage: ${name} <command> [options]`, '', command.description ?? sentence(command.summary), '', 'Commands:');
    const rows = command.subcommands.flatMap((sub) => commandRows(sub, []));
    lines.push(...columns(rows));
  } else {
    const required = (command.options ?? []).filter((option) => option.required === true).map((option) => `--${option.name} ${option.value ?? 'VALUE'}`);
    const argument = command.argument === undefined ? [] : [placeholder(command)];
    lines.push(`Usage: ${[name, ...argument, ...required, '[options]'].join(' ')}`, '', command.description ?? sentence(command.summary));
    if (command.argument !== undefined) lines.push('', 'Arguments:', ...columns([[placeholder(command), `its ${command.argument.description}`]]));
  }
  lines.push('', 'Options:', ...columns([...(command.options ?? []), helpOption].map((option) => [flags(option), describe(option)])));
  if (command.subcommands !== undefined) lines.push('', `Run "${name} <command> --help" for a command's options.`);
  return lines.join('\n');
}

/** A command's line in its parent's list; a command with subcommands lists them instead (`servers add`, …). */
function commandRows(command: CommandSpec, parents: readonly string[]): string[][] {
  const path = [...parents, command.name];
  if (command.subcommands === undefined) return [[[...path, ...(command.argument === undefined ? [] : [placeholder(command)])].join(' '), command.summary]];
  return command.subcommands.flatMap((sub) => commandRows(sub, path));
}

function flags(option: OptionSpec): string {
  const long = `--${option.name}${option.type === 'string' ? ` ${option.value ?? 'VALUE'}` : ''}`;
  return option.short === undefined ? `    ${long}` : `-${option.short}, ${long}`;
}

function describe(option: OptionSpec): string {
  if (option.name === 'help') return option.description;
  const notes = [option.required === true ? 'required' : `default: ${option.default}`];
  if (option.multiple === true) notes.unshift('repeatable');
  return `${option.description} (${notes.join('; ')})`;
}

function columns(rows: string[][]): string[] {
  const width = Math.max(...rows.map((row) => (row[0] ?? '').length));
  return rows.map(([left = '', right = '']) => `  ${left.padEnd(width)}  ${right}`.trimEnd());
}

function placeholder(command: CommandSpec): string {
  const name = command.argument?.name ?? 'argument';
  return command.argument?.isOptional === true ? `[${name}]` : `<${name}>`;
}

function sentence(summary: string): string {
  return `${summary.charAt(0).toUpperCase()}${summary.slice(1)}.`;
}
