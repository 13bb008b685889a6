import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startOllamaFake, startOpenAIFake, startTeiFake, type OllamaFake } from '../fakes/index.ts';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.ts';

let gateway: TestGateway;
let ollama: OllamaFake;

beforeAll(async () => {
  [gateway, ollama] = await Promise.all([startTestGateway({ env: { SWITCHYARD_HEALTH_TIMEOUT_MS: '400' } }), startOllamaFake()]);
});

afterAll(async () => {
  await Promise.all([gateway.stop(), ollama.stop()]);
});

afterEach(async () => {
  const { body } = await gateway.api('GET', '/api/v1/model-servers');
  for (const server of body.data) await gateway.api('DELETE', `/api/v1/model-servers/${server.id}`);
  await ollama.restart();
  await ollama.clearFault();
});

async function create(body: Record<string, unknown>) {
  const response = await gateway.api('POST', '/api/v1/model-servers', body);
  expect(response.status, response.text).toBe(201);
  return response.body;
}

async function checkAll() {
  const response = await gateway.api('POST', '/api/v1/model-servers/health-check-all');
  expect(response.status).toBe(200);
  return response.body.data as Array<{ id: string; name: string; health_status: string; latency_ms: number; models_found: number | null; error?: string }>;
}

const generationPaths = ['/api/chat', '/api/generate', '/v1/chat/completions', '/v1/completions', '/completion'];

describe('model discovery', () => {
  it("lists an Ollama server's models with capabilities, sizes, context and loaded state", async () => {
    const server = await create({ name: 'primary', server_type: 'ollama', base_url: ollama.url });
    const [report] = await checkAll();
    expect(report).toMatchObject({ id: server.id, name: 'primary', health_status: 'online', models_found: 5 });
    const { body } = await gateway.api('GET', `/api/v1/model-servers/${server.id}/models`);
    const byId = Object.fromEntries(body.data.map((model: { id: string }) => [model.id, model]));
    expect(byId['mixtral:latest']).toMatchObject({
      aliases: ['mixtral'],
      capabilities: ['chat', 'completion', 'tools'],
      embedding_dimension: 4096,
      context_length: 32768,
      status: 'loaded',
    });
    expect(byId['phi3:latest']).toMatchObject({ capabilities: ['chat', 'completion'], embedding_dimension: 2048, status: 'available' });
    expect(byId['nomic-embed-text:latest']).toMatchObject({ capabilities: ['embedding'], embedding_dimension: 768 });
    const byAlias = await gateway.api('GET', `/api/v1/model-servers/${server.id}/models/mixtral`);
    expect(byAlias.body).toEqual(byId['mixtral:latest']);
    expect((await gateway.api('GET', `/api/v1/model-servers/${server.id}/models/mixtral:latest`)).body.id).toBe('mixtral:latest');
    expect((await gateway.api('GET', `/api/v1/model-servers/${server.id}/models/yi34b`)).status).toBe(404);
    const record = (await gateway.api('GET', `/api/v1/model-servers/${server.id}`)).body;
    expect(record).toMatchObject({ health_status: 'online', models_count: 5, capabilities: ['chat', 'completion', 'embedding', 'tools'] });
    expect(record.last_health_check).not.toBeNull();
  });

  it('records models that appear and disappear, with timestamps', async () => {
    const server = await create({ name: 'primary', server_type: 'ollama', base_url: ollama.url });
    await checkAll();
    const original = ollama.getModels();
    ollama.setModels([...original.filter((model) => model.id !== 'hermes'), { id: 'deepcoder', capabilities: ['completion', 'insert'], contextLength: 16384, embeddingDimension: 1024 }]);
    await checkAll();
    const ids = (await gateway.api('GET', `/api/v1/model-servers/${server.id}/models`)).body.data.map((model: { id: string }) => model.id);
    expect(ids).toContain('deepcoder:latest');
    expect(ids).not.toContain('hermes:latest');
    const deepcoder = (await gateway.api('GET', `/api/v1/model-servers/${server.id}/models`)).body.data.find((model: { id: string }) => model.id === 'deepcoder:latest');
    expect(deepcoder.capabilities).toEqual(['chat', 'completion', 'code']);
    const health = (await gateway.api('GET', `/api/v1/model-servers/${server.id}/health`)).body;
    const events = health.model_events.map((event: { model: string; event: string }) => `${event.event} ${event.model}`);
    expect(events).toEqual(expect.arrayContaining(['added deepcoder:latest', 'removed hermes:latest', 'added mixtral:latest']));
    for (const event of health.model_events) expect(Date.parse(event.at)).not.toBeNaN();
    ollama.setModels(original);
  });

  it('marks a server that answers but serves none of its expected models degraded', async () => {
    const server = await create({ name: 'primary', server_type: 'ollama', base_url: ollama.url, expected_models: ['yi34b', { name: 'imp' }] });
    const [report] = await checkAll();
    expect(report?.health_status).toBe('degraded');
    const record = (await gateway.api('GET', `/api/v1/model-servers/${server.id}`)).body;
    expect(record).toMatchObject({ status_reason: 'expected_models_missing' });
    expect((await gateway.api('GET', `/api/v1/model-servers/${server.id}/health?limit=0`)).body.error).toMatchObject({ param: 'limit', message: 'limit must be an integer from 1 to 1000.' });
    expect(record.status_message).toContain('yi34b, imp');

    await gateway.api('PUT', `/api/v1/model-servers/${server.id}`, { expected_models: ['mixtral', 'imp'] });
    const [again] = await checkAll();
    expect(again?.health_status).toBe('online');
  });

  it('probes an embedding dimension the server does not state with one real embed call, once', async () => {
    const tei = await startTeiFake({ modelId: 'general', dimension: 384 });
    try {
      const server = await create({ name: 'orchestration', server_type: 'embedding', base_url: tei.url });
      await checkAll();
      await checkAll();
      const [model] = (await gateway.api('GET', `/api/v1/model-servers/${server.id}/models`)).body.data;
      expect(model).toMatchObject({ id: 'general', capabilities: ['embedding'], embedding_dimension: 384, context_length: 512 });
      expect(tei.requests.filter((request) => request.path === '/embed')).toHaveLength(1);
    } finally {
      await tei.stop();
    }
  });

  it("puts TEI's batch limits from /info in the model's details, for an embedder and a reranker alike", async () => {
    const embedder = await startTeiFake({ modelId: 'general', maxClientBatchSize: 64, maxBatchTokens: 8192, maxConcurrentRequests: 128 });
    const reranker = await startTeiFake({ kind: 'reranker', modelId: 'bge-reranker-base', maxClientBatchSize: 16 });
    try {
      const embedding = await create({ name: 'orchestration', server_type: 'embedding', base_url: embedder.url });
      const rerank = await create({ name: 'rerank', server_type: 'reranker', base_url: reranker.url });
      await checkAll();
      const [general] = (await gateway.api('GET', `/api/v1/model-servers/${embedding.id}/models`)).body.data;
      expect(general.details).toMatchObject({ max_client_batch_size: 64, max_batch_tokens: 8192, max_concurrent_requests: 128 });
      const [bge] = (await gateway.api('GET', `/api/v1/model-servers/${rerank.id}/models`)).body.data;
      expect(bge.details).toMatchObject({ max_client_batch_size: 16, max_batch_tokens: 16384, max_concurrent_requests: 512 });
    } finally {
      await Promise.all([embedder.stop(), reranker.stop()]);
    }
  });

  it('uses a fleet hint instead of an embed call when the operator states the dimension', async () => {
    const tei = await startTeiFake({ modelId: 'general', dimension: 384 });
    try {
      const server = await create({ name: 'orchestration', server_type: 'embedding', base_url: tei.url, expected_models: [{ name: 'general', embedding_dimension: 384 }] });
      await checkAll();
      const [model] = (await gateway.api('GET', `/api/v1/model-servers/${server.id}/models`)).body.data;
      expect(model.embedding_dimension).toBe(384);
      expect(tei.requests.filter((request) => request.path === '/embed')).toHaveLength(0);
    } finally {
      await tei.stop();
    }
  });

  it('never spends tokens on a health probe: no generation request reaches any server', async () => {
    const vllm = await startOpenAIFake({ flavor: 'vllm' });
    const llamacpp = await startOpenAIFake({ flavor: 'llamacpp' });
    try {
      await create({ name: 'primary', server_type: 'ollama', base_url: ollama.url });
      await create({ name: 'secondary', server_type: 'vllm', base_url: vllm.url });
      await create({ name: 'laptop', base_url: llamacpp.url });
      ollama.resetRequests();
      for (let round = 0; round < 3; round++) await checkAll();
      for (const fake of [ollama, vllm, llamacpp]) {
        const paths = fake.requests.map((request) => request.path.split('?')[0]);
        expect(paths.length).toBeGreaterThan(0);
        expect(paths.filter((path) => generationPaths.includes(path ?? ''))).toEqual([]);
      }
      // /api/show is asked once per model, not on every check.
      expect(ollama.requests.filter((request) => request.path === '/api/show')).toHaveLength(5);
    } finally {
      await Promise.all([vllm.stop(), llamacpp.stop()]);
    }
  });
});

describe('health states', () => {
  it('goes degraded, then offline after three failures, then online again when the server returns', async () => {
    const server = await create({ name: 'primary', server_type: 'ollama', base_url: ollama.url });
    expect((await checkAll())[0]?.health_status).toBe('online');
    await ollama.stop();
    const down = [];
    for (let round = 0; round < 4; round++) down.push((await checkAll())[0]);
    expect(down.map((report) => report?.health_status)).toEqual(['degraded', 'degraded', 'offline', 'offline']);
    expect(down[0]?.error).toMatch(/connection refused/);
    const offline = (await gateway.api('GET', `/api/v1/model-servers/${server.id}`)).body;
    expect(offline).toMatchObject({ health_status: 'offline', status_reason: 'unreachable', consecutive_failures: 4, models_count: 5 });

    await ollama.restart();
    expect((await checkAll())[0]?.health_status).toBe('online');

    const health = (await gateway.api('GET', `/api/v1/model-servers/${server.id}/health`)).body;
    expect(health).toMatchObject({ health_status: 'online', status_reason: null, consecutive_failures: 0 });
    expect(health.history).toHaveLength(6);
    expect(health.history[0]).toMatchObject({ outcome: 'success', health_status: 'online', previous_status: 'offline' });
    expect(health.history[1]).toMatchObject({ outcome: 'failure', status_reason: 'unreachable' });
    const transitions = health.transitions.map((transition: { from: string; to: string }) => `${transition.from}->${transition.to}`).reverse();
    expect(transitions).toEqual(['unknown->online', 'online->degraded', 'degraded->offline', 'offline->online']);
    const logged = gateway.logs.filter((line) => line.includes('model server status changed')).map((line) => JSON.parse(line));
    expect(logged.map((entry) => `${entry.from}->${entry.to}`)).toEqual(expect.arrayContaining(['online->degraded', 'degraded->offline', 'offline->online']));
    expect(logged.find((entry) => entry.to === 'offline')?.level).toBe(50);
  });

  it('bounds a hung server by the probe timeout and calls it a timeout', async () => {
    await create({ name: 'primary', server_type: 'ollama', base_url: ollama.url });
    await ollama.setFault({ kind: 'hang' });
    // The fake hangs for ever: a report at all means the probe timeout ended the check.
    const [report] = await checkAll();
    expect(report).toMatchObject({ health_status: 'degraded' });
    expect(report?.error).toMatch(/timed out/);
  });

  it('counts a 5xx and a garbage answer as failures', async () => {
    const server = await create({ name: 'primary', server_type: 'ollama', base_url: ollama.url });
    await ollama.setFault({ kind: 'status', status: 500 });
    expect((await checkAll())[0]).toMatchObject({ health_status: 'degraded', error: expect.stringMatching(/HTTP 500/) });
    await ollama.setFault({ kind: 'garbage' });
    expect((await checkAll())[0]).toMatchObject({ health_status: 'degraded', error: expect.stringMatching(/not JSON/) });
    expect((await gateway.api('GET', `/api/v1/model-servers/${server.id}`)).body).toMatchObject({ consecutive_failures: 2, status_reason: 'bad_response' });
  });

  it('tests a connection without changing its status, recording only the time of the check', async () => {
    const server = await create({ name: 'primary', server_type: 'ollama', base_url: ollama.url });
    const ok = await gateway.api('POST', `/api/v1/model-servers/${server.id}/test`);
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ ok: true, latency_ms: expect.any(Number), models_found: 5 });
    const after = (await gateway.api('GET', `/api/v1/model-servers/${server.id}`)).body;
    expect(after).toMatchObject({ health_status: 'unknown', models_count: 0 });
    expect(after.last_health_check).not.toBeNull();

    await ollama.stop();
    const failed = await gateway.api('POST', `/api/v1/model-servers/${server.id}/test`);
    expect(failed.body).toMatchObject({ ok: false, models_found: 0, error: expect.stringMatching(/connection refused/) });
    expect((await gateway.api('GET', `/api/v1/model-servers/${server.id}`)).body.health_status).toBe('unknown');
    expect((await gateway.api('GET', `/api/v1/model-servers/${server.id}/health`)).body.history).toEqual([]);
  });
});

describe('load metrics', () => {
  it("reads vLLM's running and waiting requests and KV-cache use", async () => {
    // One model per vLLM process, as vLLM is deployed.
    const vllm = await startOpenAIFake({ flavor: 'vllm', models: [{ id: 'yi34b', contextLength: 4096 }] });
    try {
      const server = await create({ name: 'secondary', server_type: 'vllm', base_url: vllm.url });
      vllm.setLoad({ running: 3, waiting: 5, kvCacheUsage: 0.42 });
      await checkAll();
      vllm.setLoad({ running: 1, waiting: 0, kvCacheUsage: 0.1 });
      await checkAll();
      const { body } = await gateway.api('GET', `/api/v1/model-servers/${server.id}/metrics`);
      expect(body.latest).toMatchObject({ running_requests: 1, waiting_requests: 0, kv_cache_usage: 0.1 });
      expect(body.history).toHaveLength(2);
      expect(body.history[1]).toMatchObject({ running_requests: 3, waiting_requests: 5, kv_cache_usage: 0.42 });
      expect(body.latest.loaded_models).toEqual(['yi34b']);
      const [model] = (await gateway.api('GET', `/api/v1/model-servers/${server.id}/models`)).body.data;
      expect(model).toMatchObject({ id: 'yi34b', context_length: 4096, capabilities: ['chat', 'completion'], status: 'loaded' });
    } finally {
      await vllm.stop();
    }
  });

  it("reads Ollama's loaded models and their memory from /api/ps", async () => {
    const server = await create({ name: 'primary', server_type: 'ollama', base_url: ollama.url });
    await checkAll();
    const { body } = await gateway.api('GET', `/api/v1/model-servers/${server.id}/metrics`);
    expect(body.latest.loaded_models).toEqual(['mixtral:latest']);
    expect(body.latest.memory_bytes).toBeGreaterThan(0);
  });

  it("reads llama.cpp's busy slots", async () => {
    const llamacpp = await startOpenAIFake({ flavor: 'llamacpp' });
    try {
      const server = await create({ name: 'laptop', base_url: llamacpp.url });
      await checkAll();
      const { body } = await gateway.api('GET', `/api/v1/model-servers/${server.id}/metrics`);
      expect(body.latest).toMatchObject({ running_requests: 0, details: { total_slots: 4 } });
    } finally {
      await llamacpp.stop();
    }
  });
});
