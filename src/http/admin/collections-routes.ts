import { frontDoorOf } from '../internal/internal-rest.ts';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Principal } from '../../auth/key-ring.ts';
import { isModelAllowed } from '../../auth/model-allow-list.ts';
import type { Caller, CollectionService } from '../../collections/collection-service.ts';
import type { ReembedRunner } from '../../collections/reembed-runner.ts';
import type { VectorCollection } from '../../collections/vector-collection.ts';
import type { FleetOwnership } from '../../control/fleet/fleet-ownership.ts';
import { errors } from '../../errors/error-catalogue.ts';
import { actorOf } from '../plugins/authenticate.ts';
import { wildcardParams } from '../docs/wildcard-params.ts';

/** The group these routes are listed under in the published API document (/docs). */
const tags = ['Vectors'];

const CollectionPath = wildcardParams('The collection\'s name (a model\'s own collection is named after it: `org/model`), as it is or URL-encoded; for a re-embed, followed by `/reembed`.');

const CreateCollectionBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    model: Type.String({ minLength: 1, maxLength: 256 }),
    vector_size: Type.Optional(Type.Integer({ minimum: 1, maximum: 65_536 })),
    distance: Type.Optional(Type.Union([Type.Literal('cosine'), Type.Literal('dot'), Type.Literal('euclid')])),
  },
  { additionalProperties: false },
);

export interface CollectionsRoutesDependencies {
  collections: CollectionService;
  reembeds: ReembedRunner;
  ownership: FleetOwnership;
}

/** Who is calling, as the collection and vector services want it. */
export function callerOf(request: FastifyRequest): Caller {
  const principal = request.principal as Principal;
  const allowList = principal.models;
  // Embeddings made for a store or search are recorded under the API the caller used: REST, or GraphQL and gRPC through it.
  return { requestId: request.id, keyId: principal.keyId, isAllowed: allowList === null ? () => true : (name) => isModelAllowed(allowList, name), log: request.log, actor: actorOf(request), api: frontDoorOf(request) ?? 'rest' };
}

/**
 * `/api/v1/collections`: the registry of vector collections. Names may hold
 * `/` and `:` (a collection made on a model's first store is named after the
 * model), so the name is the rest of the path, sent as it is or encoded.
 */
export async function collectionsRoutes(instance: FastifyInstance, dependencies: CollectionsRoutesDependencies): Promise<void> {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  const { collections, reembeds, ownership } = dependencies;
  const record = async (collection: VectorCollection) => ({
    name: collection.name,
    model: collection.model,
    vector_size: collection.vectorSize,
    distance: collection.distance,
    backend: collection.backend,
    // A backend that cannot answer (pgvector or Qdrant away) leaves the count unknown, not the listing failed.
    count: await collections.vectors.count(collection.physicalName).catch((error: unknown) => {
      collections.log.warn({ collection: collection.name, err: error instanceof Error ? error.message : 'unknown' }, 'could not count a collection');
      return null;
    }),
    status: collection.status,
    model_digest: collection.modelDigest,
    stale_digest: collection.staleDigest,
    reembed: collection.reembed,
    managed_by: ownership.view(collection),
    created_at: collection.createdAt,
    updated_at: collection.updatedAt,
  });

  app.get('/collections', { schema: { tags, summary: 'List vector collections' } }, async (request) => {
    const caller = callerOf(request);
    return { data: await Promise.all(collections.list().filter((collection) => caller.isAllowed(collection.model)).map(record)) };
  });
  app.post('/collections', { schema: { tags, summary: 'Create a vector collection', body: CreateCollectionBody } }, async (request, reply) => {
    const body = request.body;
    const created = await collections.create(
      { name: body.name, model: body.model, ...(body.vector_size === undefined ? {} : { vectorSize: body.vector_size }), ...(body.distance === undefined ? {} : { distance: body.distance }) },
      'api',
      callerOf(request),
    );
    return reply.status(201).send(await record(created));
  });
  app.get('/collections/*', { schema: { tags, params: CollectionPath, summary: 'Get a vector collection' } }, async (request) => record(collections.visible(wildcardOf(request), callerOf(request))));
  app.delete('/collections/*', { schema: { tags, params: CollectionPath, summary: 'Delete a vector collection and its vectors' } }, async (request, reply) => {
    const collection = collections.visible(wildcardOf(request), callerOf(request));
    ownership.assertEditable(collection, `Collection "${collection.name}"`);
    await reembeds.cancel(collection.name);
    await collections.remove(collection.name, actorOf(request));
    return reply.status(204).send();
  });
  app.post('/collections/*', { schema: { tags, params: CollectionPath, summary: 'Re-embed a collection with its model\'s current version (POST /collections/{name}/reembed)', description: 'Takes no body; answers 202 and runs in the background, the collection serving its old vectors until the swap.' } }, async (request, reply) => {
    const path = wildcardOf(request);
    if (!path.endsWith('/reembed')) throw errors.routeNotFound('POST', request.url);
    const caller = callerOf(request);
    const collection = collections.visible(path.slice(0, -'/reembed'.length), caller);
    return reply.status(202).send(await record(await reembeds.start(collection, caller)));
  });
}

export function wildcardOf(request: FastifyRequest): string {
  return (request.params as { '*': string })['*'];
}
