import { cliSettings } from '../config/cli-settings.ts';
import { AdminClient, CliError } from './admin-client.ts';
import { serversCommand } from './servers-command.ts';
import { keysCommand } from './keys-command.ts';

const usage = `Switchyard: one OpenAI-compatible endpoint over your model servers.

Usage:
  switchyard serve [--config fleet.yaml]   start the gateway (default command)
  switchyard servers <list|kinds|add|rm|test|check-all> [options]
  switchyard keys <create|list|revoke> [options]
  switchyard help`;

export async function runCli(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case undefined:
      case 'serve':
      case 'start':
        return await serve(configFlag(rest));
      case 'servers':
        return await serversCommand(rest, (flags) => {
          const settings = cliSettings(flags);
          return new AdminClient(settings.url, settings.key);
        }, process.stdout);
      case 'keys':
        return await keysCommand(rest, (flags) => {
          const settings = cliSettings(flags);
          return new AdminClient(settings.url, settings.key);
        }, process.stdout);
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(`${usage}\n`);
        return;
      default:
        if (command.startsWith('--config')) return await serve(configFlag(argv));
        throw new CliError(`Unknown command "${command}".\n${usage}`);
    }
  } catch (error) {
    if (error instanceof CliError || (error instanceof Error && error.name === 'TypeError' && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'))) {
      process.stderr.write(`switchyard: ${error.message}\n`);
      process.exitCode = 2;
      return;
    }
    throw error;
  }
}

/** The gateway is loaded only to serve: the admin commands are small HTTP clients and start in a fraction of the time. */
async function serve(configFile: string | undefined): Promise<void> {
  const { serve: serveGateway } = await import('../main.ts');
  return serveGateway(configFile);
}

function configFlag(args: string[]): string | undefined {
  for (let index = 0; index < args.length; index++) {
    const arg = args[index] as string;
    if (arg === '--config' || arg === '-c') return args[index + 1];
    if (arg.startsWith('--config=')) return arg.slice('--config='.length);
  }
  return undefined;
}
