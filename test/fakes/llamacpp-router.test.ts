import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../support/wait-for.ts';
import { startLlamaCppRouterFake, type LlamaCppRouterFake, type LlamaCppRouterFakeOptions } from './llamacpp-router.ts';

let router: LlamaCppRouterFake | undefined;

afterEach(async () => {
  await router?.stop();
  router = undefined;
});

async function start(options: LlamaCppRouterFakeOptions = {}): Promise<LlamaCppRouterFake> {
  router = await startLlamaCppRouterFake(options);
  return router;
}

const post = async (fake: LlamaCppRouterFake, path: string, body: unknown) => {
  const answer = await fetch(`${fake.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: answer.status, body: (await answer.json()) as any };
};
const statuses = async (fake: LlamaCppRouterFake) =>
  Object.fromEntries(((await (await fetch(`${fake.url}/v1/models`)).json()) as any).data.map((model: any) => [model.id, model.status]));

describe('the llama.cpp router fake', () => {
  it('lists every model with its status, and answers its own /props as a router', async () => {
    const fake = await start();
    expect(await statuses(fake)).toEqual({
      'qwen2.5-7b': { value: 'loaded', args: ['llama-server', '-m', '/models/qwen2.5-7b.gguf'] },
      'llama-3.2-3b': { value: 'unloaded', args: ['llama-server', '-m', '/models/llama-3.2-3b.gguf'] },
      'phi-4-mini': { value: 'unloaded', args: ['llama-server', '-m', '/models/phi-4-mini.gguf'] },
    });
    expect(await (await fetch(`${fake.url}/props`)).json()).toMatchObject({ role: 'router', max_instances: 4, default_generation_settings: { n_ctx: 0 } });
  });

  it('routes a POST by its model to that model’s child, streams included, and refuses one without a model or with an unknown one', async () => {
    const fake = await start();
    const native = await post(fake, '/completion', { model: 'qwen2.5-7b', prompt: 'hi' });
    expect(native).toMatchObject({ status: 200, body: { content: 'Hello from qwen2.5-7b: you said hi', stop: true } });
    expect(fake.child('qwen2.5-7b')?.nativeCompletions).toBe(1);
    const stream = await fetch(`${fake.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'qwen2.5-7b', stream: true, messages: [{ role: 'user', content: 'hi' }] }) });
    expect(stream.headers.get('content-type')).toMatch(/text\/event-stream/);
    expect((await stream.text()).split('\n\n').filter((event) => event.startsWith('data: ')).length).toBeGreaterThan(3);
    expect(await post(fake, '/completion', { prompt: 'hi' })).toEqual({ status: 400, body: { error: { code: 400, message: 'model name is missing from the request', type: 'invalid_request_error' } } });
    expect((await post(fake, '/completion', { model: 'nope', prompt: 'hi' })).body.error.message).toBe("model 'nope' not found");
  });

  it('asks for its API key on everything but health and the model lists', async () => {
    const fake = await start({ apiKey: 'sk-router' });
    expect((await fetch(`${fake.url}/v1/models`)).status).toBe(200);
    expect((await post(fake, '/models/load', { model: 'phi-4-mini' })).status).toBe(401);
    const allowed = await fetch(`${fake.url}/slots?model=qwen2.5-7b`, { headers: { authorization: 'Bearer sk-router' } });
    expect(allowed.status).toBe(200);
  });

  it('takes a GET’s model from the query', async () => {
    const fake = await start();
    expect((await fetch(`${fake.url}/slots`)).status).toBe(400);
    const slots = await (await fetch(`${fake.url}/slots?model=qwen2.5-7b`)).json();
    expect(Array.isArray(slots)).toBe(true);
  });

  it('loads a model a request names when autoload is on, and refuses when it is off', async () => {
    const fake = await start();
    expect((await post(fake, '/v1/chat/completions', { model: 'phi-4-mini', messages: [{ role: 'user', content: 'x' }] })).status).toBe(200);
    expect(fake.statusOf('phi-4-mini')).toBe('loaded');
    await fake.stop();
    const off = await start({ autoload: false });
    expect((await post(off, '/v1/chat/completions', { model: 'phi-4-mini', messages: [{ role: 'user', content: 'x' }] })).body.error.message).toBe('model is not loaded');
  });

  it('loads and unloads on request, answering before the work is done', async () => {
    const fake = await start();
    expect(await post(fake, '/models/load', { model: 'phi-4-mini' })).toEqual({ status: 200, body: { success: true } });
    expect(fake.statusOf('phi-4-mini')).toBe('loading');
    expect((await post(fake, '/models/load', { model: 'phi-4-mini' })).body.error.message).toBe('model is already running');
    await waitFor(() => fake.statusOf('phi-4-mini') === 'loaded', 'phi-4-mini to load');
    const childUrl = fake.child('phi-4-mini')?.url as string;
    expect(await post(fake, '/models/unload', { model: 'phi-4-mini' })).toEqual({ status: 200, body: { success: true } });
    await waitFor(() => fake.statusOf('phi-4-mini') === 'unloaded', 'phi-4-mini to unload');
    await expect(fetch(`${childUrl}/health`)).rejects.toThrow();
    expect((await post(fake, '/models/unload', { model: 'phi-4-mini' })).body.error.message).toBe('model is not running');
    expect((await post(fake, '/models/load', { model: 'nope' })).status).toBe(404);
  });

  it('reports a load whose process failed', async () => {
    const fake = await start({ failToLoad: ['phi-4-mini'] });
    await post(fake, '/models/load', { model: 'phi-4-mini' });
    await waitFor(() => fake.statusOf('phi-4-mini') === 'unloaded', 'the failed load to end');
    expect((await statuses(fake))['phi-4-mini']).toMatchObject({ value: 'unloaded', failed: true, exit_code: 1 });
  });

  it('evicts the least recently used model past --models-max', async () => {
    const fake = await start({ models: [{ id: 'a', loaded: true }, { id: 'b', loaded: true }, { id: 'c' }], modelsMax: 2 });
    // b was loaded after a, but a was used since, so b is the one to go.
    await post(fake, '/v1/chat/completions', { model: 'a', messages: [{ role: 'user', content: 'x' }] });
    await post(fake, '/models/load', { model: 'c' });
    await waitFor(() => fake.statusOf('c') === 'loaded', 'c to load');
    expect([fake.statusOf('a'), fake.statusOf('b')]).toEqual(['loaded', 'unloaded']);
  });
});
