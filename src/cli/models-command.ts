import { UsageError } from './cli-error.ts';
import type { CommandInput, CommandSpec, OptionSpec } from './command-spec.ts';
import { connectionOptions, jsonOption } from './connection-options.ts';
import { followOperation } from './operation-follower.ts';
import { table } from './table.ts';

interface Inventory {
  servers: Array<{ id: string; name: string; server_type: string }>;
  models: Array<{ id: string; servers: Array<{ server_id: string; loaded: boolean }> }>;
}

const serverOption: OptionSpec = { name: 'server', type: 'string', multiple: true, value: 'ID|NAME', description: 'a server to act on (repeat for several)', default: 'every server that has the model' };
const allOption: OptionSpec = { name: 'all', type: 'boolean', description: 'act on every server that can', default: 'off' };
const path = (model: string) => `/api/v1/models/${encodeURIComponent(model)}`;

/** `--server a --server b` as a list, `--all` (or neither, where the command allows it) as "all". */
function selection(input: CommandInput, mustChoose: boolean): string[] | 'all' {
  const servers = input.options.strings('server') ?? [];
  if (servers.length > 0 && input.options.isSet('all')) throw new UsageError('give --all or --server, not both.', `switchyard models`);
  if (servers.length > 0) return servers;
  if (mustChoose && !input.options.isSet('all')) throw new UsageError('say where: --all, or --server ID (repeat for several).', 'switchyard models pull');
  return 'all';
}

/** Starts an operation, follows it to the end, prints how it ended; exit 1 unless every server succeeded. */
async function run(input: CommandInput, method: string, url: string, body?: unknown): Promise<number> {
  const client = input.client();
  const started = (await client.request(method, url, body)) as { operation_id: string };
  const ended = await followOperation(client, started.operation_id, input.stdout);
  const done = ended.servers.filter((target) => target.status === 'succeeded').length;
  const failed = ended.servers.filter((target) => target.status !== 'succeeded').map((target) => target.name);
  const where = `succeeded on ${done} of ${ended.servers.length} server${ended.servers.length === 1 ? '' : 's'}${failed.length === 0 ? '' : `, not on ${failed.join(', ')}`}`;
  input.write(`${ended.kind} ${ended.model}: ${ended.status} (${where}; operation ${ended.id})`);
  return ended.status === 'succeeded' ? 0 : 1;
}

export const modelsCommand: CommandSpec = {
  name: 'models',
  summary: 'see and manage the models on every server: ls, pull, rm, load, unload',
  description: 'The fleet-wide model inventory, and pulls, deletes, loads and unloads across servers, each followed live until it ends.',
  subcommands: [
    {
      name: 'ls',
      summary: 'the model × server matrix (● loaded, ○ on disk, - absent)',
      options: [jsonOption, ...connectionOptions],
      async run({ options, client, write }) {
        const inventory = (await client().request('GET', '/api/v1/inventory')) as Inventory;
        if (options.isSet('json')) return write(JSON.stringify(inventory, null, 2));
        if (inventory.models.length === 0) return write('No models on any server yet.');
        write(
          table(
            ['MODEL', ...inventory.servers.map((server) => server.name.toUpperCase())],
            inventory.models.map((model) => [
              model.id,
              ...inventory.servers.map((server) => {
                const cell = model.servers.find((candidate) => candidate.server_id === server.id);
                return cell === undefined ? '-' : cell.loaded ? '● loaded' : '○';
              }),
            ]),
          ),
        );
      },
    },
    {
      name: 'pull',
      summary: 'pull a model onto Ollama servers, with a progress bar per server',
      argument: { name: 'model', description: 'e.g. llama3.2:3b, or hf.co/{owner}/{repo}:{quant} from the Hugging Face Hub' },
      options: [allOption, serverOption, ...connectionOptions],
      async run(input) {
        return run(input, 'POST', '/api/v1/models/pull', { model: input.argument, servers: selection(input, true) });
      },
    },
    {
      name: 'rm',
      summary: 'delete a model from servers (refused for the last copy a route or placement needs, unless --force)',
      argument: { name: 'model', description: 'the model to delete' },
      options: [serverOption, { name: 'force', type: 'boolean', description: 'delete even the last copy something needs', default: 'off' }, ...connectionOptions],
      async run(input) {
        const servers = selection(input, false);
        const query = `servers=${servers === 'all' ? 'all' : servers.map(encodeURIComponent).join(',')}${input.options.isSet('force') ? '&force=true' : ''}`;
        return run(input, 'DELETE', `${path(input.argument as string)}?${query}`);
      },
    },
    {
      name: 'load',
      summary: 'load a model into memory without generating a token',
      argument: { name: 'model', description: 'the model to load' },
      options: [serverOption, { name: 'keep-alive', type: 'string', value: 'DURATION', description: 'how long it stays loaded: 30m, 2h, -1 (for ever)', default: "the server's own (Ollama: 5m)" }, ...connectionOptions],
      async run(input) {
        const keepAlive = input.options.string('keep-alive');
        const body: Record<string, unknown> = { servers: selection(input, false) };
        if (keepAlive !== undefined) body['keep_alive'] = /^-?\d+$/.test(keepAlive) ? Number(keepAlive) : keepAlive;
        return run(input, 'POST', `${path(input.argument as string)}/load`, body);
      },
    },
    {
      name: 'unload',
      summary: 'unload a model from memory (it stays on disk)',
      argument: { name: 'model', description: 'the model to unload' },
      options: [serverOption, ...connectionOptions],
      async run(input) {
        return run(input, 'POST', `${path(input.argument as string)}/unload`, { servers: selection(input, false) });
      },
    },
  ],
};

