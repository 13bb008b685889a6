import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { embedText, startTeiFake, type TeiFake } from '../fakes/index.ts';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.ts';
import { startOwnRedisServer, type OwnRedisServer } from '../support/own-redis-server.ts';
import { redisAvailable, redisUrl } from '../support/redis.ts';

const texts = (count: number, tag = randomUUID()) => Array.from({ length: count }, (_, index) => `text ${index} of ${tag}`);
const expected = (text: string) => embedText(text, 384).map((value) => Math.fround(value));
const embed = (gateway: TestGateway, input: unknown, headers: Record<string, string> = {}) => gateway.api('POST', '/v1/embeddings', { model: 'general', input }, headers);

async function gatewayWith(fake: TeiFake, env: Record<string, string>): Promise<TestGateway> {
  const gateway = await startTestGateway({ env: { SWITCHYARD_HEDGING: 'false', ...env } });
  expect((await gateway.api('POST', '/api/v1/model-servers', { name: 'tei', base_url: fake.url })).status).toBe(201);
  await gateway.api('POST', '/api/v1/model-servers/health-check-all');
  return gateway;
}

describe('the embedding cache in Redis', () => {
  let skipped = false;
  let replicas: TestGateway[] = [];
  let fakes: TeiFake[] = [];

  beforeAll(async () => {
    if (!(await redisAvailable())) {
      skipped = true;
      return;
    }
    fakes = await Promise.all([startTeiFake({ modelId: 'general' }), startTeiFake({ modelId: 'general' })]);
    replicas = await Promise.all(fakes.map((fake) => gatewayWith(fake, { REDIS_URL: redisUrl })));
  });

  afterAll(async () => {
    await Promise.all([...replicas.map((gateway) => gateway.stop()), ...fakes.map((fake) => fake.stop())]);
  });

  it('is shared by two gateways: what one embedded, the other answers without asking its server', async (context) => {
    if (skipped) return context.skip();
    const [one, two] = replicas as [TestGateway, TestGateway];
    const [oneServer, twoServer] = fakes as [TeiFake, TeiFake];
    for (const fake of fakes) fake.resetRequests();
    const all = texts(50);
    const first = await embed(one, all);
    expect(first.headers.get('x-switchyard-cache')).toBe('miss');
    expect(oneServer.inputsReceived()).toBe(50);
    const second = await embed(two, all);
    expect(second.status, second.text).toBe(200);
    expect(second.headers.get('x-switchyard-cache')).toBe('hit');
    expect(twoServer.inputsReceived()).toBe(0);
    all.forEach((text, position) => expect(second.body.data[position].embedding).toEqual(expected(text)));
  });
});

describe('with Redis gone', () => {
  let redis: OwnRedisServer;
  let fake: TeiFake;
  let gateway: TestGateway;

  beforeAll(async () => {
    redis = await startOwnRedisServer();
    fake = await startTeiFake({ modelId: 'general' });
    gateway = await gatewayWith(fake, { REDIS_URL: redis.url });
  });

  afterAll(async () => {
    await Promise.all([gateway.stop(), fake.stop(), redis.stop()]);
  });

  it('answers every request from the server (a miss), never a failure', async () => {
    const all = texts(10);
    expect((await embed(gateway, all)).headers.get('x-switchyard-cache')).toBe('miss');
    expect((await embed(gateway, all)).headers.get('x-switchyard-cache')).toBe('hit');
    await redis.kill();
    const answer = await embed(gateway, all);
    expect(answer.status, answer.text).toBe(200);
    expect(answer.headers.get('x-switchyard-cache')).toBe('miss');
    all.forEach((text, position) => expect(answer.body.data[position].embedding).toEqual(expected(text)));
  });
});

describe('in memory', () => {
  let fake: TeiFake;
  let gateway: TestGateway;

  beforeAll(async () => {
    fake = await startTeiFake({ modelId: 'general' });
    // 1 MiB holds about 600 vectors of 384 Float32 (1.5 KiB each, plus the key and overhead).
    // One sub-batch at a time, so which sub-batches were answered before one failed is known.
    gateway = await gatewayWith(fake, { SWITCHYARD_EMBEDDING_CACHE_MB: '1', SWITCHYARD_EMBEDDING_CONCURRENCY: '1' });
  });

  afterAll(async () => {
    await Promise.all([gateway.stop(), fake.stop()]);
  });

  it('is bounded by SWITCHYARD_EMBEDDING_CACHE_MB: the least recently used entries go first', async () => {
    const all = texts(1000);
    expect((await embed(gateway, all)).status).toBe(200);
    fake.resetRequests();
    // The newest are still there, the oldest were evicted.
    expect((await embed(gateway, all.slice(900))).headers.get('x-switchyard-cache')).toBe('hit');
    expect(fake.inputsReceived()).toBe(0);
    expect((await embed(gateway, all.slice(0, 100))).headers.get('x-switchyard-cache')).toBe('miss');
    expect(fake.inputsReceived()).toBe(100);
  });

  it('keeps the sub-batches answered before one failed, so sending again costs only the rest', async () => {
    const all = texts(100);
    // The server fails the third sub-batch (texts 64–95) every time it is sent.
    fake.failTextsContaining = all[70] as string;
    fake.resetRequests();
    const failed = await embed(gateway, all);
    fake.failTextsContaining = null;
    expect(failed.status).toBe(424);
    const sent = fake.embeddingBatches();
    expect(sent.slice(0, 2).map((batch) => batch[0])).toEqual([all[0], all[32]]);
    expect(sent.slice(2).every((batch) => batch[0] === all[64])).toBe(true);
    fake.resetRequests();
    const again = await embed(gateway, all);
    expect(again.status, again.text).toBe(200);
    expect(again.headers.get('x-switchyard-cache')).toBe('miss');
    expect(fake.inputsReceived()).toBe(36);
    all.forEach((text, position) => expect(again.body.data[position].embedding).toEqual(expected(text)));
  });

  it('writes one usage record per request, with the tokens the server reported for what it was sent and cache_hit on a full hit', async () => {
    const all = texts(64);
    await embed(gateway, all.slice(0, 32));
    const mixed = await embed(gateway, all);
    const hit = await embed(gateway, all);
    expect(hit.body.usage.prompt_tokens).toBe(0);
    await gateway.gateway.usage.flush();
    const rows = await gateway.gateway.database.db.selectFrom('usage_records').selectAll().where('request_id', 'in', [mixed.headers.get('x-request-id') as string, hit.headers.get('x-request-id') as string]).execute();
    expect(rows).toHaveLength(2);
    const mixedRow = rows.find((row) => row.request_id === mixed.headers.get('x-request-id'));
    const hitRow = rows.find((row) => row.request_id === hit.headers.get('x-request-id'));
    expect(mixedRow).toMatchObject({ key_id: 'env-admin', served_model: 'general', status: 200, cache_hit: 0 });
    expect(Number(mixedRow?.prompt_tokens)).toBe(mixed.body.usage.prompt_tokens);
    expect(mixed.body.usage.prompt_tokens).toBeGreaterThan(0);
    expect(hitRow).toMatchObject({ status: 200, cache_hit: 1 });
    expect(Number(hitRow?.prompt_tokens)).toBe(0);
  });
});
