import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFleetFile } from '../../src/config/fleet-file.ts';
import { startOpenAIFake, type OpenAIFake } from '../fakes/index.ts';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';

let gateway: TestGateway;
let laptop: OpenAIFake;
let client: OpenAI;
let serverId: string;
const reply = 'Native llama says hello to you';

beforeAll(async () => {
  [gateway, laptop] = await Promise.all([
    startTestGateway(),
    startOpenAIFake({ flavor: 'llamacpp', apiKey: 'sk-llama', models: [{ id: 'local-gguf', contextLength: 8192 }] }),
  ]);
  laptop.setReply(reply);
  client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: adminKey, maxRetries: 0 });
});

afterAll(async () => {
  await Promise.all([gateway.stop(), laptop.stop()]);
});

const rawStream = (path: string, body: Record<string, unknown>) =>
  fetch(`${gateway.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ ...body, stream: true }) }).then((response) => response.text());

describe('llama.cpp as its own kind', () => {
  it('is detected by /props', async () => {
    const created = await gateway.api('POST', '/api/v1/model-servers', { name: 'laptop', base_url: laptop.url, api_key: 'sk-llama' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ server_type: 'llamacpp', detection: { detected_by: 'GET /props', flavor: null, version: 'b6000-fake' } });
    serverId = created.body.id;
  });

  it('probes models, context size, busy slots and deferred requests', async () => {
    laptop.setLoad({ running: 3, waiting: 2 });
    const [check] = (await gateway.api('POST', '/api/v1/model-servers/health-check-all')).body.data;
    expect(check).toMatchObject({ health_status: 'online', models_found: 1 });
    const record = (await gateway.api('GET', `/api/v1/model-servers/${serverId}`)).body;
    expect(record.load).toMatchObject({ running_requests: 3, waiting_requests: 2, loaded_models: ['local-gguf'] });
    const [model] = (await gateway.api('GET', `/api/v1/model-servers/${serverId}/models`)).body.data;
    expect(model).toMatchObject({ id: 'local-gguf', context_length: 8192, capabilities: ['chat', 'completion'] });
    const metrics = (await gateway.api('GET', `/api/v1/model-servers/${serverId}/metrics`)).body;
    expect(metrics.latest.details).toMatchObject({ total_slots: 4 });
    const paths = new Set(laptop.requests.map((request) => request.path));
    for (const path of ['/v1/models', '/props', '/slots', '/metrics']) expect(paths).toContain(path);
    laptop.clearLoad();
  });

  it('routes around a server whose slots are busy (its capacity is what the kind reports)', async () => {
    const busy = await startOpenAIFake({ flavor: 'llamacpp', models: [{ id: 'local-gguf', contextLength: 8192 }] });
    try {
      busy.setLoad({ running: 4, waiting: 3 });
      await gateway.api('POST', '/api/v1/model-servers', { name: 'busy-laptop', server_type: 'llamacpp', base_url: busy.url });
      await gateway.api('POST', '/api/v1/model-servers/health-check-all');
      busy.resetRequests();
      laptop.resetRequests();
      for (let round = 0; round < 10; round++) await client.chat.completions.create({ model: 'local-gguf', messages: [{ role: 'user', content: 'hi' }] });
      expect(busy.requests.filter((request) => request.method === 'POST')).toHaveLength(0);
      expect(laptop.requests.filter((request) => request.path === '/v1/chat/completions')).toHaveLength(10);
    } finally {
      const record = (await gateway.api('GET', '/api/v1/model-servers')).body.data.find((server: { name: string }) => server.name === 'busy-laptop');
      await gateway.api('DELETE', `/api/v1/model-servers/${record.id}`);
      await busy.stop();
    }
  });

  it('chats over its OpenAI API with the stored key as a Bearer token', async () => {
    laptop.resetRequests();
    const answer = await client.chat.completions.create({ model: 'local-gguf', messages: [{ role: 'user', content: 'hi' }] });
    expect(answer.choices[0]?.message.content).toBe(reply);
    expect(laptop.requests[0]).toMatchObject({ path: '/v1/chat/completions', headers: { authorization: 'Bearer sk-llama' } });
  });

  it('sends plain completions to native /completion and answers in OpenAI shape with its exact token counts', async () => {
    laptop.resetRequests();
    const before = laptop.nativeCompletions;
    const answer = await client.completions.create({ model: 'local-gguf', prompt: 'Say something', max_tokens: 2, temperature: 0.1 });
    expect(laptop.nativeCompletions).toBe(before + 1);
    expect(laptop.requests[0]).toMatchObject({ path: '/completion', headers: { authorization: 'Bearer sk-llama' }, body: { prompt: 'Say something', n_predict: 2, temperature: 0.1, stream: false } });
    expect(laptop.requests[0]?.body).not.toHaveProperty('max_tokens');
    expect(answer).toMatchObject({ object: 'text_completion', model: 'local-gguf', choices: [{ index: 0, text: 'Native llama', finish_reason: 'length' }] });
    expect(answer.usage).toEqual({ prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 });
  });

  it('translates the native stream event by event, ending with exactly one [DONE]', async () => {
    const stream = await client.completions.create({ model: 'local-gguf', prompt: 'Say something', stream: true, stream_options: { include_usage: true } });
    let text = '';
    const finishes: Array<string | null> = [];
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.text ?? '';
      if (chunk.choices[0] !== undefined) finishes.push(chunk.choices[0].finish_reason);
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe(reply);
    expect(finishes.filter((finish) => finish !== null)).toEqual(['stop']);
    expect(usage).toMatchObject({ prompt_tokens: 5, completion_tokens: 6 });
    const events = (await rawStream('/v1/completions', { model: 'local-gguf', prompt: 'x' })).split('\n\n').filter((event) => event !== '');
    expect(events.filter((event) => event === 'data: [DONE]')).toHaveLength(1);
    expect(events.at(-1)).toBe('data: [DONE]');
    for (const event of events.slice(0, -1)) expect(JSON.parse(event.slice('data: '.length))).toMatchObject({ object: 'text_completion' });
  });

  it('ends a native stream that breaks off with one error event, never a [DONE]', async () => {
    await laptop.setFault({ kind: 'drop-mid-stream', afterChunks: 2 }, ['/completion']);
    try {
      const events = (await rawStream('/v1/completions', { model: 'local-gguf', prompt: 'x' })).split('\n\n').filter((event) => event !== '');
      expect(events).not.toContain('data: [DONE]');
      expect(JSON.parse((events.at(-1) as string).slice('data: '.length))).toHaveProperty('error.message', expect.stringMatching(/stream broke off/));
    } finally {
      await laptop.clearFault();
    }
  });

  it('uses /v1/completions for what the native endpoint cannot do (echo, logprobs, batches)', async () => {
    laptop.resetRequests();
    await client.completions.create({ model: 'local-gguf', prompt: ['one', 'two'] }).catch(() => undefined);
    await client.completions.create({ model: 'local-gguf', prompt: 'x', echo: true }).catch(() => undefined);
    expect(laptop.requests.map((request) => request.path)).toEqual(['/v1/completions', '/v1/completions']);
  });

  it('is accepted in the fleet file as server_type: llamacpp', () => {
    const fleet = parseFleetFile('servers:\n  - {name: laptop, server_type: llamacpp, base_url: "http://10.0.0.5:8080"}\n', 'fleet.yaml', {});
    expect(fleet.servers[0]?.server_type).toBe('llamacpp');
    expect(() => parseFleetFile('servers:\n  - {name: x, server_type: llama, base_url: "http://10.0.0.5:8080"}\n', 'fleet.yaml', {})).toThrow(/servers\.0\.server_type: must be one of auto, .*llamacpp/);
  });
});
