import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOllamaFake, type OllamaFake } from '../fakes/index.ts';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.ts';
import { redisAvailable, redisUrl } from '../support/redis.ts';
import { waitFor } from '../support/wait-for.ts';
import { startWebhookReceiver } from '../support/webhook-receiver.ts';

const hasRedis = await redisAvailable();
let ollama: OllamaFake;
let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;

beforeAll(async () => {
  ollama = await startOllamaFake();
  receiver = await startWebhookReceiver();
});

afterAll(async () => {
  receiver.close();
  await ollama.stop();
});

/** Sends chats with `key` until one is refused; answers the statuses and the refusal. */
async function spendUntilRefused(gateway: TestGateway, key: string): Promise<{ served: number; refusal: any }> {
  for (let served = 0; served < 50; served++) {
    const answer = await gateway.api('POST', '/v1/chat/completions', { model: 'mixtral', messages: [{ role: 'user', content: `spend ${served}` }] }, { authorization: `Bearer ${key}` });
    if (answer.status !== 200) return { served, refusal: answer };
    // The spend is counted when the usage record is made, just after the answer.
    await gateway.gateway.usage.flush({ force: true });
  }
  throw new Error('never refused');
}

async function setUp(gateway: TestGateway, budget: number): Promise<{ key: string; id: string }> {
  await gateway.api('POST', '/api/v1/model-servers', { name: 'gpu-1', server_type: 'ollama', base_url: ollama.url });
  await gateway.api('POST', '/api/v1/model-servers/health-check-all');
  // One unit of currency per token, so a few requests use the budget up.
  expect((await gateway.api('PUT', '/api/v1/prices/mixtral', { input_per_million: 1_000_000, output_per_million: 1_000_000 })).status).toBe(201);
  const created = await gateway.api('POST', '/api/v1/keys', { name: 'metered', scopes: ['inference'], budget_cost: budget });
  expect(created.status, created.text).toBe(201);
  expect(created.body.record ?? created.body).toMatchObject({ budget_cost: budget, used_cost: 0 });
  return { key: created.body.key, id: (created.body.record ?? created.body).id };
}

describe('key budgets in currency', () => {
  it('refuse a key once its spend at the models’ prices reaches its budget, fire key.budget_exceeded, and survive a restart', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sy-cost-budget-'));
    try {
      const gateway = await startTestGateway({ dataDir, env: { SWITCHYARD_CURRENCY: 'EUR' } });
      await gateway.api('POST', '/api/v1/webhooks', { url: receiver.url, events: ['key.budget_exceeded'], secret: 'whsec-cost-budget-0123456789' });
      const { key, id } = await setUp(gateway, 60);
      const { served, refusal } = await spendUntilRefused(gateway, key);
      expect(served).toBeGreaterThan(0);
      expect(refusal.status).toBe(429);
      expect(refusal.body.error.code).toBe('insufficient_quota');
      expect(refusal.body.error.message).toMatch(/budget of 60 EUR is used up \([\d.]+ EUR spent/);
      const record = (await gateway.api('GET', `/api/v1/keys/${id}`)).body;
      expect(record.used_cost).toBeGreaterThanOrEqual(60);
      expect(record.status).toBe('budget_exhausted');
      await waitFor(() => receiver.received.find((event) => event.type === 'key.budget_exceeded' && event.data['key_id'] === id), 'the webhook');
      expect(receiver.received.find((event) => event.data['key_id'] === id)?.data).toMatchObject({ budget_cost: 60, currency: 'EUR' });
      await gateway.stop();

      const again = await startTestGateway({ dataDir, env: { SWITCHYARD_CURRENCY: 'EUR' } });
      const still = await again.api('POST', '/v1/chat/completions', { model: 'mixtral', messages: [{ role: 'user', content: 'after restart' }] }, { authorization: `Bearer ${key}` });
      expect(still.status).toBe(429);
      // Raising the budget lets it spend again.
      expect((await again.api('PATCH', `/api/v1/keys/${id}`, { budget_cost: 1_000_000 })).status).toBe(200);
      await again.api('POST', '/api/v1/model-servers/health-check-all');
      expect((await again.api('POST', '/v1/chat/completions', { model: 'mixtral', messages: [{ role: 'user', content: 'raised' }] }, { authorization: `Bearer ${key}` })).status).toBe(200);
      await again.stop();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it.skipIf(!hasRedis)('count the spend in Redis when REDIS_URL is set (shared by replicas)', async () => {
    const gateway = await startTestGateway({ env: { REDIS_URL: redisUrl } });
    try {
      const { key, id } = await setUp(gateway, 40);
      const { refusal } = await spendUntilRefused(gateway, key);
      expect(refusal.status).toBe(429);
      const redis = new Redis(redisUrl);
      try {
        expect(Number(await redis.get(`switchyard:spent:{${id}}`))).toBeGreaterThanOrEqual(40);
        // A Redis that lost the counter is seeded again from storage: the key stays refused.
        await redis.del(`switchyard:spent:{${id}}`);
        await gateway.gateway.usage.flush({ force: true });
        const still = await gateway.api('POST', '/v1/chat/completions', { model: 'mixtral', messages: [{ role: 'user', content: 'after a Redis restart' }] }, { authorization: `Bearer ${key}` });
        expect(still.status).toBe(429);
      } finally {
        await redis.del(`switchyard:spent:{${id}}`);
        redis.disconnect();
      }
    } finally {
      await gateway.stop();
    }
  });

  it('refuses a negative budget with a 400', async () => {
    const gateway = await startTestGateway();
    try {
      const answer = await gateway.api('POST', '/api/v1/keys', { name: 'bad', scopes: ['inference'], budget_cost: -1 });
      expect(answer.status).toBe(400);
      expect(answer.text).toContain('budget_cost');
    } finally {
      await gateway.stop();
    }
  });
});
