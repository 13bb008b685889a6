import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOllamaFake, startOpenAIFake, startTeiFake, type OllamaFake, type OpenAIFake, type TeiFake } from '../fakes/index.ts';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.ts';

let gateway: TestGateway;
let gpu1: OllamaFake;
let gpu2: OllamaFake;
let vllm: OpenAIFake;
let tei: TeiFake;
const ids: Record<string, string> = {};

const metric = async (line: RegExp): Promise<number | null> => {
  const text = (await gateway.api('GET', '/metrics')).text;
  const found = text.split('\n').find((entry) => line.test(entry));
  return found === undefined ? null : Number(found.split(' ').at(-1));
};

beforeAll(async () => {
  [gpu1, gpu2, vllm, tei] = await Promise.all([
    startOllamaFake(),
    startOllamaFake({ models: [{ id: 'mixtral', capabilities: ['completion', 'tools'], family: 'llama', parameterSize: '46.7B', sizeBytes: 26442481545, loaded: false }, { id: 'phi3', family: 'phi3', parameterSize: '3.8B', sizeBytes: 2176178913 }] }),
    startOpenAIFake({ flavor: 'vllm', models: [{ id: 'meta-llama/Llama-3.1-8B-Instruct', contextLength: 131072 }] }),
    startTeiFake(),
  ]);
  gateway = await startTestGateway();
  for (const [name, type, url] of [['gpu-1', 'ollama', gpu1.url], ['gpu-2', 'ollama', gpu2.url], ['vllm-1', 'vllm', vllm.url], ['tei-1', 'auto', tei.url]] as const) {
    const created = await gateway.api('POST', '/api/v1/model-servers', { name, server_type: type, base_url: url });
    expect(created.status, created.text).toBe(201);
    ids[name] = created.body.id;
  }
  await gateway.api('POST', '/api/v1/model-servers/health-check-all');
});

afterAll(async () => {
  await gateway.stop();
  await Promise.all([gpu1.stop(), gpu2.stop(), vllm.stop(), tei.stop()]);
});

describe('GET /api/v1/inventory', () => {
  it('answers the model × server matrix with what each server says of each model', async () => {
    const inventory = await gateway.api('GET', '/api/v1/inventory');
    expect(inventory.status).toBe(200);
    expect(inventory.body.servers.map((server: any) => server.name)).toEqual(['gpu-1', 'gpu-2', 'tei-1', 'vllm-1']);
    const mixtral = inventory.body.models.find((model: any) => model.id === 'mixtral:latest');
    expect(mixtral).toMatchObject({ loaded_on: 1, available_on: 2 });
    const onGpu1 = mixtral.servers.find((cell: any) => cell.name === 'gpu-1');
    expect(onGpu1).toMatchObject({
      server_id: ids['gpu-1'],
      status: 'loaded',
      loaded: true,
      digest: expect.stringMatching(/^[0-9a-f]{64}$/),
      size: 26442481545,
      family: 'llama',
      parameter_size: '46.7B',
      quantization: 'Q4_0',
      modified_at: '2025-09-30T14:21:07.123456789+02:00',
      size_vram: 26442481545,
      expires_at: expect.any(String),
      context_length: 32768,
    });
    expect(Date.parse(onGpu1.expires_at)).toBeGreaterThan(Date.now());
    expect(mixtral.servers.find((cell: any) => cell.name === 'gpu-2')).toMatchObject({ status: 'available', loaded: false, size_vram: null, expires_at: null });
    // Absent: gpu-2 does not have hermes, so hermes has no gpu-2 cell.
    expect(inventory.body.models.find((model: any) => model.id === 'hermes:latest').servers.map((cell: any) => cell.name)).toEqual(['gpu-1']);

    const llama = inventory.body.models.find((model: any) => model.id === 'meta-llama/Llama-3.1-8B-Instruct');
    expect(llama.servers[0]).toMatchObject({ name: 'vllm-1', status: 'loaded', context_length: 131072, details: { owned_by: 'vllm' } });
    const embedder = inventory.body.models.find((model: any) => model.servers[0].name === 'tei-1');
    expect(embedder.servers[0]).toMatchObject({ capabilities: ['embedding'], embedding_dimension: expect.any(Number) });
  });

  it('is readable with a read key, and refuses no key', async () => {
    const reader = (await gateway.api('POST', '/api/v1/keys', { name: 'inventory-reader', scopes: ['read'] })).body.key as string;
    expect((await gateway.api('GET', '/api/v1/inventory', undefined, { authorization: `Bearer ${reader}` })).status).toBe(200);
    expect((await fetch(`${gateway.url}/api/v1/inventory`)).status).toBe(401);
  });
});

describe('lifecycle metrics', () => {
  it('counts loaded models and their memory per server, and a load seen between probes', async () => {
    expect(await metric(/^llm_active_models\{server="gpu-1"\}/)).toBe(1);
    expect(await metric(/^llm_active_models\{server="gpu-2"\}/)).toBe(0);
    expect(await metric(/^llm_gpu_memory_usage_bytes\{server="gpu-1"\}/)).toBe(26442481545);
    expect(await metric(/^llm_model_loads_total\{server="gpu-2",model="phi3:latest"\}/)).toBeNull();

    const load = await gateway.api('POST', '/api/v1/models/phi3/load', { servers: [ids['gpu-2']], keep_alive: '10m' });
    expect(load.status, load.text).toBe(202);
    await gateway.gateway.operations.settled(load.body.operation_id);
    expect(await metric(/^llm_model_loads_total\{server="gpu-2",model="phi3:latest"\}/)).toBe(1);
    expect(await metric(/^llm_active_models\{server="gpu-2"\}/)).toBe(1);
    expect(await metric(/^llm_gpu_memory_usage_bytes\{server="gpu-2"\}/)).toBe(2176178913);
  });

  it('counts a cold start seen on a request once, not again when the next probe sees the model loaded', async () => {
    const series = /^llm_model_loads_total\{server="gpu-1",model="hermes:latest"\}/;
    expect(await metric(series)).toBeNull();
    expect((await gateway.api('POST', '/v1/chat/completions', { model: 'hermes', messages: [{ role: 'user', content: 'wake up' }] })).status).toBe(200);
    expect(await metric(series)).toBe(1);
    await gateway.api('POST', '/api/v1/model-servers/health-check-all');
    expect(await metric(series)).toBe(1);
    expect(await metric(/^llm_active_models\{server="gpu-1"\}/)).toBe(2);
  });
});
