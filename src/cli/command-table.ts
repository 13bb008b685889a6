import type { CommandSpec } from './command-spec.ts';
import { collectionsCommand } from './collections-command.ts';
import { keysCommand } from './keys-command.ts';
import { modelsCommand } from './models-command.ts';
import { serveCommand } from './serve-command.ts';
import { serversCommand } from './servers-command.ts';

/** Every command; help, parsing and the tests that every command answers --help iterate this. */
export const commands: readonly CommandSpec[] = [serveCommand, serversCommand, modelsCommand, keysCommand, collectionsCommand];

/** `switchyard help servers add` is the same as `switchyard servers add --help`; main.ts answers it before parsing. */
export const helpCommand: CommandSpec = {
  name: 'help',
  summary: 'show the help of a command, e.g. switchyard help servers add',
  argument: { name: 'command', description: 'name, and subcommand if it has them', isOptional: true },
};

export const rootCommand: CommandSpec = {
  name: 'switchyard',
  summary: 'Switchyard: one OpenAI-compatible endpoint over your model servers.',
  options: [{ name: 'version', short: 'v', type: 'boolean', description: 'print the version and exit', default: 'off' }],
  subcommands: [...commands, helpCommand],
};
