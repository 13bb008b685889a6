import { CliError } from './cli-error.ts';
import type { CommandSpec } from './command-spec.ts';
import { connectionOptions, jsonOption } from './connection-options.ts';
import { table } from './table.ts';

interface CollectionRow {
  name: string;
  model: string;
  vector_size: number;
  distance: string;
  backend: string;
  count: number | null;
  status: string;
  reembed: { done: number; total: number; skipped: number; dropped: number; error: string | null } | null;
  managed_by: string | null;
}

// Names may hold `/` (a model's own name): the API takes them as they are in the path.
const pathOf = (name: string) => name.split('/').map(encodeURIComponent).join('/');

export const collectionsCommand: CommandSpec = {
  name: 'collections',
  summary: 'manage vector collections (one per model)',
  description: 'Manage vector collections through the admin API: list them, create one for a model, delete one, or re-embed one whose model changed.',
  subcommands: [
    {
      name: 'list',
      summary: 'list collections with their model, size, count and status',
      options: [jsonOption, ...connectionOptions],
      async run({ options, client, write }) {
        const { data } = (await client().request('GET', '/api/v1/collections')) as { data: CollectionRow[] };
        if (options.isSet('json')) return write(JSON.stringify(data, null, 2));
        write(
          table(
            ['NAME', 'MODEL', 'SIZE', 'DISTANCE', 'VECTORS', 'BACKEND', 'STATUS'],
            data.map((row) => [
              `${row.name}${row.managed_by === 'fleet_file' ? ' (fleet file)' : ''}`,
              row.model,
              String(row.vector_size),
              row.distance,
              row.count === null ? '?' : String(row.count),
              row.backend,
              row.status === 'reembedding' && row.reembed !== null ? `reembedding ${row.reembed.done}/${row.reembed.total}` : row.status,
            ]),
          ),
        );
      },
    },
    {
      name: 'create',
      summary: "create a collection for a model (its size is learned from the model when not given)",
      options: [
        { name: 'name', type: 'string', value: 'NAME', required: true, description: "the collection's name" },
        { name: 'model', type: 'string', value: 'MODEL', required: true, description: 'the model whose vectors it holds' },
        { name: 'vector-size', type: 'string', value: 'N', description: 'the size of its vectors', default: "the model's" },
        { name: 'distance', type: 'string', value: 'cosine|dot|euclid', description: 'how vectors are compared', default: 'cosine' },
        ...connectionOptions,
      ],
      async run({ options, client, write }) {
        const body: Record<string, unknown> = { name: options.string('name'), model: options.string('model') };
        const size = options.string('vector-size');
        if (size !== undefined) {
          if (!/^\d+$/.test(size)) throw new CliError('--vector-size must be a whole number.');
          body['vector_size'] = Number(size);
        }
        const distance = options.string('distance');
        if (distance !== undefined) body['distance'] = distance;
        const created = (await client().request('POST', '/api/v1/collections', body)) as CollectionRow;
        write(`Created collection ${created.name} for ${created.model} (${created.vector_size} dimensions, ${created.distance}).`);
      },
    },
    {
      name: 'rm',
      summary: 'delete a collection and its vectors',
      argument: { name: 'collection', description: 'its name (see: switchyard collections list)' },
      options: connectionOptions,
      async run({ argument, client, write }) {
        await client().request('DELETE', `/api/v1/collections/${pathOf(argument as string)}`);
        write(`Deleted collection ${argument} and its vectors.`);
      },
    },
    {
      name: 'reembed',
      summary: 're-embed every stored text with the model as it is now; searches use the old vectors until it is done',
      argument: { name: 'collection', description: 'its name (see: switchyard collections list)' },
      options: connectionOptions,
      async run({ argument, client, write }) {
        const started = (await client().request('POST', `/api/v1/collections/${pathOf(argument as string)}/reembed`)) as CollectionRow;
        write(`Re-embedding ${started.name}: ${started.reembed?.total ?? 0} vectors. Follow it with: switchyard collections list`);
      },
    },
  ],
};
