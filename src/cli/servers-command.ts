import type { AdminClient } from './admin-client.ts';
import { CliError } from './cli-error.ts';
import type { CommandSpec } from './command-spec.ts';
import { connectionOptions, jsonOption } from './connection-options.ts';
import { table } from './table.ts';

interface ServerRow {
  id: string;
  name: string;
  server_type: string;
  base_url: string;
  health_status: string;
  status_reason: string | null;
  models_count: number;
  status_message: string | null;
}

const server = { name: 'server', description: 'id or name (see: switchyard servers list)' };

// The gateway is the authority on kinds (it may register more than are built in):
// `servers kinds` asks it, and it answers an unknown --type with the list.
export const serversCommand: CommandSpec = {
  name: 'servers',
  summary: 'manage the model servers behind the gateway',
  description: 'Manage the model servers behind the gateway, through its admin API.',
  subcommands: [
    {
      name: 'list',
      summary: 'list model servers with their status',
      options: [jsonOption, ...connectionOptions],
      async run({ options, client, write }) {
        const { data } = (await client().request('GET', '/api/v1/model-servers')) as { data: ServerRow[] };
        if (options.isSet('json')) return write(JSON.stringify(data, null, 2));
        if (data.length === 0) return write('No model servers yet. Add one: switchyard servers add --name NAME --base-url URL');
        write(table(['ID', 'NAME', 'TYPE', 'STATUS', 'MODELS', 'URL'], data.map((row) => [row.id, row.name, row.server_type, statusOf(row), String(row.models_count), row.base_url])));
      },
    },
    {
      name: 'kinds',
      summary: 'list the server kinds the gateway speaks (values for add --type)',
      options: [jsonOption, ...connectionOptions],
      async run({ options, client, write }) {
        const { data } = (await client().request('GET', '/api/v1/server-kinds')) as { data: Array<{ id: string; label: string; description: string; detectable: boolean }> };
        if (options.isSet('json')) return write(JSON.stringify(data, null, 2));
        write(table(['KIND', 'NAME', 'AUTO-DETECTED', 'DESCRIPTION'], data.map((kind) => [kind.id, kind.label, kind.detectable ? 'yes' : 'no', kind.description])));
      },
    },
    {
      name: 'add',
      summary: 'register a model server (its kind is detected unless --type names it)',
      description: 'Register a model server. Switchyard asks it what it is unless --type names the kind, then probes it and lists its models.',
      options: [
        { name: 'name', type: 'string', value: 'NAME', required: true, description: "the server's name in Switchyard" },
        { name: 'base-url', type: 'string', value: 'URL', required: true, description: 'where the server answers, e.g. http://10.0.0.12:8000' },
        { name: 'type', type: 'string', value: 'KIND', description: 'its kind (see: switchyard servers kinds), or auto to detect it', default: 'auto' },
        { name: 'kind-config', type: 'string', value: 'JSON', description: "the kind's settings, a JSON object (a custom server needs them)", default: 'none' },
        { name: 'api-key', type: 'string', value: 'KEY', description: 'the key the server expects (stored encrypted, never shown again)', default: 'none' },
        { name: 'interval', type: 'string', value: 'SECONDS', description: 'seconds between health probes', default: "the gateway's SWITCHYARD_HEALTH_INTERVAL_S, 30" },
        { name: 'model', type: 'string', value: 'NAME', multiple: true, description: 'a model it should serve (a missing one is reported)', default: 'none' },
        { name: 'inactive', type: 'boolean', description: 'register it switched off: not probed, not routed to', default: 'off' },
        { name: 'max-concurrency', type: 'string', value: 'N', description: 'requests it runs at once; more wait in the gateway', default: 'what the server reports (llama.cpp slots, TEI permits), or what the gateway learns (vLLM)' },
        ...connectionOptions,
      ],
      async run({ options, client, write }) {
        const body: Record<string, unknown> = { name: options.string('name'), base_url: options.string('base-url'), server_type: options.string('type') ?? 'auto' };
        const kindConfig = options.string('kind-config');
        if (kindConfig !== undefined) body['kind_config'] = parseKindConfig(kindConfig);
        const apiKey = options.string('api-key');
        if (apiKey !== undefined) body['api_key'] = apiKey;
        const interval = options.string('interval');
        if (interval !== undefined) body['health_check_interval_s'] = Number(interval);
        const models = options.strings('model');
        if (models !== undefined) body['expected_models'] = models;
        if (options.isSet('inactive')) body['is_active'] = false;
        const maxConcurrency = options.string('max-concurrency');
        if (maxConcurrency !== undefined) body['max_concurrency'] = positiveInteger('max-concurrency', maxConcurrency);
        const created = (await client().request('POST', '/api/v1/model-servers', body)) as ServerRow;
        write(`Added ${created.name} (${created.server_type}) with id ${created.id}`);
      },
    },
    {
      name: 'update',
      summary: "change a model server's settings (only those given)",
      description: "Change a model server's settings through the admin API; what is not given stays as it is. A server the fleet file declares is changed in the file.",
      argument: server,
      options: [
        { name: 'max-concurrency', type: 'string', value: 'N|none', description: 'requests it runs at once (more wait in the gateway); none: what the server reports or the gateway learns', default: 'unchanged' },
        { name: 'base-url', type: 'string', value: 'URL', description: 'where the server answers now', default: 'unchanged' },
        { name: 'interval', type: 'string', value: 'SECONDS', description: 'seconds between health probes', default: 'unchanged' },
        ...connectionOptions,
      ],
      async run({ argument, options, client, write }) {
        const body: Record<string, unknown> = {};
        const maxConcurrency = options.string('max-concurrency');
        if (maxConcurrency !== undefined) body['max_concurrency'] = maxConcurrency === 'none' ? null : positiveInteger('max-concurrency', maxConcurrency);
        const baseUrl = options.string('base-url');
        if (baseUrl !== undefined) body['base_url'] = baseUrl;
        const interval = options.string('interval');
        if (interval !== undefined) body['health_check_interval_s'] = positiveInteger('interval', interval);
        if (Object.keys(body).length === 0) throw new CliError('Nothing to change: give --max-concurrency, --base-url or --interval.');
        const api = client();
        const found = await resolve(api, argument);
        const updated = (await api.request('PUT', `/api/v1/model-servers/${found.id}`, body)) as ServerRow & { max_concurrency: number | null };
        const capacity = updated.max_concurrency === null ? 'no max concurrency: what the server reports or the gateway learns' : `max concurrency ${updated.max_concurrency}`;
        write(`Updated ${updated.name} (${capacity})`);
      },
    },
    {
      name: 'rm',
      aliases: ['remove'],
      summary: 'remove a model server, with its models and history',
      argument: server,
      options: connectionOptions,
      async run({ argument, client, write }) {
        const api = client();
        const found = await resolve(api, argument);
        await api.request('DELETE', `/api/v1/model-servers/${found.id}`);
        write(`Removed ${found.name}`);
      },
    },
    {
      name: 'test',
      summary: 'test the connection to a model server now (exit 1 when it fails)',
      argument: server,
      options: connectionOptions,
      async run({ argument, client, write }) {
        const api = client();
        const found = await resolve(api, argument);
        const report = (await api.request('POST', `/api/v1/model-servers/${found.id}/test`)) as { ok: boolean; latency_ms: number; models_found: number; error?: string };
        write(report.ok ? `OK: ${found.name} answered in ${report.latency_ms} ms with ${report.models_found} model(s)` : `FAILED: ${found.name}: ${report.error ?? 'unknown error'}`);
        return report.ok ? 0 : 1;
      },
    },
    {
      name: 'check-all',
      summary: 'probe every model server now and show the results',
      options: [jsonOption, ...connectionOptions],
      async run({ options, client, write }) {
        const { data } = (await client().request('POST', '/api/v1/model-servers/health-check-all')) as {
          data: Array<{ name: string; health_status: string; latency_ms: number; error?: string }>;
        };
        if (options.isSet('json')) return write(JSON.stringify(data, null, 2));
        write(table(['NAME', 'STATUS', 'LATENCY', 'ERROR'], data.map((row) => [row.name, row.health_status, `${row.latency_ms} ms`, row.error ?? ''])));
      },
    },
  ],
};

/** "degraded" alone hides what to do: a rejected key reads "degraded (misconfigured)". */
function statusOf(row: ServerRow): string {
  return row.status_reason === null ? row.health_status : `${row.health_status} (${row.status_reason})`;
}

function positiveInteger(flag: string, text: string): number {
  if (!/^[1-9]\d*$/.test(text)) throw new CliError(`--${flag} must be a whole number of at least 1.`);
  return Number(text);
}

function parseKindConfig(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new CliError('--kind-config must be a JSON object, e.g. \'{"generate_path": "/generate", "text_field": "text", "models": ["m"]}\'.');
  }
}

async function resolve(api: AdminClient, idOrName: string | undefined): Promise<ServerRow> {
  const { data } = (await api.request('GET', '/api/v1/model-servers')) as { data: ServerRow[] };
  const found = data.find((row) => row.id === idOrName || row.name === idOrName);
  if (found === undefined) throw new CliError(`No model server with id or name "${idOrName}".`);
  return found;
}
