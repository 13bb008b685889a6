import { CliError } from './cli-error.ts';
import type { CommandSpec } from './command-spec.ts';
import { connectionOptions, jsonOption } from './connection-options.ts';
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
  /** active | revoked | expired | budget_exhausted (absent from a gateway older than the field). */
  status?: string;
  revoked_at: string | null;
  last_used_at: string | null;
  /** Its class in the admission queues (absent from a gateway older than the field). */
  priority?: string;
}

const priorities = ['interactive', 'standard', 'batch'] as const;

const limits = [
  ['rpm', 'rpm'],
  ['tpm', 'tpm'],
  ['budget', 'budget_tokens'],
] as const;

export const keysCommand: CommandSpec = {
  name: 'keys',
  summary: "manage Switchyard's API keys",
  description: "Manage Switchyard's own API keys (sk-sy-…), through the admin API.",
  subcommands: [
    {
      name: 'create',
      summary: 'create a key; its secret is shown once',
      options: [
        { name: 'name', type: 'string', value: 'NAME', required: true, description: "the key's name, e.g. the application that uses it" },
        { name: 'scope', type: 'string', value: 'inference|read|admin|vectors:write', multiple: true, description: 'what it may do', default: 'inference' },
        { name: 'model', type: 'string', value: 'NAME_OR_GLOB', multiple: true, description: "a model it may use, e.g. 'mixtral*'", default: 'every model' },
        { name: 'rpm', type: 'string', value: 'N', description: 'requests per minute', default: 'no limit' },
        { name: 'tpm', type: 'string', value: 'N', description: 'tokens per minute', default: 'no limit' },
        { name: 'budget', type: 'string', value: 'TOKENS', description: 'tokens in all, then it is refused', default: 'no budget' },
        { name: 'budget-cost', type: 'string', value: 'AMOUNT', description: "what it may spend in all at the models' prices (SWITCHYARD_CURRENCY), then it is refused", default: 'no budget' },
        { name: 'expires', type: 'string', value: 'ISO_TIME', description: 'when it stops working, e.g. 2027-01-31T00:00:00Z', default: 'never' },
        {
          name: 'priority',
          type: 'string',
          value: priorities.join('|'),
          description: "its class when a model's servers are full and requests wait: interactive keys get the most turns, batch keys the fewest (the gateway's SWITCHYARD_QUEUE_WEIGHTS)",
          default: 'standard',
        },
        ...connectionOptions,
      ],
      async run({ options, client, write }) {
        const body: Record<string, unknown> = { name: options.string('name'), scopes: options.strings('scope') ?? ['inference'] };
        const models = options.strings('model');
        if (models !== undefined) body['models'] = models;
        for (const [flag, field] of limits) {
          const value = options.string(flag);
          if (value === undefined) continue;
          if (!/^\d+$/.test(value)) throw new CliError(`--${flag} must be a whole number.`);
          body[field] = Number(value);
        }
        const budgetCost = options.string('budget-cost');
        if (budgetCost !== undefined) {
          if (!/^\d+(\.\d+)?$/.test(budgetCost)) throw new CliError('--budget-cost must be a number of at least 0, e.g. 25 or 2.50.');
          body['budget_cost'] = Number(budgetCost);
        }
        const expires = options.string('expires');
        if (expires !== undefined) body['expires_at'] = expires;
        const priority = options.string('priority');
        if (priority !== undefined) {
          if (!(priorities as readonly string[]).includes(priority)) throw new CliError(`--priority must be one of ${priorities.join(', ')}.`);
          body['priority'] = priority;
        }
        const created = (await client().request('POST', '/api/v1/keys', body)) as KeyRow & { key: string };
        const priorityNote = created.priority === undefined || created.priority === 'standard' ? '' : ` and priority ${created.priority}`;
        write(`Created key ${created.name} (${created.id}) with scopes ${created.scopes.join(', ')}${priorityNote}.`);
        write('Its secret is shown ONCE; store it now:');
        write('');
        write(`    ${created.key}`);
      },
    },
    {
      name: 'list',
      summary: 'list keys with their limits and usage (never their secrets)',
      options: [jsonOption, ...connectionOptions],
      async run({ options, client, write }) {
        const { data } = (await client().request('GET', '/api/v1/keys')) as { data: KeyRow[] };
        if (options.isSet('json')) return write(JSON.stringify(data, null, 2));
        write(
          table(
            ['ID', 'NAME', 'PREFIX', 'SCOPES', 'MODELS', 'RPM', 'TPM', 'USED/BUDGET', 'STATUS'],
            data.map((row) => [
              row.id,
              row.name,
              `${row.prefix}…`,
              row.scopes.join(','),
              row.models === null ? 'all' : row.models.join(','),
              row.rpm === null ? '-' : String(row.rpm),
              row.tpm === null ? '-' : String(row.tpm),
              `${row.used_tokens}/${row.budget_tokens ?? '∞'}`,
              statusOf(row),
            ]),
          ),
        );
      },
    },
    {
      name: 'revoke',
      summary: 'revoke a key; it stops working at once',
      argument: { name: 'key', description: 'id or name (see: switchyard keys list)' },
      options: connectionOptions,
      async run({ argument, client, write }) {
        const api = client();
        const { data } = (await api.request('GET', '/api/v1/keys')) as { data: KeyRow[] };
        const matches = data.filter((row) => (row.id === argument || row.name === argument) && row.revoked_at === null);
        if (matches.length === 0) throw new CliError(`No active key with id or name "${argument}".`);
        if (matches.length > 1) throw new CliError(`Several active keys are named "${argument}"; give the id.`);
        await api.request('DELETE', `/api/v1/keys/${matches[0]?.id}`);
        write(`Revoked ${matches[0]?.name} (${matches[0]?.id})`);
      },
    },
  ],
};

/** As the console words it ("budget exhausted"): an expired or spent key is refused though not revoked. */
function statusOf(row: KeyRow): string {
  return (row.status ?? (row.revoked_at === null ? 'active' : 'revoked')).replace('_', ' ');
}
