/**
 * One interface for the gateway's caches (responses, embeddings): bytes
 * under string keys, with a time to live. Implementations: in memory (LRU,
 * bounded in bytes) and Redis (shared by replicas). A cache never fails a
 * request: a backend that is down or slow answers a miss (`get` → null) and
 * drops writes, and says so in its own log, at most once a minute.
 */
export interface ByteCache {
  readonly backend: 'memory' | 'redis';
  get(key: string): Promise<Buffer | null>;
  /** Many keys in one round trip; null where missing. */
  getMany(keys: readonly string[]): Promise<Array<Buffer | null>>;
  set(key: string, value: Buffer, ttlMs: number | null): Promise<void>;
  setMany(entries: ReadonlyArray<{ key: string; value: Buffer }>, ttlMs: number | null): Promise<void>;
  delete(key: string): Promise<void>;
  close(): Promise<void>;
}
