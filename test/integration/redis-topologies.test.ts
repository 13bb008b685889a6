import { existsSync } from 'node:fs';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisByteCache } from '../../src/cache/redis-byte-cache.ts';
import { startOpenAIFake, type OpenAIFake } from '../fakes/index.ts';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.ts';
import { startRedisCluster, startSentinelSet, type RedisTopology } from '../support/redis-topologies.ts';
import { waitUntil } from '../support/wait-until.ts';

// REDIS_URL naming a Sentinel set or a Cluster (decision 0032), against real
// redis-server processes of the test's own: rate limits hold across them, the
// response cache's multi-key reads and writes work on a Cluster, and a
// Sentinel failover is followed.
const hasRedisServer = existsSync('/usr/bin/redis-server') || existsSync('/usr/local/bin/redis-server');
if (!hasRedisServer && process.env['CI'] === 'true') throw new Error('redis-server must be installed in CI');
if (!hasRedisServer) console.warn('SKIPPED: Sentinel and Cluster tests need redis-server');
const silent = pino({ level: 'silent' });

async function limitHolds(gateway: TestGateway): Promise<number[]> {
  const created = await gateway.api('POST', '/api/v1/keys', { name: 'limited', scopes: ['inference'], rpm: 3 });
  const key = (created.body as { key: string }).key;
  const statuses: number[] = [];
  for (let index = 0; index < 5; index++) {
    const response = await fetch(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'yi34b', messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 }) });
    await response.arrayBuffer();
    statuses.push(response.status);
  }
  return statuses;
}

async function cacheWorks(url: string): Promise<void> {
  const cache = new RedisByteCache({ url, prefix: `sy-test-${process.pid}`, log: silent, name: 'test', timeoutMs: 2_000 });
  try {
    // Keys that land on different Cluster slots: multi-key commands must not be sent as one.
    const entries = ['alpha', 'beta', 'gamma', 'delta', 'epsilon'].map((key) => ({ key, value: Buffer.from(`value of ${key}`) }));
    await cache.setMany(entries, 60_000);
    expect((await cache.getMany(entries.map((entry) => entry.key))).map((value) => value?.toString())).toEqual(entries.map((entry) => `value of ${entry.key}`));
    await cache.set('single', Buffer.from('one'), null);
    expect((await cache.get('single'))?.toString()).toBe('one');
  } finally {
    await cache.close();
  }
}

describe.skipIf(!hasRedisServer)('REDIS_URL with Sentinels and with a Cluster', () => {
  let fake: OpenAIFake;
  beforeAll(async () => {
    fake = await startOpenAIFake({ flavor: 'vllm', models: [{ id: 'yi34b' }] });
  });
  afterAll(async () => {
    await fake.stop();
  });

  async function gatewayOn(url: string): Promise<TestGateway> {
    const gateway = await startTestGateway({ env: { REDIS_URL: url } });
    await gateway.api('POST', '/api/v1/model-servers', { name: 'gpu', server_type: 'vllm', base_url: fake.url });
    await gateway.api('POST', '/api/v1/model-servers/health-check-all');
    return gateway;
  }

  describe('Sentinels', () => {
    let sentinels: RedisTopology & { primaryPort: number; replicaPort: number };
    let gateway: TestGateway;
    beforeAll(async () => {
      sentinels = await startSentinelSet();
      gateway = await gatewayOn(sentinels.url);
    }, 60_000);
    afterAll(async () => {
      await gateway?.stop();
      await sentinels?.stop();
    });

    it('limit requests through the primary the Sentinels name, and the caches work', async () => {
      expect(await limitHolds(gateway)).toEqual([200, 200, 200, 429, 429]);
      await cacheWorks(sentinels.url);
      const health = (await gateway.api('GET', '/api/v1/integration/health')).body as { integrations: Array<{ kind: string; status: string }> };
      expect(health.integrations.find((entry) => entry.kind === 'redis')?.status).toBe('ok');
    });

    it('follow a failover to the replica the Sentinels promote', async () => {
      await sentinels.kill('primary');
      // The Sentinel sees the primary down after a second, promotes the replica, and ioredis asks it again.
      await waitUntil(async () => (await limitHolds(gateway)).join(',') === '200,200,200,429,429', { timeoutMs: 60_000, what: 'limits to work again after the failover' });
    }, 90_000);
  });

  describe('a Cluster', () => {
    let cluster: RedisTopology;
    let gateway: TestGateway;
    beforeAll(async () => {
      cluster = await startRedisCluster();
      gateway = await gatewayOn(cluster.url);
    }, 60_000);
    afterAll(async () => {
      await gateway?.stop();
      await cluster?.stop();
    });

    it('limit requests (a key\'s counters share one slot), and the caches read and write many keys', async () => {
      expect(await limitHolds(gateway)).toEqual([200, 200, 200, 429, 429]);
      await cacheWorks(cluster.url);
    });
  });
});
