import type { ByteCache } from './byte-cache.ts';
import { MemoryByteCache } from './memory-byte-cache.ts';
import { RedisByteCache, type CacheLog } from './redis-byte-cache.ts';

/** Redis when a URL is set (shared by replicas), else this process's memory. */
export function createByteCache(options: { name: string; redisUrl: string | undefined; memoryBytes: number; log: CacheLog; redisTimeoutMs?: number; clock?: () => number }): ByteCache {
  const clock = options.clock === undefined ? {} : { clock: options.clock };
  if (options.redisUrl === undefined) return new MemoryByteCache({ maxBytes: options.memoryBytes, ...clock });
  return new RedisByteCache({
    url: options.redisUrl,
    prefix: `switchyard:cache:${options.name}`,
    log: options.log,
    name: options.name,
    ...(options.redisTimeoutMs === undefined ? {} : { timeoutMs: options.redisTimeoutMs }),
    ...clock,
  });
}
