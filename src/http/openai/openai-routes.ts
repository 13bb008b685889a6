import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Operation } from '../../data/adapters/inference-mapping.ts';
import type { InferenceProxy } from '../../data/proxy/inference-proxy.ts';
import { isRoutable } from '../../data/routing/deployment-picker.ts';
import type { ModelIndex } from '../../data/routing/model-index.ts';
import { ChatBody, CompletionBody, EmbeddingsBody, RerankBody, steeringFields } from './openai-schemas.ts';

export interface OpenAIRouteDependencies {
  proxy: InferenceProxy;
  index: ModelIndex;
  bodyLimit: number;
}

/** The OpenAI-compatible API under /v1. */
export async function openAIRoutes(instance: FastifyInstance, dependencies: OpenAIRouteDependencies): Promise<void> {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  const { proxy, index, bodyLimit } = dependencies;

  const forward = (operation: Operation) => async (request: FastifyRequest, reply: FastifyReply) => {
    const body = { ...(request.body as Record<string, unknown>) };
    for (const field of steeringFields) delete body[field];
    reply.hijack();
    await proxy.handle({
      operation,
      body,
      modelName: body['model'] as string,
      stream: body['stream'] === true,
      requestId: request.id,
      response: reply.raw,
    });
  };

  app.post('/chat/completions', { bodyLimit, schema: { body: ChatBody } }, forward('chat'));
  app.post('/completions', { bodyLimit, schema: { body: CompletionBody } }, forward('completion'));
  app.post('/embeddings', { bodyLimit, schema: { body: EmbeddingsBody } }, forward('embeddings'));
  app.post('/rerank', { bodyLimit, schema: { body: RerankBody } }, forward('rerank'));

  app.get('/models', async () => {
    const now = Date.now();
    const models = new Map<string, { id: string; created: number; servers: string[]; capabilities: Set<string>; embedding_dimension: number | null; context_length: number | null; owned_by: string }>();
    for (const name of index.names()) {
      for (const deployment of index.deploymentsOf(name)) {
        if (deployment.model.modelId !== name || !isRoutable(deployment, now)) continue;
        const entry = models.get(name) ?? {
          id: name,
          created: Math.floor(Date.parse(deployment.model.firstSeenAt) / 1000),
          servers: [],
          capabilities: new Set<string>(),
          embedding_dimension: deployment.model.embeddingDimension,
          context_length: deployment.model.contextLength,
          owned_by: deployment.server.serverType,
        };
        entry.servers.push(deployment.server.name);
        for (const capability of deployment.model.capabilities) entry.capabilities.add(capability);
        models.set(name, entry);
      }
    }
    return {
      object: 'list',
      data: [...models.values()].map((entry) => ({
        id: entry.id,
        object: 'model',
        created: entry.created,
        owned_by: entry.owned_by,
        switchyard: { servers: entry.servers, capabilities: [...entry.capabilities], embedding_dimension: entry.embedding_dimension, context_length: entry.context_length },
      })),
    };
  });
}
