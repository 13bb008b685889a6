import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { CachePolicyRegistry } from '../../control/cache/cache-policy-registry.ts';
import { maxTtlS } from '../../control/cache/cache-policy-registry.ts';
import type { FleetOwnership } from '../../control/fleet/fleet-ownership.ts';
import { cacheModes, cacheScopes, type CachePolicy } from '../../domain/cache-policy.ts';
import { actorOf } from '../plugins/authenticate.ts';
import { wildcardParams } from '../docs/wildcard-params.ts';

/** A wildcard route's name, for the published document. */
const ModelPath = wildcardParams('The model (or route) the policy is for, as it is or URL-encoded.');

/** The group these routes are listed under in the published API document (/docs). */
const tags = ['Caching'];

const PolicyBody = Type.Object(
  {
    mode: Type.Enum(cacheModes),
    ttl_s: Type.Integer({ minimum: 1, maximum: maxTtlS }),
    scope: Type.Optional(Type.Enum(cacheScopes)),
    similarity: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1 })),
    embedding_model: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
  },
  { additionalProperties: false },
);

export function toCachePolicyRecord(policy: CachePolicy, ownership: FleetOwnership) {
  return {
    name: policy.name,
    mode: policy.mode,
    ttl_s: policy.ttlS,
    scope: policy.scope,
    similarity: policy.mode === 'semantic' ? policy.similarity : null,
    embedding_model: policy.embeddingModel,
    managed_by: ownership.view(policy),
    created_at: policy.createdAt,
    updated_at: policy.updatedAt,
  };
}

/**
 * `/api/v1/cache-policies/{model-or-route}`: the response cache, off unless a
 * policy names the model or route. The name may hold `/` (`org/model`), so
 * it is the rest of the path (the `openai` client's `%2F` decodes the same).
 */
export async function cachePoliciesRoutes(
  instance: FastifyInstance,
  dependencies: { policies: CachePolicyRegistry; ownership: FleetOwnership; canEmbed: (model: string) => boolean },
): Promise<void> {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  const { policies, ownership, canEmbed } = dependencies;
  const record = (policy: CachePolicy) => toCachePolicyRecord(policy, ownership);
  const nameOf = (params: unknown) => (params as { '*': string })['*'];
  app.get('/cache-policies', { schema: { tags, summary: 'List response-cache policies' } }, async () => ({ data: policies.list().map(record) }));
  app.get('/cache-policies/*', { schema: { tags, params: ModelPath, summary: 'Get a model\'s cache policy' } }, async (request) => record(policies.require(nameOf(request.params))));
  app.put('/cache-policies/*', { schema: { tags, params: ModelPath, summary: 'Set a model\'s cache policy', body: PolicyBody } }, async (request, reply) => {
    const name = nameOf(request.params);
    const current = policies.byName(name);
    if (current !== undefined) ownership.assertEditable(current, `Cache policy "${name}"`);
    const { policy, created } = await policies.put(name, request.body, { actor: actorOf(request), canEmbed });
    return reply.status(created ? 201 : 200).send(record(policy));
  });
  app.delete('/cache-policies/*', { schema: { tags, params: ModelPath, summary: 'Remove a model\'s cache policy' } }, async (request, reply) => {
    const name = nameOf(request.params);
    ownership.assertEditable(policies.require(name), `Cache policy "${name}"`);
    await policies.remove(name, actorOf(request));
    return reply.status(204).send();
  });
}
