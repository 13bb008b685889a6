import { randomUUID } from 'node:crypto';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { embedText, startOpenAIFake, startTeiFake, type TeiFake } from '../fakes/index.ts';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';
import { waitUntil } from '../support/wait-until.ts';

// Two TEI servers serve `general` (384 dimensions, at most 32 inputs a request, as their /info says).
let gateway: TestGateway;
let first: TeiFake;
let second: TeiFake;
let servers: Record<string, string>;

beforeAll(async () => {
  [gateway, first, second] = await Promise.all([
    // Hedging off here: a hedge would send a text twice, and these tests count what is sent (see the hedging tests).
    startTestGateway({ env: { SWITCHYARD_EMBEDDING_MAX_INPUTS: '2000', SWITCHYARD_HEDGING: 'false' } }),
    startTeiFake({ modelId: 'general', dimension: 384, maxClientBatchSize: 32 }),
    startTeiFake({ modelId: 'general', dimension: 384, maxClientBatchSize: 32 }),
  ]);
  servers = {};
  for (const [name, fake] of [['tei-a', first], ['tei-b', second]] as const) {
    const response = await gateway.api('POST', '/api/v1/model-servers', { name, base_url: fake.url });
    expect(response.status, response.text).toBe(201);
    servers[name] = response.body.id;
  }
  await gateway.api('POST', '/api/v1/model-servers/health-check-all');
});

afterAll(async () => {
  await Promise.all([gateway.stop(), first.stop(), second.stop()]);
});

beforeEach(async () => {
  for (const fake of [first, second]) {
    fake.resetRequests();
    fake.answerDimension = null;
    await fake.clearFault();
    await fake.setBehaviour({ latencyMs: 0 });
  }
});

const texts = (count: number, tag = randomUUID()) => Array.from({ length: count }, (_, index) => `text ${index} of ${tag}`);
const expected = (text: string) => embedText(text, 384).map((value) => Math.fround(value));
const received = () => first.inputsReceived() + second.inputsReceived();
const batches = () => [...first.embeddingBatches(), ...second.embeddingBatches()];

async function embed(input: unknown, headers: Record<string, string> = {}, model = 'general') {
  return gateway.api('POST', '/v1/embeddings', { model, input }, headers);
}

describe('embedding cache', () => {
  it('sends only the 100 unseen texts of a batch of 1,000 of which 900 were seen, and answers all 1,000 in order', async () => {
    const all = texts(1000);
    const seen = await embed(all.slice(0, 900));
    expect(seen.status, seen.text).toBe(200);
    expect(seen.headers.get('x-switchyard-cache')).toBe('miss');
    expect(received()).toBe(900);

    first.resetRequests();
    second.resetRequests();
    // Shuffled, so order is the request's and not the cache's.
    const shuffled = [...all.slice(850), ...all.slice(0, 850)];
    const answer = await embed(shuffled);
    expect(answer.status, answer.text).toBe(200);
    expect(answer.headers.get('x-switchyard-cache')).toBe('miss');
    expect(received()).toBe(100);
    expect(new Set(batches().flat())).toEqual(new Set(all.slice(900)));
    expect(answer.body.data).toHaveLength(1000);
    answer.body.data.forEach((entry: { index: number; embedding: number[] }, position: number) => {
      expect(entry.index).toBe(position);
      expect(entry.embedding).toEqual(expected(shuffled[position] as string));
    });

    first.resetRequests();
    second.resetRequests();
    const again = await embed(shuffled);
    expect(again.headers.get('x-switchyard-cache')).toBe('hit');
    expect(received()).toBe(0);
    expect(again.body.data.map((entry: { embedding: number[] }) => entry.embedding)).toEqual(answer.body.data.map((entry: { embedding: number[] }) => entry.embedding));
  });

  it('honours Cache-Control: no-cache (sends, stores) and no-store (bypass), and counts per input', async () => {
    const some = texts(5);
    const noStore = await embed(some, { 'cache-control': 'no-store' });
    expect(noStore.headers.get('x-switchyard-cache')).toBe('bypass');
    const noCache = await embed(some, { 'cache-control': 'no-cache' });
    expect(noCache.headers.get('x-switchyard-cache')).toBe('miss');
    expect(received()).toBe(10);
    const hit = await embed(some);
    expect(hit.headers.get('x-switchyard-cache')).toBe('hit');
    expect(received()).toBe(10);
    const metrics = (await gateway.api('GET', '/metrics')).text;
    expect(metrics).toMatch(/llm_cache_requests_total\{cache="embedding",result="hit"\} \d+/);
    expect(metrics).toMatch(/llm_cache_requests_total\{cache="embedding",result="bypass"\} \d+/);
  });

  it('answers a single string, and token arrays go straight through (bypass)', async () => {
    const single = await embed('just one text');
    expect(single.status).toBe(200);
    expect(single.body.data[0].embedding).toEqual(expected('just one text'));
    const bypassed = async () => Number(/llm_cache_requests_total\{cache="embedding",result="bypass"\} (\d+)/.exec((await gateway.api('GET', '/metrics')).text)?.[1] ?? 0);
    const before = await bypassed();
    const tokens = await embed([[1, 2, 3], [4, 5]]);
    expect(tokens.headers.get('x-switchyard-cache')).toBe('bypass');
    expect(await bypassed()).toBe(before + 2);
  });

  it('passes dimensions on, and says so when no server shortens the vectors (without taking them out of rotation)', async () => {
    const answer = await gateway.api('POST', '/v1/embeddings', { model: 'general', input: ['short please'], dimensions: 128 });
    expect(answer.status).toBe(502);
    expect(answer.body.error.code).toBe('SY_EMBEDDING_DIMENSION_MISMATCH');
    expect(answer.body.error.message).toContain('128 were asked');
    expect(batches().length).toBe(2);
    const models = await gateway.api('GET', `/api/v1/model-servers/${servers['tei-a']}/models`);
    expect(models.body.data[0].details.out_of_rotation).toBeUndefined();
    expect((await embed(['still served'])).status).toBe(200);
  });

  it('refuses more inputs than the hard cap with 413 naming the limit, sending nothing', async () => {
    const answer = await embed(texts(2001));
    expect(answer.status).toBe(413);
    expect(answer.body.error.code).toBe('SY_BATCH_TOO_LARGE');
    expect(answer.body.error.message).toContain('2000');
    // Every /v1 answer says what the cache did, a refusal too.
    expect(answer.headers.get('x-switchyard-cache')).toBe('bypass');
    expect(received()).toBe(0);
  });
});

describe('batch splitting', () => {
  it('splits by the servers max_client_batch_size and keeps the order', async () => {
    const all = texts(200);
    const answer = await embed(all, { 'cache-control': 'no-store' });
    expect(answer.status, answer.text).toBe(200);
    expect(batches().every((batch) => batch.length <= 32)).toBe(true);
    expect(batches().length).toBe(Math.ceil(200 / 32));
    all.forEach((text, position) => expect(answer.body.data[position].embedding).toEqual(expected(text)));
  });

  it("keeps each sub-batch under the server's max_batch_tokens", async () => {
    const tight = await startTeiFake({ modelId: 'tight', dimension: 384, maxClientBatchSize: 32, maxBatchTokens: 200 });
    try {
      expect((await gateway.api('POST', '/api/v1/model-servers', { name: 'tight', base_url: tight.url })).status).toBe(201);
      await gateway.api('POST', '/api/v1/model-servers/health-check-all');
      tight.resetRequests();
      // About 60 characters each: some 22 estimated tokens, so 9 a sub-batch fit under 200.
      const all = texts(40).map((text) => `${text} ${'x'.repeat(60 - text.length)}`);
      const answer = await gateway.api('POST', '/v1/embeddings', { model: 'tight', input: all });
      expect(answer.status, answer.text).toBe(200);
      const sizes = tight.embeddingBatches().map((batch) => batch.length);
      expect(sizes.reduce((sum, size) => sum + size, 0)).toBe(40);
      expect(Math.max(...sizes)).toBeLessThanOrEqual(9);
      all.forEach((text, position) => expect(answer.body.data[position].embedding).toEqual(expected(text)));
    } finally {
      const listed = (await gateway.api('GET', '/api/v1/model-servers')).body.data.find((server: { name: string }) => server.name === 'tight');
      if (listed !== undefined) await gateway.api('DELETE', `/api/v1/model-servers/${listed.id}`);
      await tight.stop();
    }
  });

  it('retries a failed sub-batch elsewhere without resending the others', async () => {
    await first.setFault({ kind: 'status', status: 500 }, ['/embed', '/v1/embeddings']);
    const all = texts(160);
    const answer = await embed(all, { 'cache-control': 'no-store' });
    expect(answer.status, answer.text).toBe(200);
    // Every text reached the healthy server exactly once; what failed on the other was sent again, nothing else was.
    const delivered = second.embeddingBatches().flat();
    expect(delivered).toHaveLength(160);
    expect(new Set(delivered).size).toBe(160);
    expect(first.embeddingBatches().flat().every((text) => delivered.includes(text))).toBe(true);
    all.forEach((text, position) => expect(answer.body.data[position].embedding).toEqual(expected(text)));
  });
});

describe('a server that reports no batch limit', () => {
  it("is sent at most its metadata's max_batch_size inputs a request", async () => {
    const vllm = await startOpenAIFake({ flavor: 'vllm', models: [{ id: 'e5-small', capabilities: ['embedding'], embeddingDimension: 384 }] });
    try {
      const created = await gateway.api('POST', '/api/v1/model-servers', { name: 'vllm-embed', server_type: 'vllm', base_url: vllm.url, metadata: { max_batch_size: 10 } });
      expect(created.status, created.text).toBe(201);
      await gateway.api('POST', '/api/v1/model-servers/health-check-all');
      const all = texts(25);
      const answer = await gateway.api('POST', '/v1/embeddings', { model: 'e5-small', input: all });
      expect(answer.status, answer.text).toBe(200);
      // The probe's own "dimension probe" (a single string) is not one of ours.
      const sizes = vllm.requests.map((request) => (request.body as { input?: unknown } | undefined)?.input).filter((input) => Array.isArray(input)).map((input) => (input as string[]).length);
      expect(sizes.sort()).toEqual([10, 10, 5].sort());
      expect(answer.body.data.map((entry: { index: number }) => entry.index)).toEqual(all.map((_, index) => index));
      expect(answer.body.data[0].embedding).toHaveLength(384);
    } finally {
      await gateway.api('DELETE', `/api/v1/model-servers/${(await gateway.api('GET', '/api/v1/model-servers')).body.data.find((server: { name: string }) => server.name === 'vllm-embed')?.id}`);
      await vllm.stop();
    }
  });
});

describe('dimension pinning', () => {
  it('takes a deployment that answers another dimension out of rotation, answers from elsewhere, and brings it back after a health check', async () => {
    first.answerDimension = 768;
    for (let round = 0; round < 10 && first.embeddingBatches().length === 0; round++) {
      const answer = await embed(texts(40), { 'cache-control': 'no-store' });
      expect(answer.status, answer.text).toBe(200);
      expect(answer.body.data.every((entry: { embedding: number[] }) => entry.embedding.length === 384)).toBe(true);
    }
    expect(first.embeddingBatches().length).toBeGreaterThan(0);
    const models = await gateway.api('GET', `/api/v1/model-servers/${servers['tei-a']}/models`);
    const held = models.body.data.find((model: { id: string }) => model.id === 'general');
    expect(held.details.out_of_rotation.reason).toBe('dimension_mismatch');
    expect(held.details.out_of_rotation.message).toContain('768');

    first.resetRequests();
    for (let round = 0; round < 5; round++) expect((await embed(texts(3), { 'cache-control': 'no-store' })).status).toBe(200);
    expect(first.embeddingBatches()).toHaveLength(0);

    first.answerDimension = null;
    await gateway.api('POST', '/api/v1/model-servers/health-check-all');
    const after = await gateway.api('GET', `/api/v1/model-servers/${servers['tei-a']}/models`);
    expect(after.body.data[0].details.out_of_rotation).toBeUndefined();
    for (let round = 0; round < 20 && first.embeddingBatches().length === 0; round++) await embed(texts(3), { 'cache-control': 'no-store' });
    expect(first.embeddingBatches().length).toBeGreaterThan(0);
  });
});

describe('hedging', () => {
  let hedging: TestGateway;
  let fast: TeiFake;
  let slow: TeiFake;
  let fastRanker: TeiFake;
  let slowRanker: TeiFake;

  beforeAll(async () => {
    [hedging, slow, fast, slowRanker, fastRanker] = await Promise.all([
      // Round-robin: requests alternate between the two servers, so which one is asked first is known, not drawn.
      startTestGateway({ env: { SWITCHYARD_HEDGE_FLOOR_MS: '20', SWITCHYARD_HEDGE_MIN_SAMPLES: '3', SWITCHYARD_EMBEDDING_CACHE: 'false', SWITCHYARD_ROUTING_STRATEGY: 'round-robin' } }),
      startTeiFake({ modelId: 'general', dimension: 384 }),
      startTeiFake({ modelId: 'general', dimension: 384 }),
      startTeiFake({ kind: 'reranker', modelId: 'ranker' }),
      startTeiFake({ kind: 'reranker', modelId: 'ranker' }),
    ]);
    for (const [name, fake] of [['slow', slow], ['fast', fast], ['slow-ranker', slowRanker], ['fast-ranker', fastRanker]] as const) {
      expect((await hedging.api('POST', '/api/v1/model-servers', { name, base_url: fake.url })).status).toBe(201);
    }
    await hedging.api('POST', '/api/v1/model-servers/health-check-all');
  });

  afterAll(async () => {
    await Promise.all([hedging.stop(), slow.stop(), fast.stop(), slowRanker.stop(), fastRanker.stop()]);
  });

  it('sends the same request to a second server when the first is slower than its p95, answers the first answer, and aborts the other', async () => {
    const call = () => hedging.api('POST', '/v1/embeddings', { model: 'general', input: texts(2) });
    // Latency samples for both deployments (the answers they gave; a probe's own embedding is none).
    const answered = { slow: 0, fast: 0 };
    while (answered.slow < 3 || answered.fast < 3) {
      const answer = await call();
      expect(answer.status).toBe(200);
      answered[answer.headers.get('x-switchyard-server') as 'slow' | 'fast']++;
    }
    await slow.setBehaviour({ latencyMs: 60_000 });
    let hedged: Awaited<ReturnType<typeof call>> | null = null;
    // Only a request that went to the slow one first is hedged: with round-robin, one of the next two does.
    for (let round = 0; round < 2 && hedged === null; round++) {
      const answer = await call();
      expect(answer.status, answer.text).toBe(200);
      if (answer.headers.get('x-switchyard-hedged') === 'true') hedged = answer;
    }
    expect(hedged).not.toBeNull();
    expect(hedged?.headers.get('x-switchyard-server')).toBe('fast');
    await waitUntil(() => slow.abortedCount() > 0, { what: 'the slow server to see its connection closed' });
    const metrics = (await hedging.api('GET', '/metrics')).text;
    expect(metrics).toMatch(/llm_hedged_requests_total\{operation="embeddings",outcome="won"\} [1-9]/);
  });

  it('hedges rerank the same way and keeps its answer shape', async () => {
    const call = () => hedging.api('POST', '/v1/rerank', { model: 'ranker', query: 'capital of France', documents: ['Paris is the capital of France', 'bananas'] });
    const answered = { 'slow-ranker': 0, 'fast-ranker': 0 };
    while (answered['slow-ranker'] < 3 || answered['fast-ranker'] < 3) {
      const answer = await call();
      expect(answer.status, answer.text).toBe(200);
      answered[answer.headers.get('x-switchyard-server') as 'slow-ranker' | 'fast-ranker']++;
    }
    await slowRanker.setBehaviour({ latencyMs: 60_000 });
    let hedged: Awaited<ReturnType<typeof call>> | null = null;
    for (let round = 0; round < 2 && hedged === null; round++) {
      const answer = await call();
      expect(answer.status, answer.text).toBe(200);
      if (answer.headers.get('x-switchyard-hedged') === 'true') hedged = answer;
    }
    expect(hedged?.headers.get('x-switchyard-server')).toBe('fast-ranker');
    expect(hedged?.body.results[0]).toMatchObject({ index: 0 });
    expect(typeof hedged?.body.results[0].relevance_score).toBe('number');
    await waitUntil(() => slowRanker.abortedCount() > 0, { what: 'the slow reranker to see its connection closed' });
    expect((await hedging.api('GET', '/metrics')).text).toMatch(/llm_hedged_requests_total\{operation="rerank",outcome="won"\} [1-9]/);
  });
});

describe('the stock openai client', () => {
  it('reads embeddings as floats and as base64 (its default)', async () => {
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: adminKey, maxRetries: 0 });
    const floats = await client.embeddings.create({ model: 'general', input: ['alpha', 'beta'], encoding_format: 'float' });
    expect(floats.data.map((entry) => entry.embedding)).toEqual([expected('alpha'), expected('beta')]);
    expect(floats.usage.prompt_tokens).toBeGreaterThan(0);
    const decoded = await client.embeddings.create({ model: 'general', input: ['alpha', 'gamma'] });
    expect(decoded.data.map((entry) => entry.embedding)).toEqual([expected('alpha'), expected('gamma')]);
  });
});
