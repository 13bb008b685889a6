import { afterEach, describe, expect, it } from 'vitest';
import { startOpenAIFake } from './openai-fake.ts';
import type { OpenAIFake, OpenAIFakeOptions } from './openai-fake.ts';
import { postJson } from './wire-readers.ts';

const fakes: OpenAIFake[] = [];
async function start(options: OpenAIFakeOptions = {}): Promise<OpenAIFake> {
  const fake = await startOpenAIFake(options);
  fakes.push(fake);
  return fake;
}
afterEach(async () => {
  await Promise.all(fakes.splice(0).map((f) => f.stop()));
});

/** Value of a Prometheus sample line such as `name{labels} 1.0`. */
function sample(text: string, name: string, labelFragment = ''): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(name) && (l[name.length] === '{' || l[name.length] === ' ') && l.includes(labelFragment));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('vLLM flavour', () => {
  it('GET /v1/models carries vLLM fields; setModels changes it', async () => {
    const fake = await start({ flavor: 'vllm' });
    const list = (await (await fetch(`${fake.url}/v1/models`)).json()) as { object: string; data: Record<string, unknown>[] };
    expect(list.object).toBe('list');
    expect(list.data.map((m) => m.id)).toEqual(['yi34b', 'deepseek', 'deepcoder', 'imp']);
    expect(list.data[0]).toMatchObject({ object: 'model', owned_by: 'vllm', root: 'yi34b', parent: null, max_model_len: 4096 });
    expect((list.data[0]?.permission as Record<string, unknown>[])[0]).toMatchObject({ object: 'model_permission', allow_sampling: true });
    fake.setModels([{ id: 'qwen', contextLength: 32768 }]);
    const after = (await (await fetch(`${fake.url}/v1/models`)).json()) as { data: Record<string, unknown>[] };
    expect(after.data.map((m) => [m.id, m.max_model_len])).toEqual([['qwen', 32768]]);
  });

  it('GET /health is 200 with an empty body; GET /version', async () => {
    const fake = await start({ flavor: 'vllm' });
    const health = await fetch(`${fake.url}/health`);
    expect(health.status).toBe(200);
    expect(await health.text()).toBe('');
    expect(await (await fetch(`${fake.url}/version`)).json()).toEqual({ version: '0.10.1' });
    expect((await fetch(`${fake.url}/props`)).status).toBe(404);
  });

  it('GET /metrics reflects in-flight requests; setLoad overrides', async () => {
    const fake = await start({ flavor: 'vllm', behaviour: { tokenIntervalMs: 30 } });
    const metrics = async (): Promise<string> => (await fetch(`${fake.url}/metrics`)).text();
    const idle = await metrics();
    expect(idle).toContain('# HELP vllm:num_requests_running');
    expect(idle).toContain('# TYPE vllm:num_requests_running gauge');
    expect(idle).toContain('python_gc_objects_collected_total{generation="0"}');
    expect(sample(idle, 'vllm:num_requests_running', 'model_name="imp"')).toBe(0);
    expect(sample(idle, 'vllm:kv_cache_usage_perc', 'model_name="imp"')).toBe(0);

    const controller = new AbortController();
    const res = await postJson(`${fake.url}/v1/chat/completions`, { model: 'imp', messages: [{ role: 'user', content: 'hi' }], stream: true }, { signal: controller.signal });
    await res.body?.getReader().read(); // first chunk arrived: the request is in flight
    const busy = await metrics();
    expect(sample(busy, 'vllm:num_requests_running', 'model_name="imp"')).toBe(1);
    expect(sample(busy, 'vllm:num_requests_running', 'model_name="yi34b"')).toBe(0);
    controller.abort();

    fake.setLoad({ running: 5, waiting: 3, kvCacheUsage: 0.875 });
    const loaded = await metrics();
    expect(sample(loaded, 'vllm:num_requests_running', 'model_name="imp"')).toBe(5);
    expect(sample(loaded, 'vllm:num_requests_waiting', 'model_name="imp"')).toBe(3);
    expect(sample(loaded, 'vllm:gpu_cache_usage_perc', 'model_name="imp"')).toBe(0.875);
    expect(sample(loaded, 'vllm:kv_cache_usage_perc', 'model_name="imp"')).toBe(0.875);
  });

  it('token counters grow with completed requests', async () => {
    const fake = await start({ flavor: 'vllm' });
    await (await postJson(`${fake.url}/v1/chat/completions`, { model: 'imp', messages: [{ role: 'user', content: 'hi' }] })).json();
    const text = await (await fetch(`${fake.url}/metrics`)).text();
    expect(text).toContain('# TYPE vllm:prompt_tokens_total counter');
    expect(sample(text, 'vllm:prompt_tokens_total', 'model_name="imp"')).toBeGreaterThan(0);
    expect(sample(text, 'vllm:generation_tokens_total', 'model_name="imp"')).toBe(6);
  });
});

describe('llama.cpp flavour', () => {
  it('GET /health, /props, /slots and /v1/models in llama-server shapes', async () => {
    const fake = await start({ flavor: 'llamacpp', models: [{ id: 'qwen2.5-7b', contextLength: 8192, embeddingDimension: 3584, parameterSize: '7.6B' }] });
    expect(await (await fetch(`${fake.url}/health`)).json()).toEqual({ status: 'ok' });
    const props = (await (await fetch(`${fake.url}/props`)).json()) as Record<string, unknown>;
    expect(props).toMatchObject({ default_generation_settings: { n_ctx: 8192 }, total_slots: 4, model_path: '/models/qwen2.5-7b.gguf' });
    expect(typeof props.chat_template).toBe('string');
    const slots = (await (await fetch(`${fake.url}/slots`)).json()) as Record<string, unknown>[];
    expect(slots.map((s) => [s.id, s.is_processing, s.n_ctx])).toEqual([0, 1, 2, 3].map((i) => [i, false, 8192]));
    const list = (await (await fetch(`${fake.url}/v1/models`)).json()) as { object: string; data: Record<string, unknown>[] };
    expect(list.object).toBe('list');
    expect(list.data[0]).toMatchObject({ id: 'qwen2.5-7b', object: 'model', owned_by: 'llamacpp', meta: { n_ctx_train: 8192, n_embd: 3584, n_params: 7.6e9 } });
    for (const k of ['vocab_type', 'n_vocab', 'size']) expect(list.data[0]?.meta).toHaveProperty(k);
  });

  it('GET /metrics has requests_processing/deferred; slots show busy work', async () => {
    const fake = await start({ flavor: 'llamacpp', behaviour: { tokenIntervalMs: 30 } });
    const text = await (await fetch(`${fake.url}/metrics`)).text();
    expect(text).toContain('# TYPE llamacpp:requests_processing gauge');
    expect(sample(text, 'llamacpp:requests_processing')).toBe(0);
    expect(sample(text, 'llamacpp:requests_deferred')).toBe(0);
    const controller = new AbortController();
    const res = await postJson(`${fake.url}/v1/chat/completions`, { messages: [{ role: 'user', content: 'hi' }], stream: true }, { signal: controller.signal });
    await res.body?.getReader().read();
    expect(sample(await (await fetch(`${fake.url}/metrics`)).text(), 'llamacpp:requests_processing')).toBe(1);
    const slots = (await (await fetch(`${fake.url}/slots`)).json()) as { is_processing: boolean }[];
    expect(slots.filter((s) => s.is_processing)).toHaveLength(1);
    controller.abort();
    fake.setLoad({ running: 2, waiting: 4 });
    const loaded = await (await fetch(`${fake.url}/metrics`)).text();
    expect([sample(loaded, 'llamacpp:requests_processing'), sample(loaded, 'llamacpp:requests_deferred')]).toEqual([2, 4]);
  });
});

describe('generic flavour', () => {
  it('serves only /v1: /metrics, /props and /health are 404', async () => {
    const fake = await start();
    for (const path of ['/metrics', '/props', '/health']) {
      const res = await fetch(`${fake.url}${path}`);
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({ error: { type: 'invalid_request_error' } });
    }
    const list = (await (await fetch(`${fake.url}/v1/models`)).json()) as { data: Record<string, unknown>[] };
    expect(list.data[0]).toEqual({ id: 'yi34b', object: 'model', created: expect.any(Number) as number, owned_by: 'system' });
  });
});
