import { cliSettings } from '../config/cli-settings.ts';
import { AdminClient, type ClientFactory } from './admin-client.ts';
import { CliError, UsageError } from './cli-error.ts';
import { rootCommand } from './command-table.ts';
import type { CommandSpec } from './command-spec.ts';
import { helpText } from './help-text.ts';
import { packageVersion } from './package-version.ts';
import { parseOptions } from './parse-options.ts';

export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  connect: ClientFactory;
}

const processIo: CliIo = {
  stdout: process.stdout,
  stderr: process.stderr,
  connect: (flags) => {
    const settings = cliSettings(flags);
    return new AdminClient(settings.url, settings.key);
  },
};

/** Runs one command line; resolves to the exit code (a command line it cannot read is 2, like a refused request). */
export async function runCli(argv: string[], io: CliIo = processIo): Promise<number> {
  try {
    return await dispatch(rootCommand, [rootCommand.name], argv, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`switchyard: ${error.message}\nRun "${error.helpCommand} --help" for usage.\n`);
      return 2;
    }
    if (error instanceof CliError) {
      io.stderr.write(`switchyard: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
}

async function dispatch(command: CommandSpec, path: string[], args: string[], io: CliIo): Promise<number> {
  if (command.subcommands !== undefined) {
    const [first, ...rest] = args;
    if (first === undefined || first === '--help' || first === '-h') return printHelp(command, path, io);
    if (command === rootCommand && (first === '--version' || first === '-v')) {
      io.stdout.write(`${packageVersion()}\n`);
      return 0;
    }
    if (command === rootCommand && first === 'help') return printHelp(...find(rest.filter((arg) => !arg.startsWith('-'))), io);
    if (first.startsWith('-')) throw new UsageError(`unknown option ${first}.`, path.join(' '));
    const sub = findSubcommand(command, first, path);
    return dispatch(sub, [...path, sub.name], rest, io);
  }
  const parsed = parseOptions(args, command.options ?? [], command.argument, path.join(' '));
  if (parsed.isHelp) return printHelp(command, path, io);
  const { options } = parsed;
  const code = await command.run?.({
    options,
    argument: parsed.argument,
    client: () => io.connect({ url: options.string('url'), key: options.string('key') }),
    write: (text) => {
      io.stdout.write(`${text}\n`);
    },
    stdout: io.stdout,
  });
  return code ?? 0;
}

/** The command a `switchyard help a b` names. */
function find(names: string[]): [CommandSpec, string[]] {
  let command = rootCommand;
  const path = [rootCommand.name];
  for (const name of names) {
    command = findSubcommand(command, name, path);
    path.push(command.name);
  }
  return [command, path];
}

function findSubcommand(command: CommandSpec, name: string, path: string[]): CommandSpec {
  const found = command.subcommands?.find((sub) => sub.name === name || sub.aliases?.includes(name) === true);
  if (found === undefined) throw new UsageError(`unknown command "${[...path.slice(1), name].join(' ')}".`, path.join(' '));
  return found;
}

async function printHelp(command: CommandSpec, path: string[], io: CliIo): Promise<number> {
  const more = command.moreHelp === undefined ? '' : `\n\n${await command.moreHelp()}`;
  io.stdout.write(`${helpText(command, path)}${more}\n`);
  return 0;
}
