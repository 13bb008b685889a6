import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLlamaCppRouterFake, startOpenAIFake, type LlamaCppRouterFake, type OpenAIFake } from '../fakes/index.ts';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';
import { waitFor } from '../support/wait-for.ts';

// llama.cpp's llama-server in router mode (decision 0037): several models, each in its own child process,
// every request routed by the `model` it names. The fake runs real single-model fakes as its children.
let gateway: TestGateway;
let router: LlamaCppRouterFake;
let single: OpenAIFake;
let client: OpenAI;
const ids: Record<string, string> = {};

const models = [
  { id: 'qwen2.5-7b', loaded: true },
  { id: 'llama-3.2-3b', loaded: true },
  { id: 'phi-4-mini' },
  { id: 'broken-gguf' },
  { id: 'nomic-embed-text-v1.5', capabilities: ['embedding'], embeddingDimension: 768 },
];

async function settled(id: string): Promise<any> {
  return waitFor(async () => {
    const view = (await gateway.api('GET', `/api/v1/operations/${id}`)).body;
    return view.status === 'running' ? null : view;
  }, `operation ${id} to end`);
}

async function inventoryCell(model: string, server: string): Promise<any> {
  const inventory = (await gateway.api('GET', '/api/v1/inventory')).body;
  return inventory.models.find((entry: any) => entry.id === model)?.servers.find((cell: any) => cell.server_id === ids[server]);
}

const serverActions = async (name: string): Promise<string[]> => (await gateway.api('GET', '/api/v1/inventory')).body.servers.find((server: any) => server.name === name).actions;

beforeAll(async () => {
  [gateway, router, single] = await Promise.all([
    startTestGateway(),
    startLlamaCppRouterFake({ models, failToLoad: ['broken-gguf'], modelsMax: 3 }),
    startOpenAIFake({ flavor: 'llamacpp', models: [{ id: 'laptop-gguf' }] }),
  ]);
  client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: adminKey, maxRetries: 0 });
  for (const [name, url] of [['router', router.url], ['laptop', single.url]] as const) {
    const created = await gateway.api('POST', '/api/v1/model-servers', { name, base_url: url });
    expect(created.status, created.text).toBe(201);
    expect(created.body.server_type).toBe('llamacpp');
    ids[name] = created.body.id;
  }
  await gateway.api('POST', '/api/v1/model-servers/health-check-all');
});

afterAll(async () => {
  await gateway.stop();
  await Promise.all([router.stop(), single.stop()]);
});

describe('a llama.cpp router', () => {
  it('lists every model it manages, loaded or not, and offers load and unload only where the server manages its models', async () => {
    const listed = (await gateway.api('GET', `/api/v1/model-servers/${ids['router']}/models`)).body.data;
    expect(Object.fromEntries(listed.map((model: any) => [model.id, model.status]))).toEqual({
      'qwen2.5-7b': 'loaded',
      'llama-3.2-3b': 'loaded',
      'phi-4-mini': 'available',
      'broken-gguf': 'available',
      'nomic-embed-text-v1.5': 'available',
    });
    const record = (await gateway.api('GET', `/api/v1/model-servers/${ids['router']}`)).body;
    expect([...record.load.loaded_models].sort()).toEqual(['llama-3.2-3b', 'qwen2.5-7b']);
    expect(await serverActions('router')).toEqual(expect.arrayContaining(['load', 'unload']));
    expect(await serverActions('laptop')).toEqual([]);
  });

  it('sends each request to the model it names, plain completions over native /completion included', async () => {
    const chat = await client.chat.completions.create({ model: 'llama-3.2-3b', messages: [{ role: 'user', content: 'hi' }] });
    expect(chat.choices[0]?.message.content).toContain('llama-3.2-3b');
    const before = router.child('qwen2.5-7b')?.nativeCompletions ?? 0;
    const completion = await client.completions.create({ model: 'qwen2.5-7b', prompt: 'Once upon a time' });
    expect(completion.choices[0]?.text).toContain('qwen2.5-7b');
    expect(router.child('qwen2.5-7b')?.nativeCompletions).toBe(before + 1);
    const stream = await client.completions.create({ model: 'llama-3.2-3b', prompt: 'Once', stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? '';
    expect(text).toContain('llama-3.2-3b');
  });

  it('loads a model as an operation that ends once the router reports it loaded', async () => {
    const started = await gateway.api('POST', '/api/v1/models/phi-4-mini/load', { servers: [ids['router']], keep_alive: '1h' });
    expect(started.status, started.text).toBe(202);
    const view = await settled(started.body.operation_id);
    expect(view.status, JSON.stringify(view)).toBe('succeeded');
    expect(router.statusOf('phi-4-mini')).toBe('loaded');
    expect(await inventoryCell('phi-4-mini', 'router')).toMatchObject({ loaded: true });
    const answer = await client.chat.completions.create({ model: 'phi-4-mini', messages: [{ role: 'user', content: 'hi' }] });
    expect(answer.choices[0]?.message.content).toContain('phi-4-mini');
  });

  it('unloads a model: the router stops its process and the inventory shows it on disk', async () => {
    const started = await gateway.api('POST', '/api/v1/models/qwen2.5-7b/unload', { servers: [ids['router']] });
    expect(started.status, started.text).toBe(202);
    expect((await settled(started.body.operation_id)).status).toBe('succeeded');
    expect(router.statusOf('qwen2.5-7b')).toBe('unloaded');
    expect(await inventoryCell('qwen2.5-7b', 'router')).toMatchObject({ loaded: false });
  });

  it('answers a request for a model the router has not loaded: the router loads it on demand', async () => {
    expect(router.statusOf('qwen2.5-7b')).toBe('unloaded');
    const answer = await client.chat.completions.create({ model: 'qwen2.5-7b', messages: [{ role: 'user', content: 'hi again' }] });
    expect(answer.choices[0]?.message.content).toContain('qwen2.5-7b');
    expect(router.statusOf('qwen2.5-7b')).toBe('loaded');
  });

  it('says why a load failed, from the process exit the router reports', async () => {
    const started = await gateway.api('POST', '/api/v1/models/broken-gguf/load', { servers: 'all' });
    expect(started.status, started.text).toBe(202);
    const view = await settled(started.body.operation_id);
    expect(view.status).toBe('failed');
    expect(view.servers[0].error).toMatch(/could not load broken-gguf.*exit code 1/);
  });

  it('never loads a model to learn its embedding size, and learns it once the model is loaded', async () => {
    await gateway.api('POST', '/api/v1/model-servers/health-check-all');
    expect(router.statusOf('nomic-embed-text-v1.5')).toBe('unloaded');
    expect(router.loads).not.toContain('nomic-embed-text-v1.5');
    const started = await gateway.api('POST', '/api/v1/models/nomic-embed-text-v1.5/load', { servers: [ids['router']] });
    expect((await settled(started.body.operation_id)).status).toBe('succeeded');
    const embedder = (await gateway.api('GET', `/api/v1/model-servers/${ids['router']}/models`)).body.data.find((model: any) => model.id === 'nomic-embed-text-v1.5');
    expect(embedder).toMatchObject({ status: 'loaded', embedding_dimension: 768 });
  });

  it('answers at once, and only for that model, when a model the router loads on demand fails to start', async () => {
    const failed = await client.chat.completions.create({ model: 'broken-gguf', messages: [{ role: 'user', content: 'hi' }] }).catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(OpenAI.APIError);
    // For a server's 5xx the gateway answers in its own words, with the server's status.
    expect((failed as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
    expect((failed as Error).message).toMatch(/The model server answered HTTP 500/);
    const fine = await client.chat.completions.create({ model: 'llama-3.2-3b', messages: [{ role: 'user', content: 'still there?' }] });
    expect(fine.choices[0]?.message.content).toContain('llama-3.2-3b');
  });

  it('refuses to act on a single-model llama-server, saying how to start it so it can', async () => {
    const refused = await gateway.api('POST', '/api/v1/models/laptop-gguf/unload', { servers: [ids['laptop']] });
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toMatch(/laptop cannot do that: it runs the one model it was started with; start llama-server without a model \(router mode/);
  });
});

describe('a llama.cpp router’s capacity', () => {
  let gateway2: TestGateway;
  let slotted: LlamaCppRouterFake;
  const stream = (model: string) =>
    fetch(`${gateway2.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, stream: true, max_tokens: 8, messages: [{ role: 'user', content: 'hold a slot' }] }),
    }).then(async (response) => ({ status: response.status, text: await response.text() }));
  const metrics = async () => (await gateway2.api('GET', '/metrics')).text;

  beforeAll(async () => {
    // Each child is a llama-server with four slots (what its /slots lists), generating slowly enough to fill them.
    [gateway2, slotted] = await Promise.all([
      startTestGateway(),
      startLlamaCppRouterFake({
        models: [{ id: 'busy-gguf', loaded: true }, { id: 'idle-gguf', loaded: true }, { id: 'cold-gguf' }],
        childBehaviour: { tokenIntervalMs: 40, capacity: { slots: 4 } },
        apiKey: 'sk-router',
      }),
    ]);
    expect((await gateway2.api('POST', '/api/v1/model-servers', { name: 'router', base_url: slotted.url, api_key: 'sk-router' })).status).toBe(201);
    await gateway2.api('POST', '/api/v1/model-servers/health-check-all');
  });

  afterAll(async () => {
    await gateway2.stop();
    await slotted.stop();
  });

  it('is each loaded model’s own slots, read through the router without loading anything', async () => {
    const text = await metrics();
    expect(text).toMatch(/^llm_deployment_capacity\{server="router",model="busy-gguf"\} 4$/m);
    expect(text).toMatch(/^llm_deployment_capacity\{server="router",model="idle-gguf"\} 4$/m);
    expect(text).not.toMatch(/llm_deployment_capacity\{server="router",model="cold-gguf"\}/);
    expect(slotted.statusOf('cold-gguf')).toBe('unloaded');
    expect(slotted.requests.map((request) => request.path)).toContain('/slots?model=busy-gguf&autoload=false');
    expect(slotted.requests.filter((request) => request.path.startsWith('/slots')).every((request) => request.headers.authorization === 'Bearer sk-router')).toBe(true);
  });

  it('loads and unloads with the server’s key', async () => {
    const loaded = await gateway2.api('POST', '/api/v1/models/cold-gguf/load', { servers: 'all' });
    expect((await waitFor(async () => {
      const view = (await gateway2.api('GET', `/api/v1/operations/${loaded.body.operation_id}`)).body;
      return view.status === 'running' ? null : view;
    }, 'the load to end')).status).toBe('succeeded');
    expect(slotted.statusOf('cold-gguf')).toBe('loaded');
    expect(slotted.requests.find((request) => request.path === '/models/load')?.headers.authorization).toBe('Bearer sk-router');
  });

  it('holds requests past a model’s slots in the gateway instead of piling them into its process', async () => {
    const answers = Array.from({ length: 8 }, () => stream('busy-gguf'));
    await waitFor(async () => /^llm_queue_depth\{model="busy-gguf"\} 4$/m.test(await metrics()), 'four requests to wait in the gateway');
    const results = await Promise.all(answers);
    expect(results.every((result) => result.status === 200 && result.text.includes('[DONE]'))).toBe(true);
    expect(slotted.child('busy-gguf')?.capacityReadings()).toMatchObject({ maxRunning: 4, maxWaiting: 0 });
  });
});
