import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startOpenAIFake, type OpenAIFake } from '../fakes/index.ts';
import { spawnGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { redisAvailable, redisUrl } from '../support/redis.ts';

const hasRedis = await redisAvailable();
const adminKey = 'sk-sy-shared-limits-admin-key-0000';
const running: GatewayProcess[] = [];
let upstream: OpenAIFake | null = null;

afterAll(async () => {
  for (const gateway of running) await gateway.kill();
  await upstream?.stop();
});

describe.skipIf(!hasRedis)('limits shared through Redis', () => {
  // A key's window begins at its first request (not on the wall-clock minute), so this burst cannot straddle two windows.
  it('holds two gateway processes to one RPM limit, exactly, under parallel load', async () => {
    upstream = await startOpenAIFake({ flavor: 'vllm', models: [{ id: 'yi34b', contextLength: 4096 }] });
    const env = { SWITCHYARD_DATA_DIR: mkdtempSync(join(tmpdir(), 'sy-shared-')), SWITCHYARD_ADMIN_KEY: adminKey, REDIS_URL: redisUrl };
    const headers = { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' };
    const first = await spawnGateway(env);
    running.push(first);
    await fetch(`${first.url}/api/v1/model-servers`, { method: 'POST', headers, body: JSON.stringify({ name: 'gpu', server_type: 'vllm', base_url: upstream.url }) });
    await fetch(`${first.url}/api/v1/model-servers/health-check-all`, { method: 'POST', headers: { authorization: headers.authorization } });
    const created = (await (await fetch(`${first.url}/api/v1/keys`, { method: 'POST', headers, body: JSON.stringify({ name: 'shared', scopes: ['inference'], rpm: 10 }) })).json()) as { key: string };
    // Started after the key and server exist, so it loads both (live sync between replicas is a later issue).
    const second = await spawnGateway(env);
    running.push(second);
    await fetch(`${second.url}/api/v1/model-servers/health-check-all`, { method: 'POST', headers: { authorization: headers.authorization } });

    const body = JSON.stringify({ model: 'yi34b', messages: [{ role: 'user', content: 'hi' }] });
    const statuses = await Promise.all(
      Array.from({ length: 30 }, (_, index) =>
        fetch(`${(index % 2 === 0 ? first : second).url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${created.key}`, 'content-type': 'application/json' }, body }).then(
          (response) => response.status,
        ),
      ),
    );
    expect(statuses.filter((status) => status === 200)).toHaveLength(10);
    expect(statuses.filter((status) => status === 429)).toHaveLength(20);
  });
});

describe.skipIf(!hasRedis)('budgets in Redis', () => {
  it('let exactly one of 50 parallel requests through when the budget holds exactly one request', async () => {
    const { startTestGateway } = await import('../support/gateway-harness.ts');
    const fake = await startOpenAIFake({ flavor: 'vllm', models: [{ id: 'yi34b', contextLength: 4096 }] });
    const gateway = await startTestGateway({ env: { REDIS_URL: redisUrl } });
    try {
      await gateway.api('POST', '/api/v1/model-servers', { name: 'gpu', server_type: 'vllm', base_url: fake.url });
      await gateway.api('POST', '/api/v1/model-servers/health-check-all');
      // Estimated at 8 prompt tokens + max_tokens 2; the fake reports fewer, so settling never frees room for a second.
      const key = (await gateway.api('POST', '/api/v1/keys', { name: 'one-request', scopes: ['inference'], budget_tokens: 10 })).body;
      const body = JSON.stringify({ model: 'yi34b', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 });
      const statuses = await Promise.all(
        Array.from({ length: 50 }, () =>
          fetch(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key.key}`, 'content-type': 'application/json' }, body }).then((response) => response.status),
        ),
      );
      expect(statuses.filter((status) => status === 200)).toHaveLength(1);
      expect(statuses.filter((status) => status === 429)).toHaveLength(49);
    } finally {
      await gateway.stop();
      await fake.stop();
    }
  });
});
