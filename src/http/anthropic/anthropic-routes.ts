import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type {} from '@fastify/swagger';
import type { Principal } from '../../auth/key-ring.ts';
import { isModelAllowed } from '../../auth/model-allow-list.ts';
import type { ModelIndex } from '../../data/routing/model-index.ts';
import type { RouteLookup } from '../../data/routing/resolve-candidates.ts';
import { errors } from '../../errors/error-catalogue.ts';
import type { InferenceFrontDoor } from '../dialects/front-door.ts';
import { findModelCard } from '../openai/model-cards.ts';
import { estimatePromptTokens } from '../openai/estimate-tokens.ts';
import { messagesDialect } from './messages-dialect.ts';
import { reachableDeployments } from '../dialects/native-servers.ts';
import { servesNatively } from '../../data/adapters/shared/native-apis.ts';
import { chatFromMessages } from './messages-request.ts';

export interface AnthropicRouteDependencies {
  frontDoor: InferenceFrontDoor;
  index: ModelIndex;
  routes: RouteLookup | null;
  bodyLimit: number;
}

const open = { additionalProperties: true } as const;
const model = Type.String({ minLength: 1, maxLength: 256 });
const turns = Type.Array(Type.Object({ role: Type.String({ minLength: 1 }), content: Type.Union([Type.String(), Type.Array(Type.Object({ type: Type.String({ minLength: 1 }) }, open))]) }, open), { minItems: 1 });
const MessagesBody = Type.Object(
  {
    model,
    max_tokens: Type.Integer({ minimum: 1 }),
    messages: turns,
    stream: Type.Optional(Type.Boolean()),
    stop_sequences: Type.Optional(Type.Array(Type.String())),
    temperature: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    top_p: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    top_k: Type.Optional(Type.Integer({ minimum: 0 })),
  },
  open,
);
const CountTokensBody = Type.Object({ model, messages: turns }, open);
// Accepted and not required: the SDKs send it, curl users often do not; the answers are the same for every version.
const AnthropicHeaders = Type.Object({ 'anthropic-version': Type.Optional(Type.String({ maxLength: 64 })), 'anthropic-beta': Type.Optional(Type.String({ maxLength: 1024 })) }, open);

const tags = ['Anthropic Messages API'];
const auth = 'Authenticated with a Switchyard key in `x-api-key` (as the Anthropic SDKs send it) or `Authorization: Bearer`; needs the `inference` scope. `anthropic-version` is accepted.';

/**
 * Anthropic's Messages API (`/v1/messages`) in front of the fleet: coding
 * agents and the Anthropic SDKs use any model of the fleet, translated to
 * and from OpenAI Chat Completions by the front door (docs/decisions/0024).
 */
export async function anthropicRoutes(instance: FastifyInstance, dependencies: AnthropicRouteDependencies): Promise<void> {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  const { frontDoor, index, routes, bodyLimit } = dependencies;

  app.post('/messages', { bodyLimit, schema: { body: MessagesBody, headers: AnthropicHeaders, summary: 'Create a message (Anthropic)', description: `Anthropic's Messages API, streamed as its event sequence with \`stream: true\`. ${auth}`, tags }, config: { operation: 'chat', api: 'anthropic' } }, async (request, reply) => {
    const body = request.body as Record<string, unknown>;
    const stream = body['stream'] === true;
    const chat = chatFromMessages(body, stream);
    // A server stated to serve /v1/messages itself gets the request untouched; any other, its translation.
    const native = reachableDeployments(index, routes, body['model'] as string).some((deployment) => servesNatively(deployment.server, 'anthropic'));
    return frontDoor.serve(request, reply, {
      operation: 'chat',
      api: 'anthropic',
      body: chat,
      stream,
      errorShape: 'anthropic',
      ...(native ? { native: { api: 'anthropic', path: '/v1/messages', body } } : {}),
      dialect: messagesDialect({ model: body['model'] as string, stopSequences: (body['stop_sequences'] as string[] | undefined) ?? [], estimatedInputTokens: estimatePromptTokens('chat', chat) }),
    });
  });

  app.post('/messages/count_tokens', { bodyLimit, schema: { body: CountTokensBody, headers: AnthropicHeaders, summary: 'Count a message\'s input tokens (Anthropic)', description: `An estimate (about four characters a token, the same the gateway's quotas use); nothing is sent to a model server. ${auth}`, tags } }, async (request) => {
    const body = request.body as Record<string, unknown>;
    const name = body['model'] as string;
    const allowList = (request.principal as Principal).models;
    const isAllowed = allowList === null ? () => true : (candidate: string) => isModelAllowed(allowList, candidate);
    if (findModelCard(name, index, routes, isAllowed, Date.now()) === null) throw errors.unknownModel(name, []);
    const chat = chatFromMessages({ ...body, max_tokens: 1 }, false);
    const tools = chat['tools'] === undefined ? 0 : Math.ceil(JSON.stringify(chat['tools']).length / 4);
    return { input_tokens: estimatePromptTokens('chat', chat) + tools };
  });
  frontDoor.recordRefusals(app);
}
