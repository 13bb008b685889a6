import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type {} from '@fastify/swagger';
import type { Principal } from '../../auth/key-ring.ts';
import { AppError } from '../../errors/app-error.ts';
import type { ResponseStore } from '../../storage/response-store.ts';
import type { InferenceFrontDoor } from '../dialects/front-door.ts';
import { newResponseId, responsesDialect } from './responses-dialect.ts';
import { chatFromResponses } from './responses-request.ts';
import { reachableDeployments } from '../dialects/native-servers.ts';
import { servesNatively } from '../../data/adapters/shared/native-apis.ts';
import type { ModelIndex } from '../../data/routing/model-index.ts';
import type { RouteLookup } from '../../data/routing/resolve-candidates.ts';

export interface ResponsesRouteDependencies {
  frontDoor: InferenceFrontDoor;
  index: ModelIndex;
  routes: RouteLookup | null;
  responses: ResponseStore;
  bodyLimit: number;
}

const open = { additionalProperties: true } as const;
const ResponsesBody = Type.Object(
  {
    model: Type.String({ minLength: 1, maxLength: 256 }),
    input: Type.Union([Type.String(), Type.Array(Type.Object({}, open))]),
    instructions: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    stream: Type.Optional(Type.Boolean()),
    store: Type.Optional(Type.Boolean()),
    previous_response_id: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 128 }), Type.Null()])),
    max_output_tokens: Type.Optional(Type.Union([Type.Integer({ minimum: 1 }), Type.Null()])),
    temperature: Type.Optional(Type.Union([Type.Number({ minimum: 0, maximum: 2 }), Type.Null()])),
    top_p: Type.Optional(Type.Union([Type.Number({ minimum: 0, maximum: 1 }), Type.Null()])),
    metadata: Type.Optional(Type.Union([Type.Record(Type.String({ maxLength: 64 }), Type.String({ maxLength: 512 }), { maxProperties: 16 }), Type.Null()])),
  },
  open,
);
const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) });

const tags = ['OpenAI Responses API'];
const auth = 'Needs a key with the `inference` scope; a stored response belongs to the key that made it (any other key gets 404).';

/**
 * OpenAI's Responses API in front of the fleet: every request is translated
 * to Chat Completions by the front door (docs/decisions/0024) and, unless
 * `store: false`, its answer is kept for the key that asked so
 * `previous_response_id` continues the conversation (docs/decisions/0025).
 */
export async function responsesRoutes(instance: FastifyInstance, dependencies: ResponsesRouteDependencies): Promise<void> {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  const { frontDoor, responses, bodyLimit, index, routes } = dependencies;
  const keyOf = (principal: Principal | null) => principal?.keyId ?? null;

  app.post('/responses', { bodyLimit, schema: { body: ResponsesBody, summary: 'Create a response (OpenAI Responses)', description: `OpenAI's Responses API, streamed as its event sequence with \`stream: true\`. ${auth}`, tags }, config: { operation: 'chat', api: 'responses' } }, async (request, reply) => {
    const body = request.body as Record<string, unknown>;
    const keyId = keyOf(request.principal);
    const stream = body['stream'] === true;
    const previousId = typeof body['previous_response_id'] === 'string' ? body['previous_response_id'] : null;
    const previous = previousId === null ? null : await responses.get(previousId, keyId);
    if (previousId !== null && previous === null) throw notFound(previousId, 'previous_response_id');
    const translation = chatFromResponses(body, previous?.conversation ?? [], stream);
    const id = newResponseId();
    const store = body['store'] !== false;
    const dialect = responsesDialect({
      id,
      createdAt: Math.floor(Date.now() / 1000),
      model: body['model'] as string,
      request: body,
      onFinished: (response, assistant) => {
        if (store) responses.put({ id, keyId, response, inputItems: translation.inputItems, conversation: [...translation.conversation, assistant] });
      },
    });
    // A request that keeps nothing here (store: false, no previous_response_id) may pass untouched to a server
    // stated to serve /v1/responses itself; a stored conversation is ours, so it is always translated.
    const native = !store && previousId === null && reachableDeployments(index, routes, body['model'] as string).some((deployment) => servesNatively(deployment.server, 'responses'));
    return frontDoor.serve(request, reply, { operation: 'chat', api: 'responses', body: translation.chat, stream, dialect, ...(native ? { native: { api: 'responses', path: '/v1/responses', body } } : {}) });
  });

  app.get('/responses/:id', { schema: { params: IdParams, summary: 'Retrieve a stored response (OpenAI Responses)', description: auth, tags } }, async (request) => {
    const { id } = request.params as { id: string };
    const stored = await responses.get(id, keyOf(request.principal));
    if (stored === null) throw notFound(id, null);
    return stored.response;
  });

  app.get('/responses/:id/input_items', { schema: { params: IdParams, summary: 'List a stored response\'s input items (OpenAI Responses)', description: auth, tags } }, async (request) => {
    const { id } = request.params as { id: string };
    const stored = await responses.get(id, keyOf(request.principal));
    if (stored === null) throw notFound(id, null);
    const data = stored.inputItems.map((item, index) => ({ id: typeof item['id'] === 'string' ? item['id'] : `${id}_input_${index}`, ...item }));
    return { object: 'list', data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: false };
  });

  app.delete('/responses/:id', { schema: { params: IdParams, summary: 'Delete a stored response (OpenAI Responses)', description: auth, tags } }, async (request) => {
    const { id } = request.params as { id: string };
    if (!(await responses.delete(id, keyOf(request.principal)))) throw notFound(id, null);
    return { id, object: 'response', deleted: true };
  });
  frontDoor.recordRefusals(app);
}

/** OpenAI's words for a response that is not there (or is another key's, or expired: the same to the caller). */
function notFound(id: string, param: string | null): AppError {
  return new AppError('SY_NOT_FOUND', { message: param === null ? `No response found with id '${id}'.` : `Previous response with id '${id}' not found.`, param });
}
