import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Operation } from '../../data/adapters/inference-mapping.ts';
import type { ModelIndex } from '../../data/routing/model-index.ts';
import type { RouteLookup } from '../../data/routing/resolve-candidates.ts';
import { findModelCard, listModelCards } from './model-cards.ts';
import { ChatBody, CompletionBody, EmbeddingsBody, RerankBody, steeringFields } from './openai-schemas.ts';
import type { Principal } from '../../auth/key-ring.ts';
import { isModelAllowed } from '../../auth/model-allow-list.ts';
import { errors } from '../../errors/error-catalogue.ts';
import type { InferenceFrontDoor } from '../dialects/front-door.ts';
import { wildcardParams } from '../docs/wildcard-params.ts';

/** A wildcard route's name, for the published document. */
const ModelPath = wildcardParams('The model\'s or route\'s name (`org/model`, `llama3:8b`), as it is or URL-encoded.');

/** The group these routes are listed under in the published API document (/docs). */
const tags = ['OpenAI-compatible API'];

export interface OpenAIRouteDependencies {
  frontDoor: InferenceFrontDoor;
  index: ModelIndex;
  /** Route names are model names too (`GET /v1/models/{route}`). */
  routes: RouteLookup | null;
  bodyLimit: number;
}

const allowAll = () => true;

/** The OpenAI-compatible API under /v1. */
export async function openAIRoutes(instance: FastifyInstance, dependencies: OpenAIRouteDependencies): Promise<void> {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  const { index, routes, bodyLimit } = dependencies;
  const frontDoor = dependencies.frontDoor;

  const forward = (operation: Operation) => async (request: FastifyRequest, reply: FastifyReply) => {
    const body = { ...(request.body as Record<string, unknown>) };
    for (const field of steeringFields) delete body[field];
    return frontDoor.serve(request, reply, { operation, api: 'openai', body, stream: body['stream'] === true });
  };

  app.post('/chat/completions', { bodyLimit, schema: { tags, summary: 'Create a chat completion (OpenAI)', body: ChatBody }, config: { operation: 'chat' } }, forward('chat'));
  app.post('/completions', { bodyLimit, schema: { tags, summary: 'Create a completion (OpenAI)', body: CompletionBody }, config: { operation: 'completion' } }, forward('completion'));
  app.post('/embeddings', { bodyLimit, schema: { tags, summary: 'Create embeddings (OpenAI)', body: EmbeddingsBody }, config: { operation: 'embeddings' } }, forward('embeddings'));
  app.post('/rerank', { bodyLimit, schema: { tags, summary: 'Rerank documents (Cohere/Jina shape)', body: RerankBody }, config: { operation: 'rerank' } }, forward('rerank'));
  frontDoor.recordRefusals(app);

  const isAllowedFor = (principal: Principal) => (principal.models === null ? allowAll : (name: string) => isModelAllowed(principal.models, name));

  app.get('/models', { schema: { tags, summary: 'List the models and routes the key may use (OpenAI)' } }, async (request) => ({ object: 'list', data: listModelCards(index, routes, isAllowedFor(request.principal as Principal), Date.now()) }));

  // The `openai` client's models.retrieve sends `org/model` as `org%2Fmodel`; other clients send the slash as it is.
  // The wildcard takes both (decoded), and ids with `:` (`llama3:8b`).
  app.get('/models/*', { schema: { tags, params: ModelPath, summary: 'Get one model or route (OpenAI)' } }, async (request) => {
    const name = (request.params as { '*': string })['*'];
    const isAllowed = isAllowedFor(request.principal as Principal);
    const card = findModelCard(name, index, routes, isAllowed, Date.now());
    // A model outside the key's allow-list answers exactly like one that does not exist (as the list and inference do).
    if (card === null) throw errors.unknownModel(name, index.suggest(name, { isAllowed, extra: routes?.list().map((route) => route.name) ?? [] }));
    return card;
  });
}

