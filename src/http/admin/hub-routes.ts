import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { HubService } from '../../control/hub/hub-service.ts';
import { errors } from '../../errors/error-catalogue.ts';
import { actorOf } from '../plugins/authenticate.ts';

/** The group these routes are listed under in the published API document (/docs). */
const tags = ['Hugging Face Hub'];

const SearchQuery = Type.Object(
  {
    q: Type.Optional(Type.String({ maxLength: 200 })),
    limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,3}$' })),
    filter: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);
const RepoParams = Type.Object({ owner: Type.String({ minLength: 1, maxLength: 96 }), repo: Type.String({ minLength: 1, maxLength: 96 }) });
const InfoQuery = Type.Object({ revision: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })) }, { additionalProperties: false });
const DownloadBody = Type.Object(
  {
    repo: Type.String({ minLength: 1, maxLength: 200 }),
    file: Type.Optional(Type.String({ minLength: 1, maxLength: 1000 })),
    quant: Type.Optional(Type.String({ minLength: 1, maxLength: 40 })),
    revision: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  },
  { additionalProperties: false },
);

/**
 * `/api/v1/hub`: search the Hugging Face Hub, read a repository (files, sizes,
 * GGUF quantisations with the name Ollama pulls them by), and download files
 * into SWITCHYARD_HF_CACHE as an operation (docs/decisions/0020).
 */
export async function hubRoutes(parent: FastifyInstance, dependencies: { hub: HubService }): Promise<void> {
  const app = parent.withTypeProvider<TypeBoxTypeProvider>();
  const { hub } = dependencies;

  app.get('/hub/search', { schema: { tags, summary: 'Search the Hugging Face Hub', querystring: SearchQuery } }, async (request) => {
    const limit = request.query.limit === undefined ? 20 : Number(request.query.limit);
    if (limit < 1 || limit > 100) throw errors.invalidRequest('limit must be between 1 and 100.', 'limit');
    const { q, filter } = request.query;
    return { data: await hub.search({ limit, ...(q === undefined ? {} : { search: q }), ...(filter === undefined ? {} : { filter }) }) };
  });

  app.get('/hub/models/:owner/:repo', { schema: { tags, summary: 'A Hugging Face repository\'s files and quantizations', params: RepoParams, querystring: InfoQuery } }, async (request) => {
    const { revision } = request.query;
    return hub.model(`${request.params.owner}/${request.params.repo}`, revision);
  });

  app.post('/hub/download', { schema: { tags, summary: 'Download files from the Hugging Face Hub into the cache', body: DownloadBody } }, async (request, reply) => {
    const { repo, file, quant, revision } = request.body;
    const view = await hub.download({ repo, actor: actorOf(request), ...(file === undefined ? {} : { file }), ...(quant === undefined ? {} : { quant }), ...(revision === undefined ? {} : { revision }) });
    reply.status(202);
    return { operation_id: view.id, ...view };
  });
}
