import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAIFake, type OpenAIFake } from '../fakes/index.ts';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';
import { startOwnRedisServer, type OwnRedisServer } from '../support/own-redis-server.ts';

// Limits shared through a Redis of this test's own, which it empties and kills.
let redis: OwnRedisServer;
let fake: OpenAIFake;
let gateway: TestGateway;
const poll = { timeout: 30_000, interval: 100 };

beforeAll(async () => {
  [redis, fake] = await Promise.all([startOwnRedisServer(), startOpenAIFake({ flavor: 'vllm', models: [{ id: 'yi34b', contextLength: 4096 }] })]);
  gateway = await startTestGateway({ env: { REDIS_URL: redis.url, SWITCHYARD_DEFAULT_COMPLETION_TOKENS: '20' } });
  await gateway.api('POST', '/api/v1/model-servers', { name: 'gpu', server_type: 'vllm', base_url: fake.url });
  await gateway.api('POST', '/api/v1/model-servers/health-check-all');
});

afterAll(async () => {
  await gateway?.stop();
  await Promise.all([redis?.stop(), fake?.stop()]);
});

const chat = (url: string, key: string) =>
  fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'yi34b', messages: [{ role: 'user', content: 'hi' }] }),
  });
const metricsOf = async (target: TestGateway) => {
  const response = await fetch(`${target.url}/metrics`, { headers: { authorization: `Bearer ${adminKey}` } });
  return { status: response.status, text: await response.text() };
};
const storedUsed = async (target: TestGateway, id: string) =>
  Number((await target.gateway.database.db.selectFrom('api_keys').select('used_tokens').where('id', '=', id).executeTakeFirstOrThrow()).used_tokens);

describe('budgets in Redis', () => {
  let key: { id: string; key: string };

  it('count what a response used past its budget (no max_tokens: 8 prompt + 20 default completion reserved)', async () => {
    key = (await gateway.api('POST', '/api/v1/keys', { name: 'overshooter', scopes: ['inference'], budget_tokens: 100 })).body;
    // The fake answers 200 tokens (+5 prompt tokens): far more than was reserved.
    fake.setReply('word '.repeat(200).trim());
    try {
      expect((await chat(gateway.url, key.key)).status).toBe(200);
    } finally {
      fake.setReply(undefined);
    }
    await expect.poll(async () => (await metricsOf(gateway)).text, poll).toMatch(/^llm_budget_overshoot_tokens_total 105$/m);
    expect(gateway.logs.join('')).toMatch(/"overshoot_tokens":105.*took a key past its token budget/);
    expect((await chat(gateway.url, key.key)).status).toBe(429);
  });

  it('remember a spent budget when Redis restarts empty: the counter is seeded from storage', async () => {
    await expect.poll(() => storedUsed(gateway, key.id), poll).toBe(205);
    await redis.kill();
    await redis.start();
    // Until the gateway has reconnected its requests are unchecked (fail-open); the first checked one must be refused.
    let response: Response;
    await expect
      .poll(async () => {
        response = await chat(gateway.url, key.key);
        await response.arrayBuffer();
        return response.headers.get('x-switchyard-quota');
      }, poll)
      .toBeNull();
    expect(response!.status).toBe(429);
  });
});

describe('Redis down', () => {
  it('serves keys with limits unchecked (fail-open, the default), counts it, and keeps /metrics and unlimited keys answering', async () => {
    const limited = (await gateway.api('POST', '/api/v1/keys', { name: 'limited', scopes: ['inference'], rpm: 1_000, budget_tokens: 1_000_000 })).body;
    expect((await chat(gateway.url, limited.key)).status).toBe(200);
    await redis.kill();
    await expect.poll(async () => (await chat(gateway.url, limited.key)).headers.get('x-switchyard-quota'), poll).toBe('unchecked');
    const served = await chat(gateway.url, limited.key);
    expect(served.status).toBe(200);
    expect((await chat(gateway.url, adminKey)).status).toBe(200);
    const metrics = await metricsOf(gateway);
    expect(metrics.status).toBe(200);
    expect(metrics.text).toMatch(/^llm_quota_backend_errors_total\{operation="admit",policy="open"\} [1-9]\d*$/m);
    expect((await gateway.api('GET', `/api/v1/keys/${limited.id}`)).status).toBe(200);
    expect(gateway.logs.join('')).toContain('quota backend unreachable: keys with limits are served unchecked');
  });

  it('refuses keys with limits with 503 SY_QUOTA_UNAVAILABLE when configured fail-closed; others are served', async () => {
    const closed = await startTestGateway({ env: { REDIS_URL: redis.url, SWITCHYARD_QUOTA_ON_BACKEND_ERROR: 'closed' } });
    try {
      await closed.api('POST', '/api/v1/model-servers', { name: 'gpu', server_type: 'vllm', base_url: fake.url });
      await closed.api('POST', '/api/v1/model-servers/health-check-all');
      const limited = (await closed.api('POST', '/api/v1/keys', { name: 'limited', scopes: ['inference'], rpm: 1_000 })).body;
      const forwarded = () => fake.requests.filter((request) => request.path === '/v1/chat/completions').length;
      const before = forwarded();
      const refused = await chat(closed.url, limited.key);
      expect(refused.status).toBe(503);
      expect(forwarded()).toBe(before);
      expect(refused.headers.get('retry-after')).toBe('5');
      expect(((await refused.json()) as { error: { code: string; type: string } }).error).toMatchObject({ code: 'SY_QUOTA_UNAVAILABLE', type: 'server_error' });
      expect((await chat(closed.url, adminKey)).status).toBe(200);
      const metrics = await metricsOf(closed);
      expect(metrics.status).toBe(200);
      expect(metrics.text).toMatch(/^llm_quota_backend_errors_total\{operation="admit",policy="closed"\} 1$/m);
    } finally {
      await closed.stop();
    }
  });
});
