import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startOllamaFake } from './ollama-fake.ts';
import type { OllamaFake } from './ollama-fake.ts';
import { ndjson, postJson, readStream, sseData, sseJson } from './wire-readers.ts';

let fake: OllamaFake;
beforeEach(async () => {
  fake = await startOllamaFake();
});
afterEach(async () => {
  await fake.stop();
});

const getJson = async (path: string): Promise<unknown> => (await fetch(`${fake.url}${path}`)).json();
const post = (path: string, body: unknown, method = 'POST'): Promise<Response> => postJson(`${fake.url}${path}`, body, { method });
const user = (content: string): { role: string; content: string }[] => [{ role: 'user', content }];

describe('ollama: discovery endpoints', () => {
  it('GET / and /api/version', async () => {
    const root = await fetch(fake.url);
    expect(root.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await root.text()).toBe('Ollama is running');
    expect(await getJson('/api/version')).toEqual({ version: '0.12.3' });
  });

  it('GET /api/tags lists models with :latest names, 64-hex digests and details', async () => {
    const tags = (await getJson('/api/tags')) as { models: Record<string, unknown>[] };
    expect(tags.models.map((m) => m.name)).toEqual(['mixtral:latest', 'hermes:latest', 'openchat:latest', 'phi3:latest', 'nomic-embed-text:latest']);
    const mixtral = tags.models[0];
    expect(mixtral).toMatchObject({ name: 'mixtral:latest', model: 'mixtral:latest', size: expect.any(Number) as number });
    expect(mixtral?.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(typeof mixtral?.modified_at).toBe('string');
    expect(mixtral?.details).toEqual({ parent_model: '', format: 'gguf', family: 'llama', families: ['llama'], parameter_size: '46.7B', quantization_level: 'Q4_0' });
  });

  it('reports a new digest for a model after a re-pull, in /api/tags and /api/ps', async () => {
    const digestOf = async (path: string) => ((await getJson(path)) as { models: Array<{ name: string; digest: string }> }).models.find((m) => m.name === 'mixtral:latest')?.digest;
    const before = await digestOf('/api/tags');
    fake.repull('mixtral', 'e'.repeat(64));
    expect(await digestOf('/api/tags')).toBe('e'.repeat(64));
    expect(await digestOf('/api/ps')).toBe('e'.repeat(64));
    expect(before).not.toBe('e'.repeat(64));
    fake.repull('mixtral', before as string);
  });

  it('setModels changes /api/tags and /v1/models', async () => {
    fake.setModels([{ id: 'qwen3:8b', capabilities: ['completion'] }]);
    const tags = (await getJson('/api/tags')) as { models: { name: string }[] };
    expect(tags.models.map((m) => m.name)).toEqual(['qwen3:8b']);
    expect(await getJson('/v1/models')).toEqual({ object: 'list', data: [{ id: 'qwen3:8b', object: 'model', created: expect.any(Number) as number, owned_by: 'library' }] });
  });

  it('POST /api/show returns model_info with context/embedding length and capabilities', async () => {
    const res = await post('/api/show', { model: 'mixtral' });
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const show = (await res.json()) as Record<string, unknown>;
    expect(show).toMatchObject({ capabilities: ['completion', 'tools'], details: { family: 'llama', parameter_size: '46.7B' } });
    expect(show.model_info).toMatchObject({ 'general.architecture': 'llama', 'llama.context_length': 32768, 'llama.embedding_length': 4096 });
    for (const key of ['license', 'modelfile', 'parameters', 'template', 'modified_at']) expect(show).toHaveProperty(key);
    const legacy = (await (await post('/api/show', { name: 'nomic-embed-text:latest' })).json()) as Record<string, unknown>;
    expect(legacy.model_info).toMatchObject({ 'nomic-bert.embedding_length': 768 });
    expect(legacy.capabilities).toEqual(['embedding']);
    const missing = await post('/api/show', { model: 'nope' });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: "model 'nope' not found" });
  });

  it('GET /api/ps lists loaded models; a chat request loads the model', async () => {
    const before = (await getJson('/api/ps')) as { models: Record<string, unknown>[] };
    expect(before.models.map((m) => m.name)).toEqual(['mixtral:latest']);
    expect(before.models[0]).toMatchObject({ model: 'mixtral:latest', size_vram: expect.any(Number) as number, context_length: 32768 });
    expect(Date.parse(String(before.models[0]?.expires_at))).toBeGreaterThan(Date.now());
    await post('/api/chat', { model: 'phi3', messages: user('hi'), stream: false });
    const after = (await getJson('/api/ps')) as { models: { name: string }[] };
    expect(after.models.map((m) => m.name)).toEqual(['mixtral:latest', 'phi3:latest']);
  });
});

describe('ollama: generation', () => {
  it('POST /api/chat streams NDJSON by default and ends with a done:true summary', async () => {
    const res = await post('/api/chat', { model: 'mixtral', messages: user('hello there') });
    expect(res.headers.get('content-type')).toBe('application/x-ndjson');
    const lines = ndjson((await readStream(res)).text) as Record<string, unknown>[];
    const last = lines.at(-1);
    const parts = lines.slice(0, -1);
    expect(parts.length).toBeGreaterThan(2);
    for (const p of parts) expect(p).toMatchObject({ model: 'mixtral', message: { role: 'assistant' }, done: false });
    expect(parts.map((p) => (p.message as { content: string }).content).join('')).toBe('Hello from mixtral: you said hello there');
    expect(last).toMatchObject({ model: 'mixtral', message: { role: 'assistant', content: '' }, done: true, done_reason: 'stop', eval_count: parts.length });
    for (const k of ['created_at', 'total_duration', 'load_duration', 'prompt_eval_count', 'prompt_eval_duration', 'eval_duration']) expect(last).toHaveProperty(k);
  });

  it('stream:false returns one object; num_predict caps tokens with done_reason length', async () => {
    const res = await post('/api/chat', { model: 'mixtral:latest', messages: user('x'), stream: false, options: { num_predict: 2 } });
    expect(await res.json()).toMatchObject({ model: 'mixtral:latest', message: { role: 'assistant', content: 'Hello from' }, done: true, done_reason: 'length', eval_count: 2 });
  });

  it('POST /api/generate uses `response` and includes context', async () => {
    const lines = ndjson((await readStream(await post('/api/generate', { model: 'hermes', prompt: 'why is the sky blue' }))).text) as Record<string, unknown>[];
    expect(lines.slice(0, -1).map((l) => l.response).join('')).toBe('Hello from hermes: you said why is the sky blue');
    expect(lines.at(-1)).toMatchObject({ response: '', done: true, done_reason: 'stop', context: expect.any(Array) as unknown[] });
    const single = await (await post('/api/generate', { model: 'hermes', prompt: 'hi', stream: false })).json();
    expect(single).toMatchObject({ response: 'Hello from hermes: you said hi', done: true });
  });

  it('unknown model → 404 with the pull hint; embedding model cannot chat', async () => {
    const res = await post('/api/chat', { model: 'x', messages: user('hi') });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: 'model "x" not found, try pulling it first' });
    const emb = await post('/api/chat', { model: 'nomic-embed-text', messages: user('hi') });
    expect(emb.status).toBe(400);
  });
});

describe('ollama: embeddings, pull and delete', () => {
  it('POST /api/embed returns one vector per input; legacy /api/embeddings returns `embedding`', async () => {
    const body = (await (await post('/api/embed', { model: 'nomic-embed-text', input: ['a', 'b'] })).json()) as { embeddings: number[][] };
    expect(body).toMatchObject({ model: 'nomic-embed-text', prompt_eval_count: 2 });
    expect(body).toHaveProperty('total_duration');
    expect(body.embeddings).toHaveLength(2);
    expect(body.embeddings[0]).toHaveLength(768);
    const legacy = (await (await post('/api/embeddings', { model: 'nomic-embed-text', prompt: 'a' })).json()) as { embedding: number[] };
    expect(legacy.embedding).toEqual(body.embeddings[0]);
    // Ollama's embed handler asks no capability: a chat model embeds, at its embedding_length.
    const fromChatModel = (await (await post('/api/embed', { model: 'mixtral', input: 'a' })).json()) as { embeddings: number[][] };
    expect(fromChatModel.embeddings[0]).toHaveLength(4096);
  });

  it('POST /api/pull streams progress and adds the model; DELETE /api/delete removes it', async () => {
    const lines = ndjson((await readStream(await post('/api/pull', { model: 'llama3.2' }))).text) as Record<string, unknown>[];
    expect(lines[0]).toEqual({ status: 'pulling manifest' });
    const progress = lines.filter((l) => typeof l.digest === 'string');
    expect(progress.length).toBeGreaterThan(0);
    expect(progress[0]).toMatchObject({ status: expect.stringMatching(/^pulling [0-9a-f]{12}$/) as string, total: expect.any(Number) as number, completed: 0 });
    expect(lines.at(-1)).toEqual({ status: 'success' });
    const names = async (): Promise<string[]> => ((await getJson('/api/tags')) as { models: { name: string }[] }).models.map((m) => m.name);
    expect(await names()).toContain('llama3.2:latest');
    const del = await post('/api/delete', { model: 'llama3.2' }, 'DELETE');
    expect(del.status).toBe(200);
    expect(await del.text()).toBe('');
    expect(await names()).not.toContain('llama3.2:latest');
    expect((await post('/api/delete', { model: 'llama3.2' }, 'DELETE')).status).toBe(404);
  });

  it('pull honours stream:false and a restricted catalog', async () => {
    fake.setPullCatalog([{ id: 'gemma3:4b' }]);
    expect(await (await post('/api/pull', { model: 'gemma3:4b', stream: false })).json()).toEqual({ status: 'success' });
    const bad = await post('/api/pull', { model: 'nope', stream: false });
    expect(bad.status).toBe(500);
    expect(await bad.json()).toEqual({ error: 'pull model manifest: file does not exist' });
  });
});

describe('ollama: model lifecycle', () => {
  it('pulls layer by layer: the model blob, then template, license and params, each with its own digest', async () => {
    const lines = ndjson((await readStream(await post('/api/pull', { model: 'qwen2.5:7b' }))).text) as Record<string, unknown>[];
    const digests = [...new Set(lines.map((line) => line.digest).filter((digest) => typeof digest === 'string'))];
    expect(digests).toHaveLength(4);
    for (const digest of digests) expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const blob = lines.filter((line) => line.digest === digests[0]);
    expect(blob.map((line) => line.completed)).toEqual([...blob.map((line) => line.completed as number)].sort((a, b) => a - b));
    expect(blob.at(-1)?.completed).toBe(blob.at(-1)?.total);
    expect(lines.slice(-3).map((line) => line.status)).toEqual(['verifying sha256 digest', 'writing manifest', 'success']);
  });

  it('fails a pull part-way with Ollama’s error line when scripted, and installs nothing', async () => {
    fake.setPullScript({ failAfterSteps: 2, failure: 'max retries exceeded: EOF' });
    const lines = ndjson((await readStream(await post('/api/pull', { model: 'qwen2.5:7b' }))).text) as Record<string, unknown>[];
    expect(lines.at(-1)).toEqual({ error: 'max retries exceeded: EOF' });
    expect(lines.filter((line) => typeof line.completed === 'number')).toHaveLength(2);
    expect(fake.lookup('qwen2.5:7b')).toBeUndefined();
  });

  it('records a pull the client abandoned as aborted, and keeps nothing', async () => {
    fake.setPullScript({ steps: 200, stepMs: 20 });
    const controller = new AbortController();
    const response = await fetch(`${fake.url}/api/pull`, { method: 'POST', body: JSON.stringify({ model: 'big:70b' }), signal: controller.signal });
    await (response.body as ReadableStream<Uint8Array>).getReader().read();
    controller.abort();
    await expect.poll(() => fake.requests.find((request) => request.path === '/api/pull')?.aborted, { timeout: 5_000 }).toBe(true);
    expect(fake.lookup('big:70b')).toBeUndefined();
  });

  it('copies a model under a new name with the same digest', async () => {
    expect((await post('/api/copy', { source: 'phi3', destination: 'phi3-copy' })).status).toBe(200);
    const tags = (await getJson('/api/tags')) as { models: Array<{ name: string; digest: string }> };
    expect(tags.models.find((model) => model.name === 'phi3-copy:latest')?.digest).toBe(tags.models.find((model) => model.name === 'phi3:latest')?.digest);
    expect((await post('/api/copy', { source: 'nope', destination: 'x' })).status).toBe(404);
  });

  it('loads and unloads through /api/generate with keep_alive; /api/ps follows with expires_at and size_vram', async () => {
    const loaded = (await (await post('/api/generate', { model: 'phi3', keep_alive: '1h', stream: false })).json()) as Record<string, unknown>;
    expect(loaded).toMatchObject({ response: '', done: true, done_reason: 'load' });
    const ps = (await getJson('/api/ps')) as { models: Array<{ name: string; expires_at: string; size_vram: number }> };
    const phi = ps.models.find((model) => model.name === 'phi3:latest');
    expect(Date.parse(phi?.expires_at ?? '') - Date.now()).toBeGreaterThan(59 * 60_000);
    expect(phi?.size_vram).toBeGreaterThan(0);
    await post('/api/generate', { model: 'phi3', keep_alive: -1, stream: false });
    expect(((await getJson('/api/ps')) as { models: Array<{ name: string; expires_at: string }> }).models.find((model) => model.name === 'phi3:latest')?.expires_at).toMatch(/^2318-/);
    await post('/api/generate', { model: 'phi3', keep_alive: 0, stream: false });
    expect(((await getJson('/api/ps')) as { models: Array<{ name: string }> }).models.map((model) => model.name)).not.toContain('phi3:latest');
  });
});

describe('ollama: OpenAI-compatible /v1', () => {
  it('GET /v1/models lists :latest ids owned by library', async () => {
    const list = (await getJson('/v1/models')) as { object: string; data: Record<string, unknown>[] };
    expect(list.object).toBe('list');
    expect(list.data[0]).toEqual({ id: 'mixtral:latest', object: 'model', created: expect.any(Number) as number, owned_by: 'library' });
  });

  it('POST /v1/chat/completions streams SSE with [DONE] and answers non-streaming', async () => {
    const res = await post('/v1/chat/completions', { model: 'mixtral', messages: user('hi'), stream: true, stream_options: { include_usage: true } });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const text = (await readStream(res)).text;
    expect(sseData(text).at(-1)).toBe('[DONE]');
    const chunks = sseJson(text) as { object: string; choices: { delta: { content?: string }; finish_reason: string | null }[]; usage?: unknown }[];
    expect(chunks.every((c) => c.object === 'chat.completion.chunk')).toBe(true);
    expect(chunks.at(-1)?.choices).toEqual([]);
    expect(chunks.at(-1)?.usage).toMatchObject({ completion_tokens: expect.any(Number) as number });
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe('stop');
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('Hello from mixtral: you said hi');
    const single = await (await post('/v1/chat/completions', { model: 'mixtral', messages: user('hi') })).json();
    expect(single).toMatchObject({ object: 'chat.completion', model: 'mixtral', choices: [{ index: 0, message: { role: 'assistant', content: 'Hello from mixtral: you said hi' }, finish_reason: 'stop' }] });
    const missing = await post('/v1/chat/completions', { model: 'nope', messages: user('hi') });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: { message: 'model "nope" not found, try pulling it first', type: 'not_found_error', param: null, code: null } });
  });

  it('POST /v1/completions and /v1/embeddings', async () => {
    expect(await (await post('/v1/completions', { model: 'phi3', prompt: 'once' })).json()).toMatchObject({ object: 'text_completion', choices: [{ text: 'Hello from phi3: you said once', finish_reason: 'stop' }] });
    const emb = (await (await post('/v1/embeddings', { model: 'nomic-embed-text', input: ['a', 'b'] })).json()) as { data: { index: number; embedding: number[] }[] };
    expect(emb).toMatchObject({ object: 'list', model: 'nomic-embed-text', usage: { prompt_tokens: 2, total_tokens: 2 } });
    expect(emb.data.map((d) => d.index)).toEqual([0, 1]);
    expect(emb.data[0]?.embedding).toHaveLength(768);
  });
});
