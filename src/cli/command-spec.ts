import type { AdminClient } from './admin-client.ts';
import type { ParsedOptions } from './parse-options.ts';

/** One `--flag`: what it takes, what it does and what holds when it is left out (shown in --help). */
// `default` is not optional, so that no option reaches --help without saying what its absence means.
export type OptionSpec = OptionBase & ({ required: true } | { required?: false; default: string });

interface OptionBase {
  /** The long name, without the dashes. */
  name: string;
  short?: string;
  type: 'string' | 'boolean';
  /** May be given several times (each value is kept). */
  multiple?: boolean;
  /** The value's placeholder in help, e.g. URL. */
  value?: string;
  description: string;
}

/** A positional argument, e.g. the server a `servers rm` removes. */
export interface ArgumentSpec {
  name: string;
  description: string;
  isOptional?: boolean;
}

export interface CommandInput {
  options: ParsedOptions;
  /** The positional argument, when the command takes one (the parser has checked it is there). */
  argument: string | undefined;
  /** The admin API client for this call's --url/--key; created only when asked for. */
  client: () => AdminClient;
  write: (text: string) => void;
  /** Where `write` goes; a command that redraws progress in place checks `isTTY` on it. */
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
}

/**
 * A command or subcommand. One with `subcommands` only dispatches; one with `run` is a leaf.
 * Help, option checking and the command list are all made from these, so a command cannot
 * exist without --help.
 */
export interface CommandSpec {
  name: string;
  aliases?: readonly string[];
  /** One line for command lists. */
  summary: string;
  /** More about it, under the usage line of its own help. */
  description?: string;
  argument?: ArgumentSpec;
  options?: readonly OptionSpec[];
  subcommands?: readonly CommandSpec[];
  /** Help text that needs modules the command would otherwise load only to run (serve's settings). */
  moreHelp?: () => Promise<string>;
  /** Resolves to the exit code (0 when nothing is returned). */
  run?: (input: CommandInput) => Promise<number | void>;
}
