import { Cluster } from 'ioredis';
import { createRedis, type RedisClient } from '../storage/redis-connection.ts';
import type { ByteCache } from './byte-cache.ts';

export interface CacheLog {
  warn(details: Record<string, unknown>, message: string): void;
}

const warnEveryMs = 60_000;

/**
 * The cache in Redis, shared by every replica. It must never hold a request
 * up: each command is bounded by a short timeout, and once a connection that
 * worked is lost, commands fail at once instead of queueing behind the
 * reconnect. Every failure is a miss (or a dropped write), logged at most
 * once a minute. Before the first connection, commands wait for it (within
 * the timeout), so a gateway that just started does not miss everything.
 */
export class RedisByteCache implements ByteCache {
  readonly backend = 'redis' as const;
  readonly #redis: RedisClient;
  // A Cluster keeps keys of one request on many nodes: multi-key commands go one key at a time there.
  readonly #clustered: boolean;
  readonly #prefix: string;
  readonly #log: CacheLog;
  readonly #name: string;
  readonly #clock: () => number;
  #wasReady = false;
  #lastWarnAt = Number.NEGATIVE_INFINITY;

  constructor(options: { url: string; prefix: string; log: CacheLog; name: string; timeoutMs?: number; clock?: () => number }) {
    this.#redis = createRedis(options.url, { maxRetriesPerRequest: 0, commandTimeout: options.timeoutMs ?? 250, enableOfflineQueue: true, connectTimeout: 2_000 });
    this.#clustered = this.#redis instanceof Cluster;
    // Failures surface on the commands that meet them; no unhandled 'error' events.
    this.#redis.on('error', () => undefined);
    this.#redis.on('ready', () => (this.#wasReady = true));
    this.#prefix = `${options.prefix}:`;
    this.#log = options.log;
    this.#name = options.name;
    this.#clock = options.clock ?? Date.now;
  }

  async get(key: string): Promise<Buffer | null> {
    return this.#run('read', () => this.#redis.getBuffer(this.#prefix + key), null);
  }

  async getMany(keys: readonly string[]): Promise<Array<Buffer | null>> {
    if (keys.length === 0) return [];
    const missing = keys.map(() => null);
    if (this.#clustered) return this.#run('read', () => Promise.all(keys.map((key) => this.#redis.getBuffer(this.#prefix + key))), missing);
    return this.#run('read', () => this.#redis.mgetBuffer(...keys.map((key) => this.#prefix + key)), missing);
  }

  async set(key: string, value: Buffer, ttlMs: number | null): Promise<void> {
    await this.#run('write', () => (ttlMs === null ? this.#redis.set(this.#prefix + key, value) : this.#redis.set(this.#prefix + key, value, 'PX', Math.max(1, Math.round(ttlMs)))), null);
  }

  async setMany(entries: ReadonlyArray<{ key: string; value: Buffer }>, ttlMs: number | null): Promise<void> {
    if (entries.length === 0) return;
    if (this.#clustered) {
      await Promise.all(entries.map((entry) => this.set(entry.key, entry.value, ttlMs)));
      return;
    }
    await this.#run(
      'write',
      async () => {
        const pipeline = this.#redis.pipeline();
        for (const entry of entries) {
          if (ttlMs === null) pipeline.set(this.#prefix + entry.key, entry.value);
          else pipeline.set(this.#prefix + entry.key, entry.value, 'PX', Math.max(1, Math.round(ttlMs)));
        }
        const results = await pipeline.exec();
        const failed = results?.find(([error]) => error !== null)?.[0];
        if (failed) throw failed;
        return null;
      },
      null,
    );
  }

  async delete(key: string): Promise<void> {
    await this.#run('write', () => this.#redis.del(this.#prefix + key), null);
  }

  async close(): Promise<void> {
    this.#redis.disconnect();
  }

  async #run<T>(what: 'read' | 'write', command: () => Promise<T>, fallback: T): Promise<T> {
    // A connection that worked and is gone: answer now rather than wait for the reconnect.
    if (this.#wasReady && this.#redis.status !== 'ready') {
      this.#warn(what, new Error(`connection ${this.#redis.status}`));
      return fallback;
    }
    try {
      return await command();
    } catch (error) {
      this.#warn(what, error);
      return fallback;
    }
  }

  #warn(what: 'read' | 'write', error: unknown): void {
    const now = this.#clock();
    if (now - this.#lastWarnAt < warnEveryMs) return;
    this.#lastWarnAt = now;
    const reason = error instanceof Error ? error.message : 'unknown';
    this.#log.warn({ cache: this.#name, err: reason }, `the ${this.#name} cache could not ${what} Redis; requests go upstream as misses until it is back (logged at most once a minute)`);
  }
}
