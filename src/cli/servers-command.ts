import { parseArgs } from 'node:util';
import { AdminClient, CliError, clientFor, connectionOptions, lineWriter, type ClientFactory } from './admin-client.ts';
import { table } from './table.ts';

interface ServerRow {
  id: string;
  name: string;
  server_type: string;
  base_url: string;
  health_status: string;
  models_count: number;
  status_message: string | null;
}

// The gateway is the authority on kinds (it may register more than are built in):
// `servers kinds` asks it, and it answers an unknown --type with the list.
const usage = `Usage:
  switchyard servers list [--json]
  switchyard servers kinds
  switchyard servers add --name NAME --base-url URL [--type auto|KIND (see: servers kinds)]
                         [--kind-config JSON] [--api-key KEY] [--interval SECONDS] [--model NAME]... [--inactive]
  switchyard servers rm <id or name>
  switchyard servers test <id or name>
  switchyard servers check-all
Common: --url http://host:8000 (or SWITCHYARD_URL), --key ADMIN_KEY (or SWITCHYARD_ADMIN_KEY)`;

export async function serversCommand(args: string[], client: ClientFactory, out: NodeJS.WritableStream): Promise<void> {
  const [action, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      ...connectionOptions,
      name: { type: 'string' },
      'base-url': { type: 'string' },
      type: { type: 'string' },
      'kind-config': { type: 'string' },
      'api-key': { type: 'string' },
      interval: { type: 'string' },
      model: { type: 'string', multiple: true },
      inactive: { type: 'boolean' },
    },
  });
  const api = clientFor(client, values);
  const write = lineWriter(out);
  switch (action) {
    case 'list': {
      const { data } = (await api.request('GET', '/api/v1/model-servers')) as { data: ServerRow[] };
      if (values.json === true) return write(JSON.stringify(data, null, 2));
      if (data.length === 0) return write('No model servers yet. Add one: switchyard servers add --name NAME --base-url URL');
      write(table(['ID', 'NAME', 'TYPE', 'STATUS', 'MODELS', 'URL'], data.map((row) => [row.id, row.name, row.server_type, row.health_status, String(row.models_count), row.base_url])));
      return;
    }
    case 'kinds': {
      const { data } = (await api.request('GET', '/api/v1/server-kinds')) as { data: Array<{ id: string; label: string; description: string; detectable: boolean }> };
      write(table(['KIND', 'NAME', 'AUTO-DETECTED', 'DESCRIPTION'], data.map((kind) => [kind.id, kind.label, kind.detectable ? 'yes' : 'no', kind.description])));
      return;
    }
    case 'add': {
      if (values.name === undefined || values['base-url'] === undefined) throw new CliError(`--name and --base-url are required.\n${usage}`);
      const body: Record<string, unknown> = { name: values.name, base_url: values['base-url'], server_type: values.type ?? 'auto' };
      if (values['kind-config'] !== undefined) body['kind_config'] = parseKindConfig(values['kind-config']);
      if (values['api-key'] !== undefined) body['api_key'] = values['api-key'];
      if (values.interval !== undefined) body['health_check_interval_s'] = Number(values.interval);
      if (values.model !== undefined) body['expected_models'] = values.model;
      if (values.inactive === true) body['is_active'] = false;
      const created = (await api.request('POST', '/api/v1/model-servers', body)) as ServerRow;
      return write(`Added ${created.name} (${created.server_type}) with id ${created.id}`);
    }
    case 'rm':
    case 'remove': {
      const server = await resolve(api, positionals[0]);
      await api.request('DELETE', `/api/v1/model-servers/${server.id}`);
      return write(`Removed ${server.name}`);
    }
    case 'test': {
      const server = await resolve(api, positionals[0]);
      const report = (await api.request('POST', `/api/v1/model-servers/${server.id}/test`)) as { ok: boolean; latency_ms: number; models_found: number; error?: string };
      write(report.ok ? `OK: ${server.name} answered in ${report.latency_ms} ms with ${report.models_found} model(s)` : `FAILED: ${server.name}: ${report.error ?? 'unknown error'}`);
      if (!report.ok) process.exitCode = 1;
      return;
    }
    case 'check-all': {
      const { data } = (await api.request('POST', '/api/v1/model-servers/health-check-all')) as { data: Array<{ name: string; health_status: string; latency_ms: number; error?: string }> };
      write(table(['NAME', 'STATUS', 'LATENCY', 'ERROR'], data.map((row) => [row.name, row.health_status, `${row.latency_ms} ms`, row.error ?? ''])));
      return;
    }
    default:
      throw new CliError(usage);
  }
}

function parseKindConfig(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new CliError('--kind-config must be a JSON object, e.g. \'{"generate_path": "/generate", "text_field": "text", "models": ["m"]}\'.');
  }
}

async function resolve(api: AdminClient, idOrName: string | undefined): Promise<ServerRow> {
  if (idOrName === undefined) throw new CliError(`Which server? Give its id or name.\n${usage}`);
  const { data } = (await api.request('GET', '/api/v1/model-servers')) as { data: ServerRow[] };
  const found = data.find((row) => row.id === idOrName || row.name === idOrName);
  if (found === undefined) throw new CliError(`No model server with id or name "${idOrName}".`);
  return found;
}
