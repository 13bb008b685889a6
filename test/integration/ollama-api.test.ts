import { Ollama } from 'ollama';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOllamaFake, startOpenAIFake, startTeiFake, type OllamaFake, type OpenAIFake, type TeiFake } from '../fakes/index.ts';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';
import { askUntil } from '../support/ask-until.ts';

// Ollama's own clients against the whole fleet: models served by Ollama get
// their requests natively, the others (vLLM, TEI) through OpenAI's API.
let gateway: TestGateway;
let ollama: OllamaFake;
let vllm: OpenAIFake;
let tei: TeiFake;
let client: Ollama;

const weatherTool = {
  type: 'function',
  function: { name: 'get_weather', description: 'The weather in a city', parameters: { type: 'object', properties: { city: { type: 'string' }, unit: { type: 'string' } }, required: ['city'] } },
};

async function keyWith(scopes: string[], models?: string[]): Promise<string> {
  const created = await gateway.api('POST', '/api/v1/keys', { name: `ollama-${scopes.join('-')}-${Math.random().toString(36).slice(2, 6)}`, scopes, ...(models === undefined ? {} : { models }) });
  expect(created.status, created.text).toBe(201);
  return created.body.key as string;
}

function clientWith(key: string): Ollama {
  return new Ollama({ host: gateway.url, headers: { Authorization: `Bearer ${key}` } });
}

beforeAll(async () => {
  [gateway, ollama, vllm, tei] = await Promise.all([startTestGateway(), startOllamaFake(), startOpenAIFake({ flavor: 'vllm' }), startTeiFake({ modelId: 'bge-small', dimension: 384 })]);
  for (const body of [
    { name: 'ollama-1', base_url: ollama.url },
    { name: 'vllm-1', base_url: vllm.url },
    { name: 'tei-1', base_url: tei.url },
  ]) {
    const response = await gateway.api('POST', '/api/v1/model-servers', body);
    expect(response.status, response.text).toBe(201);
  }
  const checks = (await gateway.api('POST', '/api/v1/model-servers/health-check-all')).body.data;
  expect(checks.every((check: { health_status: string }) => check.health_status === 'online')).toBe(true);
  client = clientWith(adminKey);
});

afterAll(async () => {
  await Promise.all([gateway.stop(), ollama.stop(), vllm.stop(), tei.stop()]);
});

function lastRequestTo(fake: OllamaFake | OpenAIFake | TeiFake, path: string) {
  return [...fake.requests].reverse().find((request) => request.path === path);
}

describe('listing the fleet as Ollama does', () => {
  it('lists every model of every kind in /api/tags, Ollama-served ones with their own facts', async () => {
    const { models } = await client.list();
    const names = models.map((model) => model.name);
    expect(names).toEqual(expect.arrayContaining(['mixtral:latest', 'nomic-embed-text:latest', 'yi34b', 'deepseek', 'bge-small']));
    const mixtral = models.find((model) => model.name === 'mixtral:latest');
    expect(mixtral).toMatchObject({ model: 'mixtral:latest', size: 26442481545, details: { family: 'llama', parameter_size: '46.7B', format: 'gguf' } });
    expect(mixtral?.digest).toMatch(/^[0-9a-f]{64}$/);
    const yi = models.find((model) => model.name === 'yi34b');
    expect(yi).toMatchObject({ size: 0, digest: '', details: { format: '' } });
  });

  it('lists only what a key may use', async () => {
    const key = await keyWith(['inference'], ['yi34b']);
    const { models } = await clientWith(key).list();
    expect(models.map((model) => model.name)).toEqual(['yi34b']);
    await expect(clientWith(key).show({ model: 'mixtral' })).rejects.toMatchObject({ status_code: 404 });
  });

  it('shows an Ollama-served model as its server does, and any other from the fleet\'s index', async () => {
    const shown = await client.show({ model: 'mixtral' });
    expect(shown.capabilities).toEqual(expect.arrayContaining(['completion', 'tools']));
    expect(shown.model_info).toMatchObject({ 'general.architecture': 'llama', 'llama.context_length': 32768, 'general.parameter_count': expect.any(Number) });
    // The server's own answer: its license and modelfile, which the index does not keep.
    expect(shown.license).toContain('Apache License');
    expect(shown.modelfile).toContain('ollama show');
    expect([...ollama.requests].reverse().find((request) => request.path === '/api/show')?.body).toEqual({ model: 'mixtral:latest' });
    const yi = await client.show({ model: 'yi34b' });
    expect(yi.capabilities).toContain('completion');
    expect(yi.model_info).toMatchObject({ 'unknown.context_length': 4096 });
  });

  it('answers /api/ps with the loaded models and /api/version with a version clients accept', async () => {
    const { models } = await client.ps();
    expect(models.map((model) => model.name)).toEqual(expect.arrayContaining(['mixtral:latest', 'yi34b']));
    expect(models.map((model) => model.name)).not.toContain('hermes:latest');
    const { version } = await client.version();
    expect(version).toMatch(/^0\.\d+\.\d+$/);
  });

  it('answers an unknown model with 404 in Ollama\'s error shape', async () => {
    const response = await fetch(`${gateway.url}/api/chat`, { method: 'POST', headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }] }) });
    expect(response.status).toBe(404);
    const body = (await response.json()) as Record<string, unknown>;
    expect(typeof body['error']).toBe('string');
    expect(body['error']).toContain('no-such-model');
  });

  it('builds /api/show from the index when the Ollama server does not answer it', async () => {
    await ollama.setFault({ kind: 'status', status: 500 }, ['/api/show']);
    try {
      const shown = await client.show({ model: 'hermes' });
      expect(shown.license).toBe('');
      expect(shown.model_info).toMatchObject({ 'general.architecture': 'llama', 'llama.context_length': 8192 });
    } finally {
      await ollama.clearFault();
    }
  });

  it('reads the body as JSON whatever its content type says, as Ollama does (curl -d sends a form type)', async () => {
    const response = await fetch(`${gateway.url}/api/chat`, { method: 'POST', headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/x-www-form-urlencoded' }, body: JSON.stringify({ model: 'yi34b', messages: [{ role: 'user', content: 'hi' }], stream: false }) });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { done: boolean }).done).toBe(true);
    const garbage = await fetch(`${gateway.url}/api/chat`, { method: 'POST', headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'text/plain' }, body: 'not json' });
    expect(garbage.status).toBe(400);
    expect(typeof ((await garbage.json()) as { error: unknown }).error).toBe('string');
  });

  it('refuses a request without a key, in Ollama\'s shape', async () => {
    const response = await fetch(`${gateway.url}/api/tags`);
    expect(response.status).toBe(401);
    expect(typeof ((await response.json()) as { error: unknown }).error).toBe('string');
  });
});

describe('chat and generate', () => {
  it('passes a chat for an Ollama-served model natively, keep_alive and options untouched', async () => {
    const answer = await client.chat({ model: 'mixtral', messages: [{ role: 'user', content: 'hello' }], keep_alive: '10m', options: { num_ctx: 8192, mirostat: 1 }, stream: false });
    expect(answer.message.content).toContain('Hello from mixtral');
    expect(answer.done).toBe(true);
    expect(answer.eval_count).toBeGreaterThan(0);
    const sent = lastRequestTo(ollama, '/api/chat');
    expect(sent?.body).toMatchObject({ model: 'mixtral:latest', keep_alive: '10m', options: { num_ctx: 8192, mirostat: 1 }, stream: false });
  });

  it('streams a native chat line by line', async () => {
    const stream = await client.chat({ model: 'mixtral', messages: [{ role: 'user', content: 'tell me more' }], stream: true });
    let text = '';
    let parts = 0;
    let last: { done: boolean; done_reason?: string; eval_count?: number } | null = null;
    for await (const part of stream) {
      parts++;
      text += part.message.content;
      last = part;
    }
    expect(parts).toBeGreaterThan(2);
    expect(text).toContain('Hello from mixtral');
    expect(last).toMatchObject({ done: true, done_reason: 'stop' });
    expect(last?.eval_count).toBeGreaterThan(0);
  });

  it('translates a chat for a vLLM model to Chat Completions and back, timings measured', async () => {
    const answer = await client.chat({ model: 'yi34b', messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hello' }], options: { temperature: 0.2, top_k: 20, num_predict: 3, seed: 7, num_ctx: 4096, stop: ['\n\n'] }, format: 'json', stream: false });
    expect(answer.model).toBe('yi34b');
    expect(answer.message.role).toBe('assistant');
    expect(answer.message.content.length).toBeGreaterThan(0);
    expect(answer.done_reason).toBe('length');
    expect(answer.eval_count).toBe(3);
    expect(answer.prompt_eval_count).toBeGreaterThan(0);
    expect(answer.total_duration).toBeGreaterThan(0);
    const sent = lastRequestTo(vllm, '/v1/chat/completions');
    expect(sent?.body).toMatchObject({ model: 'yi34b', temperature: 0.2, top_k: 20, max_tokens: 3, seed: 7, stop: ['\n\n'], response_format: { type: 'json_object' }, messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hello' }] });
    expect((sent?.body as Record<string, unknown>)['num_ctx']).toBeUndefined();
  });

  it('streams a translated chat as NDJSON with Ollama\'s closing line', async () => {
    const stream = await client.chat({ model: 'deepseek', messages: [{ role: 'user', content: 'stream please' }], stream: true });
    let text = '';
    let last: { done: boolean; done_reason?: string; eval_count?: number; prompt_eval_duration?: number; eval_duration?: number } | null = null;
    for await (const part of stream) {
      text += part.message.content;
      last = part;
    }
    expect(text).toContain('Hello from deepseek');
    expect(last).toMatchObject({ done: true, done_reason: 'stop' });
    expect(last?.eval_count).toBeGreaterThan(0);
    expect(last?.prompt_eval_duration).toBeGreaterThan(0);
    expect(last?.eval_duration).toBeGreaterThan(0);
    expect(lastRequestTo(vllm, '/v1/chat/completions')?.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
  });

  it('refuses, by name, an option a translated request cannot honour; an Ollama-served model takes it', async () => {
    const response = await fetch(`${gateway.url}/api/chat`, { method: 'POST', headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'yi34b', messages: [{ role: 'user', content: 'hi' }], options: { mirostat: 2 }, stream: false }) });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toContain('options.mirostat');
  });

  it('generates on both kinds, streamed and not', async () => {
    const native = await client.generate({ model: 'hermes', prompt: 'write a haiku', stream: false });
    expect(native.response).toContain('Hello from hermes');
    expect(lastRequestTo(ollama, '/api/generate')?.body).toMatchObject({ model: 'hermes:latest', prompt: 'write a haiku' });
    const translated = await client.generate({ model: 'yi34b', prompt: 'write a haiku', system: 'you are a poet', stream: false });
    expect(translated.response).toContain('Hello from yi34b');
    expect(translated.done).toBe(true);
    expect(lastRequestTo(vllm, '/v1/chat/completions')?.body).toMatchObject({ messages: [{ role: 'system', content: 'you are a poet' }, { role: 'user', content: 'write a haiku' }] });
    let text = '';
    for await (const part of await client.generate({ model: 'yi34b', prompt: 'again', stream: true })) text += part.response;
    expect(text).toContain('Hello from yi34b');
    const raw = await client.generate({ model: 'yi34b', prompt: '<s>[INST] hi [/INST]', raw: true, stream: false });
    expect(raw.response ?? '').not.toBe('');
    expect(lastRequestTo(vllm, '/v1/completions')?.body).toMatchObject({ prompt: '<s>[INST] hi [/INST]' });
  });

  it('answers an empty prompt (a load request) without error on every kind', async () => {
    const translated = await client.generate({ model: 'yi34b', prompt: '', stream: false });
    expect(translated).toMatchObject({ done: true, done_reason: 'load' });
    const native = await client.generate({ model: 'hermes', prompt: '', stream: false, keep_alive: '1h' });
    expect(native).toMatchObject({ done: true, done_reason: 'load' });
  });

  it('sends images to a translated model as OpenAI image parts', async () => {
    const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex').toString('base64');
    await client.chat({ model: 'yi34b', messages: [{ role: 'user', content: 'what is this?', images: [png] }], stream: false });
    const sent = lastRequestTo(vllm, '/v1/chat/completions')?.body as { messages: Array<{ content: unknown }> };
    expect(sent.messages[0]?.content).toEqual([{ type: 'text', text: 'what is this?' }, { type: 'image_url', image_url: { url: `data:image/png;base64,${png}` } }]);
  });

  it('does a tool round trip through a translated model, streamed and not', async () => {
    const asked = await client.chat({ model: 'yi34b', messages: [{ role: 'user', content: 'use get_weather for Paris' }], tools: [weatherTool], stream: false });
    expect(asked.message.tool_calls).toEqual([{ function: { name: 'get_weather', arguments: { city: 'Paris', unit: 'celsius' } } }]);
    const streamed = await client.chat({ model: 'yi34b', messages: [{ role: 'user', content: 'use get_weather for Paris' }], tools: [weatherTool], stream: true });
    const calls: unknown[] = [];
    for await (const part of streamed) calls.push(...(part.message.tool_calls ?? []));
    expect(calls).toEqual([{ function: { name: 'get_weather', arguments: { city: 'Paris', unit: 'celsius' } } }]);
    const answered = await client.chat({
      model: 'yi34b',
      messages: [{ role: 'user', content: 'use get_weather for Paris' }, asked.message, { role: 'tool', content: '{"temperature": 21}', tool_name: 'get_weather' }],
      tools: [weatherTool],
      stream: false,
    });
    expect(answered.message.content.length).toBeGreaterThan(0);
    const sent = lastRequestTo(vllm, '/v1/chat/completions')?.body as { messages: Array<Record<string, unknown>> };
    const callId = (sent.messages[1]?.['tool_calls'] as Array<{ id: string }>)[0]?.id;
    expect(sent.messages[1]).toMatchObject({ role: 'assistant', tool_calls: [{ type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris","unit":"celsius"}' } }] });
    expect(sent.messages[2]).toEqual({ role: 'tool', tool_call_id: callId, content: '{"temperature": 21}' });
  });
});

describe('embeddings', () => {
  it('embeds natively on Ollama and through the embedding pipeline elsewhere', async () => {
    const native = await client.embed({ model: 'nomic-embed-text', input: ['one', 'two'] });
    expect(native.embeddings).toHaveLength(2);
    expect(native.embeddings[0]).toHaveLength(768);
    expect(lastRequestTo(ollama, '/api/embed')?.body).toMatchObject({ model: 'nomic-embed-text:latest', input: ['one', 'two'] });
    const translated = await client.embed({ model: 'bge-small', input: 'hello' });
    expect(translated.embeddings).toHaveLength(1);
    expect(translated.embeddings[0]).toHaveLength(384);
    expect(translated.prompt_eval_count).toBeGreaterThan(0);
    const legacy = await client.embeddings({ model: 'bge-small', prompt: 'hello' });
    expect(legacy.embedding).toHaveLength(384);
    expect(legacy.embedding).toEqual(translated.embeddings[0]);
  });
});

describe('the fleet\'s lifecycle through Ollama\'s API', () => {
  it('refuses pull, delete and copy to an inference key, sending nothing upstream', async () => {
    const inference = clientWith(await keyWith(['inference']));
    const before = ollama.requests.length;
    await expect(inference.pull({ model: 'qwen2.5:0.5b', stream: false })).rejects.toMatchObject({ status_code: 403 });
    await expect(inference.delete({ model: 'phi3' })).rejects.toMatchObject({ status_code: 403 });
    await expect(inference.copy({ source: 'phi3', destination: 'phi3-copy' })).rejects.toMatchObject({ status_code: 403 });
    expect(ollama.requests.slice(before).filter((request) => request.method !== 'GET')).toEqual([]);
  });

  it('pulls onto the fleet with Ollama\'s progress stream, then copies and deletes', async () => {
    const progress: Array<{ status: string; total?: number; completed?: number }> = [];
    for await (const part of await client.pull({ model: 'qwen2.5:0.5b', stream: true })) progress.push(part);
    expect(progress[0]?.status).toBe('pulling manifest');
    expect(progress.at(-1)?.status).toBe('success');
    expect(progress.some((part) => (part.total ?? 0) > 0)).toBe(true);
    expect(ollama.lookup('qwen2.5:0.5b')).toBeDefined();
    await gateway.api('POST', '/api/v1/model-servers/health-check-all');
    expect((await client.copy({ source: 'qwen2.5:0.5b', destination: 'qwen-copy' })).status).toBe('success');
    expect(ollama.lookup('qwen-copy')).toBeDefined();
    expect((await client.delete({ model: 'qwen-copy' })).status).toBe('success');
    expect(ollama.lookup('qwen-copy')).toBeUndefined();
    await expect(client.delete({ model: 'never-heard-of-it' })).rejects.toMatchObject({ status_code: 404 });
  });
});

describe('failures, as Ollama\'s clients see them', () => {
  let backupOllama: OllamaFake;
  let backupVllm: OpenAIFake;
  beforeAll(async () => {
    // `shared` runs on an Ollama server and on a vLLM server: an attempt may be native, the next translated.
    [backupOllama, backupVllm] = await Promise.all([
      startOllamaFake({ models: [{ id: 'shared', capabilities: ['completion'], contextLength: 8192, family: 'llama', loaded: true }] }),
      startOpenAIFake({ flavor: 'vllm', models: [{ id: 'shared:latest', capabilities: ['completion'], contextLength: 8192 }] }),
    ]);
    for (const body of [{ name: 'ollama-shared', base_url: backupOllama.url }, { name: 'vllm-shared', base_url: backupVllm.url }]) {
      expect((await gateway.api('POST', '/api/v1/model-servers', body)).status).toBe(201);
    }
    await gateway.api('POST', '/api/v1/model-servers/health-check-all');
  });
  afterAll(async () => {
    await Promise.all([backupOllama.stop(), backupVllm.stop()]);
  });

  it('fails over from an Ollama server that is down to a vLLM one, answering in Ollama\'s shape', async () => {
    await backupOllama.setFault({ kind: 'status', status: 503 });
    try {
      const asked = () => backupOllama.requests.some((request) => request.path === '/api/chat');
      await askUntil(asked, async () => {
        const answer = await client.chat({ model: 'shared:latest', messages: [{ role: 'user', content: 'anyone there?' }], stream: false });
        expect(answer.message.content).toContain('Hello from shared');
        expect(answer.done).toBe(true);
      });
      let text = '';
      for await (const part of await client.chat({ model: 'shared:latest', messages: [{ role: 'user', content: 'stream it' }], stream: true })) text += part.message.content;
      expect(text).toContain('Hello from shared');
      expect(backupVllm.requests.some((request) => request.path === '/v1/chat/completions')).toBe(true);
      // The native attempt was made and failed before the translated one answered.
      expect(backupOllama.requests.some((request) => request.path === '/api/chat')).toBe(true);
    } finally {
      await backupOllama.clearFault();
    }
  });

  it('ends a native stream that breaks mid-way with Ollama\'s error line', async () => {
    await backupOllama.setFault({ kind: 'drop-mid-stream', afterChunks: 2 }, ['/api/chat']);
    await backupVllm.setFault({ kind: 'status', status: 503 });
    try {
      const response = await fetch(`${gateway.url}/api/chat`, { method: 'POST', headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'shared:latest', messages: [{ role: 'user', content: 'a long story please' }] }) });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toContain('application/x-ndjson');
      const lines = (await response.text()).trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(lines.length).toBeGreaterThan(1);
      expect(lines.slice(0, -1).every((line) => line['done'] === false)).toBe(true);
      expect(typeof lines.at(-1)?.['error']).toBe('string');
    } finally {
      await Promise.all([backupOllama.clearFault(), backupVllm.clearFault()]);
    }
  });

  it('ends a translated stream that breaks mid-way with Ollama\'s error line, which the client raises', async () => {
    await backupVllm.setFault({ kind: 'drop-mid-stream', afterChunks: 3 });
    await backupOllama.setFault({ kind: 'status', status: 503 });
    try {
      const stream = await client.chat({ model: 'shared:latest', messages: [{ role: 'user', content: 'a long story please' }], stream: true });
      let text = '';
      await expect((async () => {
        for await (const part of stream) text += part.message.content;
      })()).rejects.toThrow(/stream/i);
      expect(text.length).toBeGreaterThan(0);
    } finally {
      await Promise.all([backupOllama.clearFault(), backupVllm.clearFault()]);
    }
  });
});

describe('one engine behind every API', () => {
  it('records each request with api=ollama and counts it in llm_requests_total{api}', async () => {
    await gateway.gateway.usage.flush();
    const rows = await gateway.gateway.database.db.selectFrom('usage_records').select(['api', 'requested_model', 'status']).where('api', '=', 'ollama').execute();
    expect(rows.length).toBeGreaterThan(5);
    expect(rows.map((row) => row.requested_model)).toEqual(expect.arrayContaining(['mixtral', 'yi34b', 'nomic-embed-text', 'bge-small']));
    const metrics = await (await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${adminKey}` } })).text();
    expect(metrics).toMatch(/llm_requests_total\{[^}]*api="ollama"[^}]*\} \d+/);
  });
});
