import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { KeyService } from '../../auth/key-service.ts';
import { scopes } from '../../auth/key-ring.ts';
import { actorOf } from '../plugins/authenticate.ts';

/** The group these routes are listed under in the published API document (/docs). */
const tags = ['Keys'];

const limit = Type.Union([Type.Integer({ minimum: 1, maximum: 1_000_000_000 }), Type.Null()]);
const fields = {
  name: Type.String({ minLength: 1, maxLength: 200 }),
  scopes: Type.Array(Type.Enum(scopes), { minItems: 1, maxItems: 4, uniqueItems: true }),
  models: Type.Union([Type.Array(Type.String({ minLength: 1, maxLength: 256, pattern: '^[^\\u0000-\\u001f]+$' }), { maxItems: 1000 }), Type.Null()]),
  rpm: limit,
  tpm: limit,
  budget_tokens: Type.Union([Type.Integer({ minimum: 0, maximum: 1e15 }), Type.Null()]),
  budget_cost: Type.Union([Type.Number({ minimum: 0, maximum: 1e12 }), Type.Null()]),
  priority: Type.Union([Type.Literal('interactive'), Type.Literal('standard'), Type.Literal('batch')], { description: 'Its class in the admission queues: interactive, standard (default) or batch (SWITCHYARD_QUEUE_WEIGHTS).' }),
  expires_at: Type.Union([Type.String({ minLength: 1, maxLength: 64 }), Type.Null()]),
  metadata: Type.Record(Type.String({ maxLength: 200 }), Type.Unknown(), { maxProperties: 100 }),
};
const CreateKeyBody = Type.Object(
  {
    name: fields.name,
    scopes: fields.scopes,
    models: Type.Optional(fields.models),
    rpm: Type.Optional(fields.rpm),
    tpm: Type.Optional(fields.tpm),
    budget_tokens: Type.Optional(fields.budget_tokens),
    priority: Type.Optional(fields.priority),
    budget_cost: Type.Optional(fields.budget_cost),
    expires_at: Type.Optional(fields.expires_at),
    metadata: Type.Optional(fields.metadata),
  },
  { additionalProperties: false },
);
const UpdateKeyBody = Type.Partial(CreateKeyBody, { additionalProperties: false });
const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) });

/** `/api/v1/keys`: Switchyard's own keys. The plaintext appears once, in the create or rotate answer. */
export async function keysRoutes(instance: FastifyInstance, dependencies: { keys: KeyService }): Promise<void> {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  const { keys } = dependencies;
  app.get('/keys', { schema: { tags, summary: 'List keys' } }, async () => ({ data: await keys.list() }));
  app.post('/keys', { schema: { tags, summary: 'Create a key (its plaintext is shown once)', body: CreateKeyBody } }, async (request, reply) => {
    const { record, key } = await keys.create(request.body, actorOf(request));
    return reply.status(201).send({ ...record, key });
  });
  app.get('/keys/:id', { schema: { tags, summary: 'Get a key', params: IdParams } }, async (request) => keys.get(request.params.id));
  app.patch('/keys/:id', { schema: { tags, summary: 'Update a key\'s name, scopes, models or limits', params: IdParams, body: UpdateKeyBody } }, async (request) => keys.update(request.params.id, request.body, actorOf(request)));
  app.delete('/keys/:id', { schema: { tags, summary: 'Revoke a key', params: IdParams } }, async (request, reply) => {
    await keys.revoke(request.params.id, actorOf(request));
    return reply.status(204).send();
  });
  app.post('/keys/:id/rotate', { schema: { tags, summary: 'Rotate a key (a new plaintext, shown once)', params: IdParams } }, async (request) => {
    const { record, key } = await keys.rotate(request.params.id, actorOf(request));
    return { ...record, key };
  });
}
