import { Counter, type Registry } from 'prom-client';

/** Which cache answered: the response cache (exact or semantic match) or the embedding cache. */
export type CacheName = 'response' | 'semantic' | 'embedding';
export type CacheResult = 'hit' | 'miss' | 'bypass';

/** `llm_cache_requests_total{cache, result}`: every cache lookup, and every request that skipped one. */
export class CacheMetrics {
  readonly #requests: Counter<'cache' | 'result'>;

  constructor(registry: Registry) {
    this.#requests = new Counter({
      name: 'llm_cache_requests_total',
      help: 'Cache lookups by cache (response, semantic, embedding) and result (hit, miss, bypass).',
      labelNames: ['cache', 'result'],
      registers: [registry],
    });
  }

  count(cache: CacheName, result: CacheResult, times = 1): void {
    this.#requests.inc({ cache, result }, times);
  }
}
