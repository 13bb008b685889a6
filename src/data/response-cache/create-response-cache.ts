import type { Kysely } from 'kysely';
import type { FastifyBaseLogger } from 'fastify';
import { createByteCache } from '../../cache/create-byte-cache.ts';
import type { ByteCache } from '../../cache/byte-cache.ts';
import { CachePolicyRegistry } from '../../control/cache/cache-policy-registry.ts';
import type { CacheMetrics } from '../../observability/cache-metrics.ts';
import { CachePolicyStore } from '../../storage/cache-policy-store.ts';
import type { DatabaseSchema } from '../../storage/database-schema.ts';
import type { Embedder } from '../embeddings/embedder.ts';
import type { ModelIndex } from '../routing/model-index.ts';
import type { RouteLookup } from '../routing/resolve-candidates.ts';
import { ResponseCache } from './response-cache.ts';
import { canEmbed } from '../routing/capability-check.ts';

/** The policies, loaded: needed before the fleet file is applied (it writes its own). */
export async function loadCachePolicies(db: Kysely<DatabaseSchema>): Promise<CachePolicyRegistry> {
  const policies = new CachePolicyRegistry(new CachePolicyStore(db));
  await policies.load();
  return policies;
}

/** The response cache over its own ByteCache (Redis when `redis_url` is set, else memory). */
export function createResponseCache(options: {
  policies: CachePolicyRegistry;
  embedder: Embedder;
  metrics: CacheMetrics;
  redisUrl: string | undefined;
  memoryMb: number;
  log: FastifyBaseLogger;
  clock?: () => number;
}): { cache: ResponseCache; bytes: ByteCache } {
  const clock = options.clock === undefined ? {} : { clock: options.clock };
  const bytes = createByteCache({ name: 'response', redisUrl: options.redisUrl, memoryBytes: options.memoryMb * 1024 * 1024, log: options.log, ...clock });
  const cache = new ResponseCache({ policies: options.policies, bytes, embedder: options.embedder, count: ({ cache, result }) => options.metrics.count(cache, result), ...clock });
  return { cache, bytes };
}

/** A model (or a route to models) that some deployment can embed with (an embedder, or an Ollama chat model). */
export function canEmbedWith(index: ModelIndex, routes: RouteLookup): (name: string) => boolean {
  const embeds = (model: string) => index.deploymentsOf(model).some((deployment) => canEmbed(deployment.model, deployment.server.serverType));
  return (name) => embeds(name) || (routes.byName(name)?.targets.some((target) => embeds(target.model)) ?? false);
}
