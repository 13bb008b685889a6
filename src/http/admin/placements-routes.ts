import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { FleetOwnership } from '../../control/fleet/fleet-ownership.ts';
import type { PlacementReconciler } from '../../control/placements/placement-reconciler.ts';
import type { PlacementRegistry } from '../../control/placements/placement-registry.ts';
import type { ServerRegistry } from '../../control/servers/server-registry.ts';
import type { Placement } from '../../domain/placement.ts';
import { actorOf } from '../plugins/authenticate.ts';
import { wildcardParams } from '../docs/wildcard-params.ts';

/** A wildcard route's name, for the published document. */
const ModelPath = wildcardParams('The model\'s name (`org/model`, `llama3:8b`), as it is or URL-encoded.');

/** The group these routes are listed under in the published API document (/docs). */
const tags = ['Placements'];

const PlacementBody = Type.Object(
  {
    pulled_on: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    servers: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { minItems: 1, maxItems: 1000 })),
    warm_on: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000 })),
    keep_alive: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 40 }), Type.Number()])),
    active_hours: Type.Optional(Type.String({ maxLength: 20 })),
  },
  { additionalProperties: false },
);

/**
 * `/api/v1/placements/{model}`: say on how many servers a model is pulled and
 * on how many it is kept loaded; the reconciler keeps it so and reports how it
 * stands. The model name is the rest of the path (it may hold `/`).
 */
export async function placementsRoutes(instance: FastifyInstance, dependencies: { placements: PlacementRegistry; reconciler: PlacementReconciler; registry: ServerRegistry; ownership: FleetOwnership }): Promise<void> {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  const { placements, reconciler, registry, ownership } = dependencies;
  const names = (ids: string[]) => ids.map((id) => registry.get(id)?.name ?? id);
  const record = (placement: Placement) => {
    const state = reconciler.stateOf(placement.model);
    return {
      model: placement.model,
      pulled_on: placement.pulledOn,
      servers: placement.servers,
      warm_on: placement.warmOn,
      keep_alive: placement.keepAlive,
      active_hours: placement.activeHours === null ? null : `${placement.activeHours.from}-${placement.activeHours.to}`,
      status: state.status,
      reason: state.reason,
      held_on: names(state.holders),
      warm_on_servers: names(state.warm),
      operations: state.operations,
      checked_at: state.checked_at,
      managed_by: ownership.view(placement),
      created_at: placement.createdAt,
      updated_at: placement.updatedAt,
    };
  };
  const modelOf = (params: unknown) => (params as { '*': string })['*'];
  app.get('/placements', { schema: { tags, summary: 'List placements' } }, async () => ({ data: placements.list().map(record) }));
  app.get('/placements/*', { schema: { tags, params: ModelPath, summary: 'Get a model\'s placement' } }, async (request) => record(placements.require(modelOf(request.params))));
  app.put('/placements/*', { schema: { tags, params: ModelPath, summary: 'Set a model\'s placement', body: PlacementBody } }, async (request, reply) => {
    const model = modelOf(request.params);
    const current = placements.get(model);
    if (current !== undefined) ownership.assertEditable(current, `Placement for "${model}"`);
    const { placement, created } = await placements.put(model, request.body, { actor: actorOf(request) });
    return reply.status(created ? 201 : 200).send(record(placement));
  });
  app.delete('/placements/*', { schema: { tags, params: ModelPath, summary: 'Remove a model\'s placement' } }, async (request, reply) => {
    const model = modelOf(request.params);
    ownership.assertEditable(placements.require(model), `Placement for "${model}"`);
    await placements.remove(model, actorOf(request));
    return reply.status(204).send();
  });
}
