import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOllamaFake, startOpenAIFake, startRerankerFake, startTeiFake, type OllamaFake, type OpenAIFake, type RerankerFake, type TeiFake } from '../fakes/index.ts';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';

let gateway: TestGateway;
let ollama: OllamaFake;
let vllm: OpenAIFake;
let tei: TeiFake;
let teiReranker: TeiFake;
let reranker: RerankerFake;
let client: OpenAI;

beforeAll(async () => {
  [gateway, ollama, vllm, tei, teiReranker, reranker] = await Promise.all([
    startTestGateway(),
    startOllamaFake(),
    startOpenAIFake({ flavor: 'vllm', apiKey: 'sk-upstream-vllm' }),
    startTeiFake({ modelId: 'general', dimension: 384 }),
    startTeiFake({ kind: 'reranker', modelId: 'bge-reranker-base' }),
    startRerankerFake({ models: [{ id: 'jina-reranker-v2', capabilities: ['rerank'] }] }),
  ]);
  for (const body of [
    { name: 'primary', base_url: ollama.url },
    { name: 'secondary', base_url: vllm.url, api_key: 'sk-upstream-vllm' },
    { name: 'orchestration', base_url: tei.url },
    { name: 'tei-rerank', base_url: teiReranker.url },
    { name: 'cohere-rerank', base_url: reranker.url },
  ]) {
    const response = await gateway.api('POST', '/api/v1/model-servers', body);
    expect(response.status, response.text).toBe(201);
  }
  const checks = (await gateway.api('POST', '/api/v1/model-servers/health-check-all')).body.data;
  expect(checks.every((check: { health_status: string }) => check.health_status === 'online')).toBe(true);
  client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: adminKey, maxRetries: 0 });
});

afterAll(async () => {
  await Promise.all([gateway.stop(), ollama.stop(), vllm.stop(), tei.stop(), teiReranker.stop(), reranker.stop()]);
});

describe('the stock openai client against Switchyard', () => {
  it('chats without streaming on vLLM, saying which server answered', async () => {
    const { data, response } = await client.chat.completions.create({ model: 'yi34b', messages: [{ role: 'user', content: 'hello there' }] }).withResponse();
    expect(data.choices[0]?.message.content).toContain('Hello from yi34b');
    expect(data.usage?.total_tokens).toBeGreaterThan(0);
    expect(response.headers.get('x-switchyard-server')).toBe('secondary');
    expect(response.headers.get('x-switchyard-model')).toBe('yi34b');
    expect(response.headers.get('x-switchyard-attempts')).toBe('1');
    expect(response.headers.get('x-request-id')).toBeTruthy();
    // The caller's key never reaches the server; the server's stored key does.
    const forwarded = vllm.requests.at(-1);
    expect(forwarded?.headers['authorization']).toBe('Bearer sk-upstream-vllm');
  });

  it('chats with Ollama by its short name', async () => {
    const completion = await client.chat.completions.create({ model: 'mixtral', messages: [{ role: 'user', content: 'hi' }] });
    expect(completion.choices[0]?.message.content).toContain('Hello from mixtral');
  });

  it('streams a chat token by token and ends cleanly', async () => {
    const stream = await client.chat.completions.create({ model: 'deepseek', messages: [{ role: 'user', content: 'tell me more' }], stream: true, stream_options: { include_usage: true } });
    let text = '';
    let chunks = 0;
    let usage = 0;
    for await (const chunk of stream) {
      chunks++;
      text += chunk.choices[0]?.delta.content ?? '';
      usage = chunk.usage?.completion_tokens ?? usage;
    }
    expect(chunks).toBeGreaterThan(3);
    expect(text).toContain('Hello from deepseek');
    expect(usage).toBeGreaterThan(0);
  });

  it('serves legacy completions, streamed and not', async () => {
    const completion = await client.completions.create({ model: 'imp', prompt: 'Once upon a time', max_tokens: 5 });
    expect(completion.choices[0]?.text.length).toBeGreaterThan(0);
    const stream = await client.completions.create({ model: 'phi3', prompt: 'Once', stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? '';
    expect(text.length).toBeGreaterThan(0);
  });

  it('embeds through TEI and Ollama, as floats and as base64', async () => {
    const floats = await client.embeddings.create({ model: 'general', input: ['one', 'two'], encoding_format: 'float' });
    expect(floats.data).toHaveLength(2);
    expect(floats.data[0]?.embedding).toHaveLength(384);
    // The client asks for base64 by default and decodes it itself.
    const decoded = await client.embeddings.create({ model: 'general', input: 'one' });
    expect(decoded.data[0]?.embedding).toHaveLength(384);
    expect(decoded.data[0]?.embedding[0]).toBeCloseTo(floats.data[0]?.embedding[0] as number, 6);
    const ollamaVectors = await client.embeddings.create({ model: 'nomic-embed-text', input: 'hello' });
    expect(ollamaVectors.data[0]?.embedding).toHaveLength(768);
    expect(ollama.requests.some((request) => request.path === '/api/embed')).toBe(true);
  });

  it('lists the fleet\'s models with where they live', async () => {
    const page = await client.models.list();
    const ids = page.data.map((model) => model.id);
    expect(ids).toEqual(expect.arrayContaining(['mixtral:latest', 'yi34b', 'general', 'bge-reranker-base', 'jina-reranker-v2']));
    const yi = page.data.find((model) => model.id === 'yi34b') as unknown as { owned_by: string; switchyard: { servers: string[] } };
    expect(yi.owned_by).toBe('vllm');
    expect(yi.switchyard.servers).toEqual(['secondary']);
  });

  it('answers an unknown model with 404 naming close models, without calling any server', async () => {
    const before = vllm.requests.length + ollama.requests.length;
    const error = await client.chat.completions.create({ model: 'mixtrall', messages: [{ role: 'user', content: 'x' }] }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect((error as InstanceType<typeof OpenAI.NotFoundError>).message).toMatch(/mixtral/);
    expect(vllm.requests.length + ollama.requests.length).toBe(before);
  });
});

describe('every OpenAI-compatible kind', () => {
  it('chats and streams through llama.cpp and a generic OpenAI server too', async () => {
    const llamacpp = await startOpenAIFake({ flavor: 'llamacpp', models: [{ id: 'local-gguf', contextLength: 8192 }] });
    const generic = await startOpenAIFake({ flavor: 'generic', models: [{ id: 'hosted-model', contextLength: 8192 }] });
    try {
      await gateway.api('POST', '/api/v1/model-servers', { name: 'laptop', base_url: llamacpp.url });
      await gateway.api('POST', '/api/v1/model-servers', { name: 'hosted', base_url: generic.url });
      await gateway.api('POST', '/api/v1/model-servers/health-check-all');
      for (const model of ['local-gguf', 'hosted-model']) {
        const completion = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] });
        expect(completion.choices[0]?.message.content).toContain(`Hello from ${model}`);
        const stream = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }], stream: true });
        let text = '';
        for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
        expect(text).toContain(`Hello from ${model}`);
      }
    } finally {
      for (const server of (await gateway.api('GET', '/api/v1/model-servers')).body.data) {
        if (server.name === 'laptop' || server.name === 'hosted') await gateway.api('DELETE', `/api/v1/model-servers/${server.id}`);
      }
      await Promise.all([llamacpp.stop(), generic.stop()]);
    }
  });

  it('never lets a request steer where the gateway sends it', async () => {
    await client.chat.completions.create({
      model: 'yi34b',
      messages: [{ role: 'user', content: 'hi' }],
      // @ts-expect-error: fields some gateways honour; Switchyard drops them
      api_base: 'http://169.254.169.254',
      base_url: 'http://evil.example',
      custom_host: 'http://evil.example',
    });
    const forwarded = vllm.requests.at(-1)?.body as Record<string, unknown>;
    expect(forwarded).toMatchObject({ model: 'yi34b' });
    for (const field of ['api_base', 'base_url', 'custom_host']) expect(forwarded).not.toHaveProperty(field);
  });
});

describe('rerank', () => {
  it('translates TEI /rerank and passes Cohere-style answers through', async () => {
    const documents = ['the cat sat', 'quantum physics', 'a cat and a hat'];
    for (const model of ['bge-reranker-base', 'jina-reranker-v2']) {
      const response = await fetch(`${gateway.url}/v1/rerank`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model, query: 'cat', documents, top_n: 2 }),
      });
      expect(response.status).toBe(200);
      const body = (await response.json()) as { results: Array<{ index: number; relevance_score: number }> };
      expect(body.results).toHaveLength(2);
      expect(body.results[0]?.relevance_score).toBeGreaterThanOrEqual(body.results[1]?.relevance_score as number);
      expect(documents[body.results[0]?.index as number]).toMatch(/cat/);
    }
  });
});

describe('bad input on /v1', () => {
  it.each([
    ['malformed JSON', '{"model": "yi34b",'],
    ['a missing model', { messages: [{ role: 'user', content: 'x' }] }],
    ['messages that are not an array', { model: 'yi34b', messages: 'hello' }],
    ['a negative max_tokens', { model: 'yi34b', messages: [{ role: 'user', content: 'x' }], max_tokens: -5 }],
    ['a __proto__ key', '{"model":"yi34b","messages":[{"role":"user","content":"x"}],"__proto__":{"polluted":true}}'],
  ])('rejects %s with a 400 in OpenAI\'s shape and calls no server', async (_label, body) => {
    const before = vllm.requests.length;
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    expect(response.status).toBe(400);
    const error = ((await response.json()) as { error: Record<string, unknown> }).error;
    expect(Object.keys(error).sort()).toEqual(['code', 'message', 'param', 'type']);
    expect(vllm.requests.length).toBe(before);
  });

  it.each([
    ['an empty input list', { model: 'general', input: [] }, /^input must NOT have fewer than 1 items\.$/],
    ['an input of the wrong type', { model: 'general', input: 42 }, /^input must be string or array\.$/],
  ])('says what is wrong with %s on /v1/embeddings, not only the first shape it could have had', async (_label, body, message) => {
    const response = await fetch(`${gateway.url}/v1/embeddings`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(400);
    const error = ((await response.json()) as { error: { message: string; param: string } }).error;
    expect(error.message).toMatch(message);
    expect(error.param).toBe('input');
  });

  it('answers a body over the limit with 413 and a missing key with 401', async () => {
    const big = await fetch(`${gateway.url}/v1/embeddings`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'general', input: 'x'.repeat(11 * 1024 * 1024) }),
    });
    expect(big.status).toBe(413);
    const anonymous = await fetch(`${gateway.url}/v1/models`);
    expect(anonymous.status).toBe(401);
  });
});
