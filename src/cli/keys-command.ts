import { parseArgs } from 'node:util';
import { CliError, clientFor, connectionOptions, lineWriter, type ClientFactory } from './admin-client.ts';
import { table } from './table.ts';

interface KeyRow {
  id: string;
  name: string;
  prefix: string;
  scopes: string[];
  models: string[] | null;
  rpm: number | null;
  tpm: number | null;
  budget_tokens: number | null;
  used_tokens: number;
  revoked_at: string | null;
  last_used_at: string | null;
}

const usage = `Usage:
  switchyard keys create --name NAME [--scope inference|read|admin]... [--model NAME_OR_GLOB]...
                         [--rpm N] [--tpm N] [--budget TOKENS] [--expires ISO_TIME]
  switchyard keys list [--json]
  switchyard keys revoke <id or name>
Common: --url http://host:8000 (or SWITCHYARD_URL), --key ADMIN_KEY (or SWITCHYARD_ADMIN_KEY)`;

export async function keysCommand(args: string[], client: ClientFactory, out: NodeJS.WritableStream): Promise<void> {
  const [action, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      ...connectionOptions,
      name: { type: 'string' },
      scope: { type: 'string', multiple: true },
      model: { type: 'string', multiple: true },
      rpm: { type: 'string' },
      tpm: { type: 'string' },
      budget: { type: 'string' },
      expires: { type: 'string' },
    },
  });
  const api = clientFor(client, values);
  const write = lineWriter(out);
  switch (action) {
    case 'create': {
      if (values.name === undefined) throw new CliError(`--name is required.\n${usage}`);
      const body: Record<string, unknown> = { name: values.name, scopes: values.scope ?? ['inference'] };
      if (values.model !== undefined) body['models'] = values.model;
      for (const [flag, field] of [['rpm', 'rpm'], ['tpm', 'tpm'], ['budget', 'budget_tokens']] as const) {
        const value = values[flag];
        if (value === undefined) continue;
        if (!/^\d+$/.test(value)) throw new CliError(`--${flag} must be a whole number.`);
        body[field] = Number(value);
      }
      if (values.expires !== undefined) body['expires_at'] = values.expires;
      const created = (await api.request('POST', '/api/v1/keys', body)) as KeyRow & { key: string };
      write(`Created key ${created.name} (${created.id}) with scopes ${created.scopes.join(', ')}.`);
      write('Its secret is shown ONCE; store it now:');
      write('');
      write(`    ${created.key}`);
      return;
    }
    case 'list': {
      const { data } = (await api.request('GET', '/api/v1/keys')) as { data: KeyRow[] };
      if (values.json === true) return write(JSON.stringify(data, null, 2));
      write(
        table(
          ['ID', 'NAME', 'PREFIX', 'SCOPES', 'MODELS', 'RPM', 'TPM', 'USED/BUDGET', 'STATE'],
          data.map((row) => [
            row.id,
            row.name,
            `${row.prefix}…`,
            row.scopes.join(','),
            row.models === null ? 'all' : row.models.join(','),
            row.rpm === null ? '-' : String(row.rpm),
            row.tpm === null ? '-' : String(row.tpm),
            `${row.used_tokens}/${row.budget_tokens ?? '∞'}`,
            row.revoked_at === null ? 'active' : 'revoked',
          ]),
        ),
      );
      return;
    }
    case 'revoke': {
      const wanted = positionals[0];
      if (wanted === undefined) throw new CliError(`Which key? Give its id or name.\n${usage}`);
      const { data } = (await api.request('GET', '/api/v1/keys')) as { data: KeyRow[] };
      const matches = data.filter((row) => (row.id === wanted || row.name === wanted) && row.revoked_at === null);
      if (matches.length === 0) throw new CliError(`No active key with id or name "${wanted}".`);
      if (matches.length > 1) throw new CliError(`Several active keys are named "${wanted}"; give the id.`);
      await api.request('DELETE', `/api/v1/keys/${matches[0]?.id}`);
      return write(`Revoked ${matches[0]?.name} (${matches[0]?.id})`);
    }
    default:
      throw new CliError(usage);
  }
}
