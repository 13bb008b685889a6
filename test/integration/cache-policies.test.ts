import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOllamaFake, startTeiFake, type OllamaFake, type TeiFake } from '../fakes/index.ts';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';
import { startOwnRedisServer, type OwnRedisServer } from '../support/own-redis-server.ts';

let ollama: OllamaFake;
let tei: TeiFake;

beforeAll(async () => {
  [ollama, tei] = await Promise.all([startOllamaFake(), startTeiFake({ modelId: 'general', dimension: 384 })]);
});

afterAll(async () => {
  await Promise.all([ollama.stop(), tei.stop()]);
});

async function withServers(gateway: TestGateway): Promise<void> {
  for (const body of [
    { name: 'primary', base_url: ollama.url },
    { name: 'embedder', base_url: tei.url },
  ]) {
    const created = await gateway.api('POST', '/api/v1/model-servers', body);
    expect(created.status, created.text).toBe(201);
  }
  await gateway.api('POST', '/api/v1/model-servers/health-check-all');
}

describe('cache policies over REST', () => {
  let gateway: TestGateway;

  beforeAll(async () => {
    gateway = await startTestGateway();
    await withServers(gateway);
  });

  afterAll(async () => {
    await gateway.stop();
  });

  it('creates, reads, lists, replaces and deletes a policy, names with a slash included', async () => {
    const created = await gateway.api('PUT', '/api/v1/cache-policies/mixtral', { mode: 'exact', ttl_s: 600 });
    expect(created.status, created.text).toBe(201);
    expect(created.body).toMatchObject({ name: 'mixtral', mode: 'exact', ttl_s: 600, scope: 'key', similarity: null, embedding_model: null, managed_by: null });
    const replaced = await gateway.api('PUT', '/api/v1/cache-policies/mixtral', { mode: 'semantic', ttl_s: 60, scope: 'global', embedding_model: 'general' });
    expect(replaced.status).toBe(200);
    expect(replaced.body).toMatchObject({ mode: 'semantic', scope: 'global', similarity: 0.95, embedding_model: 'general' });
    expect((await gateway.api('PUT', '/api/v1/cache-policies/org/model-7b', { mode: 'exact', ttl_s: 5 })).status).toBe(201);
    expect((await gateway.api('GET', '/api/v1/cache-policies/org%2Fmodel-7b')).body.name).toBe('org/model-7b');
    const list = (await gateway.api('GET', '/api/v1/cache-policies')).body.data.map((policy: { name: string }) => policy.name);
    expect(list).toEqual(['mixtral', 'org/model-7b']);
    expect((await gateway.api('DELETE', '/api/v1/cache-policies/org/model-7b')).status).toBe(204);
    expect((await gateway.api('GET', '/api/v1/cache-policies/org/model-7b')).status).toBe(404);
    const audit = (await gateway.api('GET', '/api/v1/audit?action=cache_policy.update')).body.data;
    expect(audit.length).toBe(1);
  });

  it('refuses bad policies in the admin API error shape, storing nothing', async () => {
    const cases: Array<[unknown, string]> = [
      [{ mode: 'exact' }, 'ttl_s'],
      [{ mode: 'fuzzy', ttl_s: 5 }, 'mode'],
      [{ mode: 'exact', ttl_s: 0 }, 'ttl_s'],
      [{ mode: 'exact', ttl_s: 5, similarity: 0.9 }, 'similarity'],
      [{ mode: 'semantic', ttl_s: 5 }, 'embedding_model'],
      [{ mode: 'semantic', ttl_s: 5, embedding_model: 'no-such-embedder' }, 'embedding_model'],
      [{ mode: 'semantic', ttl_s: 5, embedding_model: 'general', similarity: 1.5 }, 'similarity'],
      [{ mode: 'exact', ttl_s: 5, colour: 'blue' }, 'colour'],
    ];
    for (const [body, param] of cases) {
      const refused = await gateway.api('PUT', '/api/v1/cache-policies/phi3', body);
      expect(refused.status, JSON.stringify(body)).toBe(400);
      expect(refused.body.error.type).toBe('invalid_request_error');
      expect(JSON.stringify(refused.body.error), JSON.stringify(body)).toContain(param);
    }
    expect((await gateway.api('GET', '/api/v1/cache-policies/phi3')).status).toBe(404);
  });

  it('says x-switchyard-cache: bypass on rerank, even under a policy (rerank is not cached)', async () => {
    const reranker = await startTeiFake({ kind: 'reranker', modelId: 'bge-reranker-base' });
    try {
      expect((await gateway.api('POST', '/api/v1/model-servers', { name: 'reranker', base_url: reranker.url })).status).toBe(201);
      await gateway.api('POST', '/api/v1/model-servers/health-check-all');
      expect((await gateway.api('PUT', '/api/v1/cache-policies/bge-reranker-base', { mode: 'exact', ttl_s: 60 })).status).toBe(201);
      for (let round = 0; round < 2; round++) {
        const answer = await fetch(`${gateway.url}/v1/rerank`, {
          method: 'POST',
          headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'bge-reranker-base', query: 'capital of France', documents: ['bananas', 'Paris is the capital of France'] }),
        });
        expect(answer.status, await answer.clone().text()).toBe(200);
        expect(answer.headers.get('x-switchyard-cache')).toBe('bypass');
      }
    } finally {
      await reranker.stop();
    }
  });

  it('lets a read key look but not change', async () => {
    const reader = (await gateway.api('POST', '/api/v1/keys', { name: 'policy-reader', scopes: ['read'] })).body.key as string;
    expect((await gateway.api('GET', '/api/v1/cache-policies', undefined, { authorization: `Bearer ${reader}` })).status).toBe(200);
    expect((await gateway.api('PUT', '/api/v1/cache-policies/phi3', { mode: 'exact', ttl_s: 5 }, { authorization: `Bearer ${reader}` })).status).toBe(403);
  });
});

describe('cache policies in the fleet file', () => {
  it('are applied at start, marked managed_by fleet_file, and refuse edits with a 409', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-cache-fleet-'));
    const file = join(dir, 'fleet.yaml');
    writeFileSync(
      file,
      `servers:\n  - {name: primary, server_type: ollama, base_url: "${ollama.url}"}\ncache_policies:\n  mixtral: {mode: exact, ttl_s: 3600}\n  phi3: {mode: semantic, ttl_s: 60, scope: global, similarity: 0.9, embedding_model: general}\n`,
    );
    const gateway = await startTestGateway({ dataDir: join(dir, 'data'), configFile: file });
    try {
      const policies = (await gateway.api('GET', '/api/v1/cache-policies')).body.data;
      expect(policies).toMatchObject([
        { name: 'mixtral', mode: 'exact', ttl_s: 3600, managed_by: 'fleet_file' },
        { name: 'phi3', mode: 'semantic', scope: 'global', similarity: 0.9, embedding_model: 'general', managed_by: 'fleet_file' },
      ]);
      for (const [method, body] of [
        ['PUT', { mode: 'exact', ttl_s: 5 }],
        ['DELETE', undefined],
      ] as const) {
        const refused = await gateway.api(method, '/api/v1/cache-policies/mixtral', body);
        expect(refused.status).toBe(409);
        expect(refused.body.error.code).toBe('SY_MANAGED_BY_FLEET_FILE');
      }
      await gateway.api('POST', '/api/v1/model-servers/health-check-all');
      const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: adminKey, maxRetries: 0 });
      await client.chat.completions.create({ model: 'mixtral', messages: [{ role: 'user', content: 'from the file' }] });
      const hit = await client.chat.completions.create({ model: 'mixtral', messages: [{ role: 'user', content: 'from the file' }] }).withResponse();
      expect(hit.response.headers.get('x-switchyard-cache')).toBe('hit');
    } finally {
      await gateway.stop();
    }
  });
});

describe('the response cache with Redis gone', () => {
  let redis: OwnRedisServer;

  beforeAll(async () => {
    redis = await startOwnRedisServer();
  });

  afterAll(async () => {
    await redis.stop();
  });

  it('answers every request upstream, as a miss, when Redis is killed or hangs', async () => {
    const gateway = await startTestGateway({ env: { REDIS_URL: redis.url, SWITCHYARD_QUOTA_ON_BACKEND_ERROR: 'open' } });
    try {
      await withServers(gateway);
      expect((await gateway.api('PUT', '/api/v1/cache-policies/mixtral', { mode: 'exact', ttl_s: 60 })).status).toBe(201);
      const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: adminKey, maxRetries: 0 });
      const ask = () => client.chat.completions.create({ model: 'mixtral', messages: [{ role: 'user', content: 'is redis there' }] }).withResponse();
      expect((await ask()).response.headers.get('x-switchyard-cache')).toBe('miss');
      expect((await ask()).response.headers.get('x-switchyard-cache')).toBe('hit');
      await redis.kill();
      for (let round = 0; round < 3; round++) {
        const answer = await ask();
        expect(answer.response.headers.get('x-switchyard-cache')).toBe('miss');
        expect(answer.data.choices[0]?.message.content).toContain('Hello from mixtral');
      }
      await redis.start();
      redis.pause();
      const stalled = await ask();
      expect(stalled.response.headers.get('x-switchyard-cache')).toBe('miss');
    } finally {
      await gateway.stop();
    }
  });
});
