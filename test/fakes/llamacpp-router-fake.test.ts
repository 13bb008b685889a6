import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../support/wait-for.ts';
import { startLlamaCppRouterFake } from './llamacpp-router-fake.ts';
import type { LlamaCppRouterFake, LlamaCppRouterFakeOptions } from './llamacpp-router-fake.ts';
import { errorCode, postJson, readStream, sseData, sseJson } from './wire-readers.ts';

// The router proxies over real sockets to real single-model fakes, so every
// assertion here is about what crossed the wire, at the router or at a child.
const routers: LlamaCppRouterFake[] = [];
async function start(options: LlamaCppRouterFakeOptions = {}): Promise<LlamaCppRouterFake> {
  const router = await startLlamaCppRouterFake(options);
  routers.push(router);
  return router;
}
afterEach(async () => {
  await Promise.all(routers.splice(0).map((r) => r.stop()));
});

const messages = [{ role: 'user', content: 'hi' }];
const TWO_LOADED = [{ id: 'alpha', loaded: true }, { id: 'beta', loaded: true }, { id: 'gamma' }];

async function post(router: LlamaCppRouterFake, path: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const res = await postJson(`${router.url}${path}`, body, { headers });
  return { status: res.status, body: await res.json() };
}
async function get(router: LlamaCppRouterFake, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any; type: string | null }> {
  const res = await fetch(`${router.url}${path}`, { headers });
  const type = res.headers.get('content-type');
  return { status: res.status, type, body: type?.includes('json') === true ? await res.json() : await res.text() };
}
async function listed(router: LlamaCppRouterFake): Promise<Record<string, any>> {
  const list = (await get(router, '/v1/models')).body;
  return Object.fromEntries(list.data.map((m: any) => [m.id, m.status]));
}
const error400 = (message: string) => ({ error: { code: 400, message, type: 'invalid_request_error' } });
const args = (name: string) => ['llama-server', '-m', `/models/${name}.gguf`];

describe('llama.cpp router fake: listing and its own answers', () => {
  it('lists every model of --models-dir, sorted by name, each with its status', async () => {
    const router = await start();
    const list = (await get(router, '/v1/models')).body;
    expect(list.object).toBe('list');
    expect(list.data.map((m: any) => m.id)).toEqual(['llama-3.2-3b', 'phi-4-mini', 'qwen2.5-7b']);
    expect(list.data[2]).toEqual({
      id: 'qwen2.5-7b',
      object: 'model',
      owned_by: 'llamacpp',
      created: expect.any(Number),
      in_cache: false,
      path: '/models/qwen2.5-7b.gguf',
      status: { value: 'loaded', args: args('qwen2.5-7b') },
    });
    expect(list.data[0].status).toEqual({ value: 'unloaded', args: args('llama-3.2-3b') });
    expect((await get(router, '/models')).body).toEqual({ ...list, data: list.data.map((m: any) => ({ ...m, created: expect.any(Number) })) });
    expect((await get(router, '/health')).body).toEqual({ status: 'ok' });
  });

  it('answers GET /props itself as a router, and passes /props?model= to the child', async () => {
    const router = await start({ modelsMax: 3, autoload: false });
    expect((await get(router, '/props')).body).toEqual({
      role: 'router',
      max_instances: 3,
      models_autoload: false,
      model_alias: 'llama-server',
      model_path: 'none',
      default_generation_settings: { params: {}, n_ctx: 0 },
      build_info: 'b7000-fake',
    });
    const child = await get(router, '/props?model=qwen2.5-7b');
    expect(child.body).toMatchObject({ model_path: '/models/qwen2.5-7b.gguf', total_slots: 4 });
    expect(router.child('qwen2.5-7b')?.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /props?model=qwen2.5-7b']);
  });
});

describe('llama.cpp router fake: routing', () => {
  it('sends a chat and a native /completion to the child of the model they name, which answers', async () => {
    const router = await start({ models: TWO_LOADED });
    const chat = await post(router, '/v1/chat/completions', { model: 'beta', messages });
    expect(chat).toMatchObject({ status: 200, body: { object: 'chat.completion', model: 'beta', choices: [{ message: { content: 'Hello from beta: you said hi' } }] } });
    const native = await post(router, '/completion', { model: 'alpha', prompt: 'once' });
    expect(native).toMatchObject({ status: 200, body: { content: 'Hello from alpha: you said once', stop: true } });
    expect(router.child('alpha')?.nativeCompletions).toBe(1);
    expect(router.child('alpha')?.requests.map((r) => r.path)).toEqual(['/completion']);
    // The child got the client's body as sent, model included.
    expect(router.child('beta')?.requests).toMatchObject([{ method: 'POST', path: '/v1/chat/completions', body: { model: 'beta', messages } }]);
  });

  it('streams SSE through as the child writes it, and a client leaving cancels the child call', async () => {
    const router = await start({ models: TWO_LOADED });
    const child = router.child('alpha');
    await child?.setBehaviour({ tokenIntervalMs: 15 });
    let childBusyAtFirstChunk: boolean | undefined;
    const res = await postJson(`${router.url}/v1/chat/completions`, { model: 'alpha', messages, stream: true });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const read = await readStream(res, () => {
      childBusyAtFirstChunk ??= (child?.inflightCount() ?? 0) > 0;
    });
    // Not buffered: the first bytes arrived while the child was still generating.
    expect(childBusyAtFirstChunk).toBe(true);
    expect(read.chunks).toBeGreaterThan(3);
    expect(sseData(read.text).at(-1)).toBe('[DONE]');
    const text = (sseJson(read.text) as any[]).map((c) => c.choices[0]?.delta?.content ?? '').join('');
    expect(text).toBe('Hello from alpha: you said hi');

    // The next token is far off, so only the abort itself (not the router's next write failing) can end the child call in time.
    await child?.setBehaviour({ tokenIntervalMs: 30_000 });
    const controller = new AbortController();
    const left = await postJson(`${router.url}/v1/chat/completions`, { model: 'alpha', messages, stream: true }, { signal: controller.signal });
    const reader = left.body?.getReader();
    await reader?.read();
    controller.abort();
    await waitFor(() => child?.abortedCount() === 1, 'the child call to be cancelled', 10_000);
  });

  it('refuses a request without a model, or naming one it does not have', async () => {
    const router = await start();
    expect(await post(router, '/v1/chat/completions', { messages })).toEqual({ status: 400, body: error400('model name is missing from the request') });
    expect(await post(router, '/v1/chat/completions', { model: 'nope', messages })).toEqual({ status: 400, body: error400("model 'nope' not found") });
    // Paths it does not know are handled the same way: routed by a model they do not name.
    expect(await post(router, '/nowhere', {})).toEqual({ status: 400, body: error400('model name is missing from the request') });
    // Every POST begins by parsing the body as JSON.
    const empty = await fetch(`${router.url}/v1/chat/completions`, { method: 'POST' });
    expect(empty.status).toBe(500);
    expect(((await empty.json()) as any).error).toMatchObject({ code: 500, type: 'server_error', message: expect.stringContaining('parse error') });
  });

  it('takes a GET’s model from ?model=, passing path and query on to the child', async () => {
    const router = await start();
    expect(await get(router, '/slots')).toMatchObject({ status: 400, body: error400('model name is missing from the request') });
    const slots = await get(router, '/slots?model=qwen2.5-7b');
    expect(slots.status).toBe(200);
    expect(slots.body).toHaveLength(4);
    expect(slots.body[0]).toMatchObject({ id: 0, n_ctx: 4096, is_processing: false });
    const metrics = await get(router, '/metrics?model=qwen2.5-7b');
    expect(metrics.type).toMatch(/^text\/plain/);
    expect(metrics.body).toContain('llamacpp:requests_processing');
    expect(router.child('qwen2.5-7b')?.requests.map((r) => r.path)).toEqual(['/slots?model=qwen2.5-7b', '/metrics?model=qwen2.5-7b']);
  });
});

describe('llama.cpp router fake: loading and unloading', () => {
  it('autoloads a model a request names, once even for two requests at a time, and answers from it', async () => {
    const router = await start();
    expect(router.statusOf('phi-4-mini')).toBe('unloaded');
    const [first, second] = await Promise.all([
      post(router, '/v1/chat/completions', { model: 'phi-4-mini', messages }),
      post(router, '/completion', { model: 'phi-4-mini', prompt: 'again' }),
    ]);
    expect(first).toMatchObject({ status: 200, body: { choices: [{ message: { content: 'Hello from phi-4-mini: you said hi' } }] } });
    expect(second).toMatchObject({ status: 200, body: { content: 'Hello from phi-4-mini: you said again' } });
    expect(router.statusOf('phi-4-mini')).toBe('loaded');
    expect(router.loads).toEqual(['phi-4-mini']);
  });

  it('with autoload off, refuses a model that is not loaded, unless the request says ?autoload=true', async () => {
    const router = await start({ autoload: false });
    expect(await post(router, '/v1/chat/completions', { model: 'phi-4-mini', messages })).toEqual({ status: 400, body: error400('model is not loaded') });
    expect(await get(router, '/slots?model=phi-4-mini')).toMatchObject({ status: 400, body: error400('model is not loaded') });
    expect(router.loads).toEqual([]);
    expect((await post(router, '/v1/chat/completions?autoload=true', { model: 'phi-4-mini', messages })).status).toBe(200);
    expect(router.statusOf('phi-4-mini')).toBe('loaded');
    const on = await start();
    expect(await post(on, '/v1/chat/completions?autoload=0', { model: 'phi-4-mini', messages })).toEqual({ status: 400, body: error400('model is not loaded') });
  });

  it('POST /models/load answers at once and loads in the background; a second load is refused', async () => {
    const router = await start({ loadMs: 50 });
    expect(await post(router, '/models/load', { model: 'phi-4-mini' })).toEqual({ status: 200, body: { success: true } });
    expect(router.statusOf('phi-4-mini')).toBe('loading');
    expect((await listed(router))['phi-4-mini']).toEqual({ value: 'loading', args: args('phi-4-mini') });
    expect(router.child('phi-4-mini')).toBeUndefined();
    expect(await post(router, '/models/load', { model: 'phi-4-mini' })).toEqual({ status: 400, body: error400('model is already running') });
    await waitFor(() => router.statusOf('phi-4-mini') === 'loaded', 'phi-4-mini to load');
    expect((await listed(router))['phi-4-mini']).toEqual({ value: 'loaded', args: args('phi-4-mini') });
    expect((await fetch(`${router.child('phi-4-mini')?.url ?? ''}/health`)).status).toBe(200);
    expect(await post(router, '/models/load', { model: 'phi-4-mini' })).toEqual({ status: 400, body: error400('model is already running') });
    expect(await post(router, '/models/load', { model: 'nope' })).toEqual({ status: 404, body: { error: { code: 404, message: 'model is not found', type: 'not_found_error' } } });
  });

  it('POST /models/unload stops the child: the model turns unloaded and its port refuses', async () => {
    const router = await start();
    const childUrl = router.child('qwen2.5-7b')?.url ?? '';
    expect((await fetch(`${childUrl}/health`)).status).toBe(200);
    expect(await post(router, '/models/unload', { model: 'qwen2.5-7b' })).toEqual({ status: 200, body: { success: true } });
    await waitFor(() => router.statusOf('qwen2.5-7b') === 'unloaded', 'qwen2.5-7b to unload');
    expect(router.child('qwen2.5-7b')).toBeUndefined();
    expect(errorCode(await fetch(`${childUrl}/health`).catch((err: unknown) => err))).toBe('ECONNREFUSED');
    expect((await listed(router))['qwen2.5-7b']).toEqual({ value: 'unloaded', args: args('qwen2.5-7b') });
    expect(router.unloads).toEqual(['qwen2.5-7b']);
    expect(await post(router, '/models/unload', { model: 'qwen2.5-7b' })).toEqual({ status: 400, body: error400('model is not running') });
    expect(await post(router, '/models/unload', { model: 'nope' })).toEqual({ status: 400, body: error400('model is not found') });
  });

  it('reports a load whose child exited with code 1, and answers 503 to a request that autoloads it', async () => {
    const router = await start({ failToLoad: ['phi-4-mini'] });
    expect(await post(router, '/models/load', { model: 'phi-4-mini' })).toEqual({ status: 200, body: { success: true } });
    await waitFor(() => router.statusOf('phi-4-mini') === 'unloaded', 'the failed load to end');
    expect((await listed(router))['phi-4-mini']).toEqual({ value: 'unloaded', args: args('phi-4-mini'), failed: true, exit_code: 1 });
    expect(await post(router, '/v1/chat/completions', { model: 'phi-4-mini', messages })).toEqual({
      status: 503,
      body: { error: { code: 503, message: 'model failed to load', type: 'unavailable_error' } },
    });
    expect(router.child('phi-4-mini')).toBeUndefined();
    expect(router.loads).toEqual(['phi-4-mini', 'phi-4-mini']);
  });

  it('past --models-max unloads the model whose last POST (or load) is oldest; GETs do not count as use', async () => {
    const router = await start({ models: TWO_LOADED, modelsMax: 2 });
    // beta was loaded after alpha, but alpha has been used since, so beta is the one to go.
    expect((await post(router, '/v1/chat/completions', { model: 'alpha', messages })).status).toBe(200);
    expect((await get(router, '/slots?model=beta')).status).toBe(200);
    expect(await post(router, '/models/load', { model: 'gamma' })).toEqual({ status: 200, body: { success: true } });
    await waitFor(() => router.statusOf('gamma') === 'loaded', 'gamma to load');
    expect([router.statusOf('alpha'), router.statusOf('beta')]).toEqual(['loaded', 'unloaded']);
    expect(router.unloads).toEqual(['beta']);
    // An autoload makes room the same way: now alpha's last use is the oldest.
    expect((await post(router, '/v1/chat/completions', { model: 'beta', messages })).status).toBe(200);
    expect([router.statusOf('alpha'), router.statusOf('beta'), router.statusOf('gamma')]).toEqual(['unloaded', 'loaded', 'loaded']);
    expect(router.unloads).toEqual(['beta', 'alpha']);
  });
});

describe('llama.cpp router fake: API key and lifecycle', () => {
  it('with --api-key guards all but health and the model list, and the children see the key', async () => {
    const router = await start({ apiKey: 'sk-router' });
    const auth = { authorization: 'Bearer sk-router' };
    expect((await get(router, '/health')).status).toBe(200);
    expect((await get(router, '/v1/models')).status).toBe(200);
    expect((await get(router, '/models')).status).toBe(200);
    expect(await get(router, '/props')).toMatchObject({ status: 401, body: { error: { code: 401, message: 'Invalid API Key', type: 'authentication_error' } } });
    expect((await post(router, '/v1/chat/completions', { model: 'phi-4-mini', messages })).status).toBe(401);
    expect((await post(router, '/models/load', { model: 'phi-4-mini' })).status).toBe(401);
    expect(router.loads).toEqual([]); // refused before routing: nothing was autoloaded
    expect((await post(router, '/v1/chat/completions', { model: 'qwen2.5-7b', messages }, { authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await post(router, '/v1/chat/completions', { model: 'qwen2.5-7b', messages }, auth)).status).toBe(200);
    expect(router.child('qwen2.5-7b')?.requests[0]?.headers.authorization).toBe('Bearer sk-router');
    // A child started by the router enforces the same key.
    expect((await fetch(`${router.child('qwen2.5-7b')?.url ?? ''}/props`)).status).toBe(401);
  });

  it('stop() takes the children down with the router', async () => {
    const router = await start({ models: TWO_LOADED });
    const urls = [router.child('alpha')?.url ?? '', router.child('beta')?.url ?? ''];
    await router.stop();
    for (const url of urls) expect(errorCode(await fetch(`${url}/health`).catch((err: unknown) => err))).toBe('ECONNREFUSED');
    expect([router.statusOf('alpha'), router.statusOf('beta')]).toEqual(['unloaded', 'unloaded']);
  });
});
