import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryByteCache } from '../../src/cache/memory-byte-cache.ts';
import { RedisByteCache } from '../../src/cache/redis-byte-cache.ts';
import { createByteCache } from '../../src/cache/create-byte-cache.ts';
import { redisAvailable, redisUrl } from '../support/redis.ts';
import { startOwnRedisServer, type OwnRedisServer } from '../support/own-redis-server.ts';
import { waitFor } from '../support/wait-for.ts';

const bytes = (text: string) => Buffer.from(text);

describe('the in-memory cache', () => {
  it('answers what was stored until its time to live passes', async () => {
    let now = 1_000;
    const cache = new MemoryByteCache({ maxBytes: 1_000_000, clock: () => now });
    await cache.set('a', bytes('one'), 5_000);
    await cache.set('b', bytes('two'), null);
    expect((await cache.get('a'))?.toString()).toBe('one');
    now += 4_999;
    expect((await cache.getMany(['a', 'b', 'c'])).map((value) => value?.toString() ?? null)).toEqual(['one', 'two', null]);
    now += 1;
    expect(await cache.get('a')).toBeNull();
    expect((await cache.get('b'))?.toString()).toBe('two');
  });

  it('stays within its byte bound by evicting the least recently used entries', async () => {
    const value = Buffer.alloc(1_000, 1);
    const cache = new MemoryByteCache({ maxBytes: 10_000 });
    for (let i = 0; i < 8; i++) await cache.set(`key-${i}`, value, null);
    // key-0 is read, so key-1 is now the least recently used.
    expect(await cache.get('key-0')).not.toBeNull();
    for (let i = 8; i < 12; i++) await cache.set(`key-${i}`, value, null);
    expect(cache.bytes).toBeLessThanOrEqual(10_000);
    expect(await cache.get('key-0')).not.toBeNull();
    expect(await cache.get('key-1')).toBeNull();
    expect(await cache.get('key-11')).not.toBeNull();
  });

  it('replaces a key without counting it twice, and ignores a value larger than the whole cache', async () => {
    const cache = new MemoryByteCache({ maxBytes: 5_000 });
    await cache.set('same', Buffer.alloc(1_000), null);
    const once = cache.bytes;
    await cache.setMany([{ key: 'same', value: Buffer.alloc(1_000) }], null);
    expect(cache.bytes).toBe(once);
    await cache.set('huge', Buffer.alloc(10_000), null);
    expect(await cache.get('huge')).toBeNull();
    expect(await cache.get('same')).not.toBeNull();
  });
});

describe.runIf(await redisAvailable())('the Redis cache (the shared Redis)', () => {
  const warnings: string[] = [];
  const log = { warn: (_details: Record<string, unknown>, message: string) => void warnings.push(message) };
  const name = `test-${process.pid}-${Date.now()}`;
  let cache: ReturnType<typeof createByteCache>;

  beforeAll(() => {
    cache = createByteCache({ name, redisUrl, memoryBytes: 1_000, log });
  });
  afterAll(() => cache.close());

  it('is what createByteCache builds when a Redis URL is set, and is shared by two clients', async () => {
    expect(cache.backend).toBe('redis');
    const other = createByteCache({ name, redisUrl, memoryBytes: 1_000, log });
    await cache.setMany([{ key: 'x', value: bytes('ex') }, { key: 'y', value: Buffer.from([0, 255, 1]) }], 60_000);
    expect((await other.getMany(['x', 'y', 'z'])).map((value) => (value === null ? null : [...value]))).toEqual([[...bytes('ex')], [0, 255, 1], null]);
    await other.delete('x');
    expect(await cache.get('x')).toBeNull();
    await other.close();
    expect(warnings).toEqual([]);
  });

  it('lets entries expire with their time to live', async () => {
    await cache.set('short', bytes('soon gone'), 50);
    await waitFor(async () => (await cache.get('short')) === null, 'the entry to expire');
  });
});

describe('the Redis cache when Redis goes away', () => {
  let server: OwnRedisServer;
  beforeAll(async () => {
    server = await startOwnRedisServer();
  });
  afterAll(() => server.stop());

  it('answers misses at once and drops writes, warning once, then works again when Redis is back', async () => {
    const warnings: string[] = [];
    const cache = new RedisByteCache({ url: server.url, prefix: 'outage', name: 'response', log: { warn: (_details, message) => void warnings.push(message) } });
    await cache.set('k', bytes('v'), null);
    expect((await cache.get('k'))?.toString()).toBe('v');
    await server.kill();
    expect(await cache.get('k')).toBeNull();
    await cache.set('k2', bytes('v2'), null);
    expect(await cache.getMany(['k', 'k2'])).toEqual([null, null]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('could not');
    await server.start();
    await waitFor(async () => {
      await cache.set('k3', bytes('v3'), null);
      return (await cache.get('k3'))?.toString() === 'v3';
    }, 'the cache to write again after Redis came back');
    await cache.close();
  });

  it('answers a miss within its timeout when Redis hangs', async () => {
    const cache = new RedisByteCache({ url: server.url, prefix: 'hang', name: 'response', timeoutMs: 100, log: { warn: () => undefined } });
    await cache.set('k', bytes('v'), null);
    server.pause();
    try {
      expect(await cache.get('k')).toBeNull();
    } finally {
      await server.kill();
      await server.start();
      await cache.close();
    }
  });
});
