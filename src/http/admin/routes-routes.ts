import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { routingStrategies } from '../../config/config-schema.ts';
import type { RouteRegistry } from '../../control/routes/route-registry.ts';
import type { Route } from '../../domain/route.ts';
import type { FleetOwnership } from '../../control/fleet/fleet-ownership.ts';
import { resolveRoute } from '../../control/routes/route-resolution.ts';
import type { ModelIndex } from '../../data/routing/model-index.ts';
import { actorOf } from '../plugins/authenticate.ts';

/** The group these routes are listed under in the published API document (/docs). */
const tags = ['Routes'];

const modelName = Type.String({ minLength: 1, maxLength: 256 });
const Target = Type.Union([
  modelName,
  Type.Object({ model: modelName, weight: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1_000_000 })), tier: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })) }, { additionalProperties: false }),
]);
const fields = {
  name: Type.String({ minLength: 1, maxLength: 200 }),
  strategy: Type.Union([Type.Enum(routingStrategies), Type.Null()]),
  targets: Type.Array(Target, { minItems: 1, maxItems: 100 }),
  fallbacks: Type.Array(modelName, { maxItems: 10 }),
  metadata: Type.Record(Type.String(), Type.Unknown(), { maxProperties: 100 }),
};
const CreateRouteBody = Type.Object(
  { name: fields.name, targets: fields.targets, strategy: Type.Optional(fields.strategy), fallbacks: Type.Optional(fields.fallbacks), metadata: Type.Optional(fields.metadata) },
  { additionalProperties: false },
);
const UpdateRouteBody = Type.Partial(CreateRouteBody, { additionalProperties: false });
const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) });

export function toRouteRecord(route: Route, index: ModelIndex, ownership: FleetOwnership) {
  const resolution = resolveRoute(route, (model) => index.isKnown(model));
  return {
    id: route.id,
    name: route.name,
    strategy: route.strategy,
    targets: route.targets,
    fallbacks: route.fallbacks,
    metadata: route.metadata,
    managed_by: ownership.view(route),
    status: resolution.status,
    unresolved_targets: resolution.unresolvedTargets,
    created_at: route.createdAt,
    updated_at: route.updatedAt,
  };
}

/** `/api/v1/routes`: aliases, weights, tiers and fallback chains. */
export async function routesRoutes(instance: FastifyInstance, dependencies: { routes: RouteRegistry; index: ModelIndex; ownership: FleetOwnership }): Promise<void> {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  const { routes, index, ownership } = dependencies;
  const record = (route: Route) => toRouteRecord(route, index, ownership);
  const requireEditable = (id: string) => {
    const route = routes.require(id);
    ownership.assertEditable(route, `Route "${route.name}"`);
  };
  app.get('/routes', { schema: { tags, summary: 'List routes (model aliases)' } }, async () => ({ data: routes.list().map(record) }));
  app.post('/routes', { schema: { tags, summary: 'Create a route', body: CreateRouteBody } }, async (request, reply) => reply.status(201).send(record(await routes.create(request.body, 'api', actorOf(request)))));
  app.get('/routes/:id', { schema: { tags, summary: 'Get a route', params: IdParams } }, async (request) => record(routes.require(request.params.id)));
  app.put('/routes/:id', { schema: { tags, summary: 'Update a route', params: IdParams, body: UpdateRouteBody } }, async (request) => {
    requireEditable(request.params.id);
    return record(await routes.update(request.params.id, request.body, actorOf(request)));
  });
  app.delete('/routes/:id', { schema: { tags, summary: 'Delete a route', params: IdParams } }, async (request, reply) => {
    requireEditable(request.params.id);
    await routes.remove(request.params.id, actorOf(request));
    return reply.status(204).send();
  });
}
