import type { FastifyBaseLogger } from 'fastify';
import type { Registry } from 'prom-client';
import type { ByteCache } from '../../cache/byte-cache.ts';
import { createByteCache } from '../../cache/create-byte-cache.ts';
import type { Config } from '../../config/config-schema.ts';
import type { ModelHold, ServerModel } from '../../domain/model-server.ts';
import type { CacheMetrics } from '../../observability/cache-metrics.ts';
import type { InferenceProxy } from '../proxy/inference-proxy.ts';
import type { ModelIndex } from '../routing/model-index.ts';
import { resolveCandidates, type RouteLookup } from '../routing/resolve-candidates.ts';
import { hedgedRequestsCounter } from './embedding-metrics.ts';
import { EmbeddingService } from './embedding-service.ts';
import { HedgedCaller } from './hedged-call.ts';

/** What the pipeline needs of the server registry: a way to take a model on a server out of rotation. */
export interface ModelHolder {
  holdModel(serverId: string, modelId: string, hold: ModelHold): ServerModel | null;
}

export interface EmbeddingPipeline {
  embedder: EmbeddingService;
  /** Rerank and anything else safe to repeat goes through the same hedging. */
  hedger: HedgedCaller;
  /** The embedding cache (null when turned off). */
  cache: ByteCache | null;
  close(): Promise<void>;
}

/** Builds the gateway's embedder (decision 0014) from its settings: the cache in Redis when REDIS_URL is set, else in memory. */
export function createEmbeddingPipeline(options: {
  config: Config;
  proxy: InferenceProxy;
  index: ModelIndex;
  routes: RouteLookup | null;
  registry: ModelHolder;
  metrics: Registry;
  cacheMetrics: CacheMetrics;
  log: FastifyBaseLogger;
}): EmbeddingPipeline {
  const { config, proxy, log } = options;
  const cache = config.embeddings.cache ? createByteCache({ name: 'embedding', redisUrl: config.redis_url, memoryBytes: config.embeddings.cache_mb * 1024 * 1024, log }) : null;
  const candidates = (modelName: string) => resolveCandidates(modelName, options.index, options.routes, config.routing_strategy ?? 'least-inflight')?.groups.flatMap((group) => group.deployments) ?? [];
  const hedger = new HedgedCaller(proxy, config.hedging, hedgedRequestsCounter(options.metrics), candidates);
  const embedder = new EmbeddingService({
    proxy,
    index: options.index,
    routes: options.routes,
    strategy: config.routing_strategy ?? 'least-inflight',
    cache,
    settings: config.embeddings,
    hedger,
    countCache: (result, inputs) => options.cacheMetrics.count('embedding', result, inputs),
    holdDeployment: (deployment, message) => {
      options.registry.holdModel(deployment.server.id, deployment.model.modelId, { reason: 'dimension_mismatch', message, since: new Date().toISOString() });
    },
    log,
  });
  return { embedder, hedger, cache, close: async () => cache?.close() };
}
