import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { ModelLifecycleActions, ServerSelection } from '../../control/operations/model-lifecycle.ts';
import type { OperationView } from '../../control/operations/operation.ts';
import { errors } from '../../errors/error-catalogue.ts';
import { actorOf } from '../plugins/authenticate.ts';

/** The group these routes are listed under in the published API document (/docs). */
const tags = ['Model lifecycle'];

const modelName = Type.String({ minLength: 1, maxLength: 256 });
const Servers = Type.Union([Type.Literal('all'), Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { minItems: 1, maxItems: 1000 })]);
const KeepAlive = Type.Union([Type.String({ minLength: 1, maxLength: 40 }), Type.Number()]);
const PullBody = Type.Object({ model: modelName, servers: Servers }, { additionalProperties: false });
const CopyBody = Type.Object({ source: modelName, destination: modelName, servers: Servers }, { additionalProperties: false });
const LoadBody = Type.Object({ servers: Servers, keep_alive: Type.Optional(KeepAlive), lora_path: Type.Optional(Type.String({ minLength: 1, maxLength: 1000 })) }, { additionalProperties: false });
const UnloadBody = Type.Object({ servers: Servers }, { additionalProperties: false });
const ModelParams = Type.Object({ model: modelName });
const DeleteQuery = Type.Object({ servers: Type.Optional(Type.String({ minLength: 1, maxLength: 20_000 })), force: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')])) }, { additionalProperties: false });

/** 202 with the operation to follow: `GET /api/v1/operations/{operation_id}` (or its `/events`). */
const accepted = (view: OperationView) => ({ operation_id: view.id, ...view });

/**
 * Pull, delete, copy, load and unload a model on many servers at once
 * (docs/decisions/0018). Model names holding `/` (`hf.co/owner/repo:Q4_K_M`)
 * are percent-encoded in the path. Each answers 202 at once.
 */
export async function modelLifecycleRoutes(parent: FastifyInstance, dependencies: { lifecycle: ModelLifecycleActions }): Promise<void> {
  const app = parent.withTypeProvider<TypeBoxTypeProvider>();
  const { lifecycle } = dependencies;

  app.post('/models/pull', { schema: { tags, summary: 'Pull a model onto servers', body: PullBody } }, async (request, reply) => {
    reply.status(202);
    return accepted(await lifecycle.pull({ model: request.body.model, servers: request.body.servers, actor: actorOf(request) }));
  });

  app.post('/models/copy', { schema: { tags, summary: 'Copy a model under a new name on servers', body: CopyBody } }, async (request, reply) => {
    reply.status(202);
    return accepted(await lifecycle.copy({ model: request.body.source, destination: request.body.destination, servers: request.body.servers, actor: actorOf(request) }));
  });

  app.delete('/models/:model', { schema: { tags, summary: 'Delete a model from servers', params: ModelParams, querystring: DeleteQuery } }, async (request, reply) => {
    const servers = selectionOf(request.query.servers);
    reply.status(202);
    return accepted(await lifecycle.remove({ model: request.params.model, servers, force: request.query.force === 'true', actor: actorOf(request) }));
  });

  app.post('/models/:model/load', { schema: { tags, summary: 'Load a model into memory on servers', params: ModelParams, body: LoadBody } }, async (request, reply) => {
    const { servers, keep_alive: keepAlive, lora_path: loraPath } = request.body;
    reply.status(202);
    return accepted(await lifecycle.load({ model: request.params.model, servers, actor: actorOf(request), ...(keepAlive === undefined ? {} : { keepAlive }), ...(loraPath === undefined ? {} : { loraPath }) }));
  });

  app.post('/models/:model/unload', { schema: { tags, summary: 'Unload a model from memory on servers', params: ModelParams, body: UnloadBody } }, async (request, reply) => {
    reply.status(202);
    return accepted(await lifecycle.unload({ model: request.params.model, servers: request.body.servers, actor: actorOf(request) }));
  });
}

/** `?servers=all` or `?servers=id,id`; absent means every server that has the model. */
function selectionOf(value: string | undefined): ServerSelection {
  if (value === undefined || value === 'all') return 'all';
  const ids = value.split(',').map((id) => id.trim()).filter((id) => id !== '');
  if (ids.length === 0) throw errors.invalidRequest('servers must be "all" or a comma-separated list of server ids.', 'servers');
  return ids;
}
