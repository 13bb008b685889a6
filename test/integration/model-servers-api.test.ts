import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startOllamaFake, startOpenAIFake, startRerankerFake, startTeiFake, type OllamaFake, type OpenAIFake } from '../fakes/index.ts';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';
import { ServerStore } from '../../src/storage/server-store.ts';

let gateway: TestGateway;
let ollama: OllamaFake;
let vllm: OpenAIFake;

beforeAll(async () => {
  [gateway, ollama, vllm] = await Promise.all([startTestGateway(), startOllamaFake(), startOpenAIFake({ flavor: 'vllm' })]);
});

afterAll(async () => {
  await Promise.all([gateway.stop(), ollama.stop(), vllm.stop()]);
});

afterEach(async () => {
  const { body } = await gateway.api('GET', '/api/v1/model-servers');
  for (const server of body.data) await gateway.api('DELETE', `/api/v1/model-servers/${server.id}`);
});

async function createServer(body: Record<string, unknown>) {
  const response = await gateway.api('POST', '/api/v1/model-servers', body);
  expect(response.status, response.text).toBe(201);
  return response.body;
}

describe('registering model servers', () => {
  it('creates a server and returns the full record without its API key', async () => {
    const record = await createServer({ name: 'primary', server_type: 'ollama', base_url: `${ollama.url}/`, api_key: 'sk-upstream-canary-1', metadata: { rack: 'a1' } });
    expect(record).toMatchObject({
      name: 'primary',
      server_type: 'ollama',
      base_url: ollama.url,
      is_active: true,
      health_status: 'unknown',
      capabilities: [],
      metadata: { rack: 'a1' },
      last_health_check: null,
      has_api_key: true,
    });
    expect(record.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(Date.parse(record.created_at)).not.toBeNaN();
    expect(JSON.stringify(record)).not.toContain('sk-upstream-canary-1');
    expect(record).not.toHaveProperty('api_key');

    const listed = await gateway.api('GET', '/api/v1/model-servers');
    expect(listed.body.data).toHaveLength(1);
    expect(listed.text).not.toContain('sk-upstream-canary-1');
    const fetched = await gateway.api('GET', `/api/v1/model-servers/${record.id}`);
    expect(fetched.body).toEqual({ ...record });
    expect(gateway.logs.join('')).not.toContain('sk-upstream-canary-1');
  });

  it.each([
    ['ollama', () => ollama.url, 'ollama', 'GET /api/version'],
    ['vllm', () => vllm.url, 'vllm', undefined],
  ])('detects a %s server from a pasted URL (server_type auto)', async (_label, url, kind, detectedBy) => {
    const record = await createServer({ name: `auto-${kind}`, base_url: url() });
    expect(record.server_type).toBe(kind);
    expect(record.detection).toMatchObject({ requested: 'auto' });
    if (detectedBy !== undefined) expect(record.detection.detected_by).toBe(detectedBy);
  });

  it('detects llama.cpp, generic OpenAI, TEI embedders, TEI rerankers and Cohere-style rerankers', async () => {
    const fakes = await Promise.all([
      startOpenAIFake({ flavor: 'llamacpp' }),
      startOpenAIFake({ flavor: 'generic' }),
      startTeiFake({ kind: 'embedding' }),
      startTeiFake({ kind: 'reranker', modelId: 'BAAI/bge-reranker-base' }),
      startRerankerFake(),
    ]);
    try {
      const found = [];
      for (const [index, fake] of fakes.entries()) {
        const record = await createServer({ name: `detect-${index}`, base_url: fake.url });
        found.push([record.server_type, record.detection.flavor]);
      }
      expect(found).toEqual([
        ['llamacpp', null],
        ['openai', null],
        ['embedding', 'tei'],
        ['reranker', 'tei'],
        ['reranker', null],
      ]);
    } finally {
      await Promise.all(fakes.map((fake) => fake.stop()));
    }
  });

  it('refuses auto-detection of a URL where nothing answers, storing nothing', async () => {
    const dead = await startOpenAIFake();
    await dead.stop();
    const response = await gateway.api('POST', '/api/v1/model-servers', { name: 'dead', base_url: dead.url });
    expect(response.status).toBe(422);
    expect(response.body.error).toMatchObject({ code: 'SY_DETECTION_FAILED', param: 'base_url' });
    expect(response.body.error.message).toMatch(/connection refused/);
    expect((await gateway.api('GET', '/api/v1/model-servers')).body.data).toHaveLength(0);
  });

  it('updates only the fields it is given; an omitted api_key keeps the key and null clears it', async () => {
    const keyed = await startOpenAIFake({ flavor: 'generic', apiKey: 'sk-upstream-canary-2' });
    try {
      const record = await createServer({ name: 'hosted', server_type: 'openai', base_url: keyed.url, api_key: 'sk-upstream-canary-2' });
      const renamed = await gateway.api('PUT', `/api/v1/model-servers/${record.id}`, { name: 'hosted-renamed', metadata: { team: 'ml' } });
      expect(renamed.status).toBe(200);
      expect(renamed.body).toMatchObject({ name: 'hosted-renamed', base_url: keyed.url, metadata: { team: 'ml' }, has_api_key: true });
      expect(Date.parse(renamed.body.updated_at)).toBeGreaterThanOrEqual(Date.parse(record.updated_at));

      const [check] = (await gateway.api('POST', '/api/v1/model-servers/health-check-all')).body.data;
      expect(check).toMatchObject({ name: 'hosted-renamed', health_status: 'online', models_found: 4 });

      const cleared = await gateway.api('PUT', `/api/v1/model-servers/${record.id}`, { api_key: null });
      expect(cleared.body).toMatchObject({ has_api_key: false, health_status: 'unknown' });
      const [unauthorised] = (await gateway.api('POST', '/api/v1/model-servers/health-check-all')).body.data;
      expect(unauthorised.health_status).toBe('degraded');
      const server = (await gateway.api('GET', `/api/v1/model-servers/${record.id}`)).body;
      expect(server).toMatchObject({ status_reason: 'misconfigured', consecutive_failures: 0 });
      expect(server.status_message).toMatch(/requires an API key \(HTTP 401\)\. Set the server's api_key/);
      await gateway.api('PUT', `/api/v1/model-servers/${record.id}`, { api_key: 'sk-wrong' });
      await gateway.api('POST', '/api/v1/model-servers/health-check-all');
      const wrong = (await gateway.api('GET', `/api/v1/model-servers/${record.id}`)).body;
      expect(wrong).toMatchObject({ health_status: 'degraded', status_reason: 'misconfigured' });
      expect(wrong.status_message).toMatch(/rejected the API key \(HTTP 401\)\. Check the server's api_key/);
      expect(gateway.logs.join('')).not.toContain('sk-upstream-canary-2');
    } finally {
      await keyed.stop();
    }
  });

  it('keeps a stated max_concurrency (a positive integer, null to learn it again), in storage and in GraphQL', async () => {
    const record = await createServer({ name: 'bounded', server_type: 'vllm', base_url: vllm.url, max_concurrency: 4 });
    expect(record.max_concurrency).toBe(4);
    for (const bad of [0, -1, 2.5, '4']) {
      const refused = await gateway.api('PUT', `/api/v1/model-servers/${record.id}`, { max_concurrency: bad });
      expect(refused.status, JSON.stringify(bad)).toBe(400);
      expect(refused.body.error.param ?? refused.body.error.message).toMatch(/max_concurrency/);
    }
    const viaGraphql = await gateway.api('POST', '/graphql', { query: `mutation { updateServer(id: "${record.id}", input: {maxConcurrency: 8}) { maxConcurrency } }` });
    expect(viaGraphql.body.data.updateServer.maxConcurrency).toBe(8);
    expect((await gateway.api('GET', `/api/v1/model-servers/${record.id}`)).body.max_concurrency).toBe(8);
    const stored = (await new ServerStore(gateway.gateway.database.db).listServers()).find((server) => server.id === record.id);
    expect(stored?.maxConcurrency).toBe(8);
    const learned = await gateway.api('PUT', `/api/v1/model-servers/${record.id}`, { max_concurrency: null });
    expect(learned.body.max_concurrency).toBeNull();
    const audit = (await gateway.api('GET', `/api/v1/audit?target_id=${record.id}`)).body;
    expect(JSON.stringify(audit)).toContain('max_concurrency');
    await gateway.api('DELETE', `/api/v1/model-servers/${record.id}`);
  });

  it('deletes a server with its models and history; its id then answers 404 everywhere', async () => {
    const record = await createServer({ name: 'doomed', server_type: 'ollama', base_url: ollama.url });
    await gateway.api('POST', '/api/v1/model-servers/health-check-all');
    expect((await gateway.api('GET', `/api/v1/model-servers/${record.id}/models`)).body.data.length).toBeGreaterThan(0);
    const deleted = await gateway.api('DELETE', `/api/v1/model-servers/${record.id}`);
    expect(deleted.status).toBe(204);
    expect(deleted.text).toBe('');
    const db = gateway.gateway.database.db;
    for (const table of ['server_models', 'health_checks', 'model_events'] as const) {
      expect(await db.selectFrom(table).selectAll().where('server_id', '=', record.id).execute()).toHaveLength(0);
    }
    for (const [method, path] of [
      ['GET', ''],
      ['PUT', ''],
      ['DELETE', ''],
      ['POST', '/test'],
      ['GET', '/health'],
      ['GET', '/metrics'],
      ['GET', '/models'],
    ] as const) {
      const response = await gateway.api(method, `/api/v1/model-servers/${record.id}${path}`, method === 'PUT' ? { name: 'x' } : undefined);
      expect(response.status, `${method} ${path}`).toBe(404);
      expect(response.body.error).toMatchObject({ type: 'not_found_error', code: 'SY_NOT_FOUND' });
    }
  });

  it('stores the upstream key encrypted, never in the clear', async () => {
    await createServer({ name: 'sealed', server_type: 'vllm', base_url: vllm.url, api_key: 'sk-upstream-canary-3' });
    const rows = await gateway.gateway.database.db.selectFrom('model_servers').select(['api_key_ciphertext']).execute();
    expect(rows[0]?.api_key_ciphertext).toMatch(/^v1\./);
    expect(JSON.stringify(rows)).not.toContain('sk-upstream-canary-3');
  });
});

describe('authentication', () => {
  it('answers 401 without a key or with a wrong one, and accepts Bearer, x-api-key and api-key', async () => {
    const url = `${gateway.url}/api/v1/model-servers`;
    const missing = await fetch(url);
    expect(missing.status).toBe(401);
    expect(await missing.json()).toMatchObject({ error: { type: 'authentication_error', code: 'SY_UNAUTHENTICATED' } });
    expect((await fetch(url, { headers: { authorization: 'Bearer sk-sy-wrong' } })).status).toBe(401);
    expect((await fetch(url, { headers: { authorization: adminKey } })).status).toBe(401);
    for (const headers of [{ authorization: `Bearer ${adminKey}` }, { 'x-api-key': adminKey }, { 'api-key': adminKey }]) {
      expect((await fetch(url, { headers })).status).toBe(200);
    }
  });

  it('checks the key before reading the body', async () => {
    const response = await fetch(`${gateway.url}/api/v1/model-servers`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{not json' });
    expect(response.status).toBe(401);
  });

  it('serves /health and /ready without a key, and echoes a request id', async () => {
    const health = await fetch(`${gateway.url}/health`, { headers: { 'x-request-id': 'trace-123' } });
    expect(health.status).toBe(200);
    expect(health.headers.get('x-request-id')).toBe('trace-123');
    const ready = await fetch(`${gateway.url}/ready`);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { storage: 'ok' } });
  });
});
