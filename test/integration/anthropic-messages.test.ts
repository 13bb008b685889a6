import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_OPENAI_MODELS, startOllamaFake, startOpenAIFake, type OllamaFake, type OpenAIFake } from '../fakes/index.ts';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';
import { askUntil } from '../support/ask-until.ts';

// The Anthropic SDK, unchanged, against the fleet: every model is translated
// to OpenAI Chat Completions and back by the gateway.
let gateway: TestGateway;
let ollama: OllamaFake;
let vllm: OpenAIFake;
let backup: OpenAIFake;
let client: Anthropic;

const weatherTool = { name: 'get_weather', description: 'The weather in a city', input_schema: { type: 'object' as const, properties: { city: { type: 'string' }, unit: { type: 'string' } }, required: ['city'] } };

beforeAll(async () => {
  [gateway, ollama, vllm, backup] = await Promise.all([
    // Failover here is shown by asking one prompt until it reaches a given server: routed by least in-flight, not by prefix.
    startTestGateway({ env: { SWITCHYARD_ROUTING_STRATEGY: 'least-inflight' } }),
    startOllamaFake(),
    startOpenAIFake({ flavor: 'vllm', models: [...DEFAULT_OPENAI_MODELS, { id: 'pair', capabilities: ['completion'], contextLength: 8192 }] }),
    // `pair` runs on two vLLM servers: failover and mid-stream breaks are tried on it.
    startOpenAIFake({ flavor: 'vllm', models: [{ id: 'pair', capabilities: ['completion'], contextLength: 8192 }] }),
  ]);
  for (const body of [
    { name: 'ollama-1', base_url: ollama.url },
    { name: 'vllm-1', base_url: vllm.url },
    { name: 'vllm-2', base_url: backup.url },
  ]) {
    const response = await gateway.api('POST', '/api/v1/model-servers', body);
    expect(response.status, response.text).toBe(201);
  }
  await gateway.api('POST', '/api/v1/model-servers/health-check-all');
  client = new Anthropic({ baseURL: gateway.url, apiKey: adminKey, maxRetries: 0 });
});

afterAll(async () => {
  await Promise.all([gateway.stop(), ollama.stop(), vllm.stop(), backup.stop()]);
});

function lastChatRequest(fake: OpenAIFake | OllamaFake): Record<string, unknown> {
  const request = [...fake.requests].reverse().find((entry) => entry.path === '/v1/chat/completions');
  return request?.body as Record<string, unknown>;
}

describe('messages', () => {
  it('answers a message in Anthropic\'s shape, sent to vLLM as Chat Completions', async () => {
    const message = await client.messages.create({
      model: 'yi34b',
      max_tokens: 64,
      system: 'You are terse.',
      messages: [{ role: 'user', content: 'hello' }],
      stop_sequences: ['END'],
      metadata: { user_id: 'user-7' },
      output_config: { format: { type: 'json_schema', schema: { type: 'object', properties: { greeting: { type: 'string' } } } } },
    });
    expect(message.id).toMatch(/^msg_/);
    expect(message.type).toBe('message');
    expect(message.role).toBe('assistant');
    expect(message.model).toBe('yi34b');
    expect(message.content[0]).toMatchObject({ type: 'text' });
    expect((message.content[0] as { text: string }).text).toContain('Hello from yi34b');
    expect(message.stop_reason).toBe('end_turn');
    expect(message.usage.input_tokens).toBeGreaterThan(0);
    expect(message.usage.output_tokens).toBeGreaterThan(0);
    expect(lastChatRequest(vllm)).toMatchObject({
      model: 'yi34b',
      max_tokens: 64,
      stop: ['END'],
      user: 'user-7',
      response_format: { type: 'json_schema', json_schema: { name: 'output', schema: { type: 'object', properties: { greeting: { type: 'string' } } } } },
      messages: [{ role: 'system', content: 'You are terse.' }, { role: 'user', content: 'hello' }],
    });
  });

  it('passes the sampling fields older clients send (temperature, top_p, top_k)', async () => {
    const response = await fetch(`${gateway.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': adminKey, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'yi34b', max_tokens: 16, temperature: 0.3, top_p: 0.9, top_k: 40, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(response.status).toBe(200);
    expect(lastChatRequest(vllm)).toMatchObject({ temperature: 0.3, top_p: 0.9, top_k: 40 });
  });

  it('says max_tokens when the answer was cut, on an Ollama-served model too', async () => {
    const message = await client.messages.create({ model: 'mixtral', max_tokens: 2, messages: [{ role: 'user', content: [{ type: 'text', text: 'tell me everything' }] }] });
    expect(message.stop_reason).toBe('max_tokens');
    expect(message.usage.output_tokens).toBe(2);
    expect(lastChatRequest(ollama)).toMatchObject({ model: 'mixtral:latest', max_tokens: 2 });
  });

  it('passes images as OpenAI image parts', async () => {
    const data = Buffer.from('89504e470d0a1a0a', 'hex').toString('base64');
    await client.messages.create({ model: 'yi34b', max_tokens: 16, messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data } }, { type: 'text', text: 'what is it?' }] }] });
    expect((lastChatRequest(vllm)['messages'] as Array<{ content: unknown }>)[0]?.content).toEqual([
      { type: 'image_url', image_url: { url: `data:image/png;base64,${data}` } },
      { type: 'text', text: 'what is it?' },
    ]);
  });

  it('streams with Anthropic\'s event sequence, which the SDK assembles', async () => {
    const stream = client.messages.stream({ model: 'deepseek', max_tokens: 64, messages: [{ role: 'user', content: 'stream please' }] });
    let text = '';
    stream.on('text', (delta) => (text += delta));
    const final = await stream.finalMessage();
    expect(text).toContain('Hello from deepseek');
    expect((final.content[0] as { text: string }).text).toBe(text);
    expect(final.stop_reason).toBe('end_turn');
    expect(final.usage.output_tokens).toBeGreaterThan(0);
    expect(final.usage.input_tokens).toBeGreaterThan(0);
    expect(lastChatRequest(vllm)).toMatchObject({ stream: true, stream_options: { include_usage: true } });
  });

  it('sends the events in Anthropic\'s order, as they arrive', async () => {
    const response = await fetch(`${gateway.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': adminKey, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'yi34b', max_tokens: 32, stream: true, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const events = (await response.text()).trim().split('\n\n').map((block) => block.split('\n')[0]?.replace('event: ', ''));
    expect(events.slice(0, 3)).toEqual(['message_start', 'ping', 'content_block_start']);
    expect(events.slice(-3)).toEqual(['content_block_stop', 'message_delta', 'message_stop']);
    expect(events.filter((event) => event === 'content_block_delta').length).toBeGreaterThan(1);
  });

  it('does a tool-use round trip, streamed and not', async () => {
    const asked = await client.messages.create({ model: 'yi34b', max_tokens: 64, tools: [weatherTool], messages: [{ role: 'user', content: 'use get_weather for Paris' }] });
    expect(asked.stop_reason).toBe('tool_use');
    const toolUse = asked.content.find((block) => block.type === 'tool_use');
    expect(toolUse).toMatchObject({ type: 'tool_use', name: 'get_weather', input: { city: 'Paris', unit: 'celsius' } });
    expect(lastChatRequest(vllm)['tools']).toEqual([{ type: 'function', function: { name: 'get_weather', description: 'The weather in a city', parameters: weatherTool.input_schema } }]);

    const streamed = await client.messages.stream({ model: 'yi34b', max_tokens: 64, tools: [weatherTool], tool_choice: { type: 'tool', name: 'get_weather' }, messages: [{ role: 'user', content: 'weather?' }] }).finalMessage();
    expect(streamed.stop_reason).toBe('tool_use');
    expect(streamed.content.find((block) => block.type === 'tool_use')).toMatchObject({ name: 'get_weather', input: { city: 'Paris', unit: 'celsius' } });

    const id = (toolUse as { id: string }).id;
    const answered = await client.messages.create({
      model: 'yi34b',
      max_tokens: 64,
      tools: [weatherTool],
      messages: [
        { role: 'user', content: 'use get_weather for Paris' },
        { role: 'assistant', content: asked.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: id, content: '21 degrees' }, { type: 'text', text: 'and so?' }] },
      ],
    });
    expect(answered.stop_reason).toBe('end_turn');
    expect(answered.content[0]?.type).toBe('text');
    const sent = lastChatRequest(vllm)['messages'] as Array<Record<string, unknown>>;
    expect(sent[1]).toMatchObject({ role: 'assistant', tool_calls: [{ id, type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris","unit":"celsius"}' } }] });
    expect(sent[2]).toEqual({ role: 'tool', tool_call_id: id, content: '21 degrees' });
    expect(sent[3]).toEqual({ role: 'user', content: 'and so?' });
  });

  it('counts tokens without calling a model server', async () => {
    const before = vllm.requests.length;
    const counted = await client.messages.countTokens({ model: 'yi34b', system: 'be brief', messages: [{ role: 'user', content: 'how many tokens is this sentence?' }] });
    expect(counted.input_tokens).toBeGreaterThan(5);
    expect(vllm.requests.length).toBe(before);
    await expect(client.messages.countTokens({ model: 'nope', messages: [{ role: 'user', content: 'x' }] })).rejects.toBeInstanceOf(Anthropic.NotFoundError);
  });
});

describe('errors in Anthropic\'s shape', () => {
  it('answers a bad request with invalid_request_error, which the SDK raises as BadRequestError', async () => {
    const response = await fetch(`${gateway.url}/v1/messages`, { method: 'POST', headers: { 'x-api-key': adminKey, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'yi34b', messages: [{ role: 'user', content: 'hi' }] }) });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: expect.stringContaining('max_tokens') } });
    await expect(client.messages.create({ model: 'yi34b', max_tokens: 10, tools: [{ type: 'web_search_20250305', name: 'web_search' } as never], messages: [{ role: 'user', content: 'x' }] })).rejects.toBeInstanceOf(Anthropic.BadRequestError);
  });

  it('answers a wrong key with authentication_error and an unknown model with not_found_error', async () => {
    const stranger = new Anthropic({ baseURL: gateway.url, apiKey: 'sk-sy-not-a-key', maxRetries: 0 });
    await expect(stranger.messages.create({ model: 'yi34b', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] })).rejects.toBeInstanceOf(Anthropic.AuthenticationError);
    const missing = await client.messages.create({ model: 'no-such-model', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }).catch((error: unknown) => error);
    expect(missing).toBeInstanceOf(Anthropic.NotFoundError);
    expect((missing as { error: unknown }).error).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
  });

  it('fails over before the first byte to the other server of the model', async () => {
    await backup.setFault({ kind: 'status', status: 503 });
    try {
      const asked = () => backup.requests.some((request) => request.path === '/v1/chat/completions');
      await askUntil(asked, async () => {
        const message = await client.messages.create({ model: 'pair', max_tokens: 10, messages: [{ role: 'user', content: 'anyone?' }] });
        expect((message.content[0] as { text: string }).text).toContain('Hello from pair');
      });
    } finally {
      await backup.clearFault();
    }
  });

  it('answers with Anthropic\'s overloaded 529 when every server of the model is unavailable', async () => {
    await Promise.all([backup.setFault({ kind: 'status', status: 503 }), vllm.setFault({ kind: 'status', status: 503 })]);
    try {
      const response = await fetch(`${gateway.url}/v1/messages`, { method: 'POST', headers: { 'x-api-key': adminKey, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'pair', max_tokens: 8, messages: [{ role: 'user', content: 'x' }] }) });
      expect(response.status).toBe(529);
      expect(response.headers.get('retry-after')).toBeTruthy();
      expect(await response.json()).toMatchObject({ type: 'error', error: { type: 'overloaded_error' } });
    } finally {
      await Promise.all([backup.clearFault(), vllm.clearFault()]);
    }
  });

  it('ends a stream that breaks mid-way with an error event the SDK raises', async () => {
    await Promise.all([backup.setFault({ kind: 'drop-mid-stream', afterChunks: 3 }), vllm.setFault({ kind: 'drop-mid-stream', afterChunks: 3 })]);
    try {
      const stream = client.messages.stream({ model: 'pair', max_tokens: 64, messages: [{ role: 'user', content: 'a long story' }] });
      let text = '';
      stream.on('text', (delta) => (text += delta));
      await expect(stream.finalMessage()).rejects.toThrow(/stream broke off/);
      expect(text.length).toBeGreaterThan(0);
      const raw = await fetch(`${gateway.url}/v1/messages`, { method: 'POST', headers: { 'x-api-key': adminKey, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'pair', max_tokens: 64, stream: true, messages: [{ role: 'user', content: 'again' }] }) });
      const last = (await raw.text()).trim().split('\n\n').at(-1) ?? '';
      expect(last.split('\n')[0]).toBe('event: error');
      expect(JSON.parse(last.split('\n')[1]?.slice(6) ?? '{}')).toMatchObject({ type: 'error', error: { type: 'api_error' } });
    } finally {
      await Promise.all([backup.clearFault(), vllm.clearFault()]);
    }
  });
});

describe('one engine', () => {
  it('answers a repeated message from the response cache, in Anthropic\'s shape, streamed and not', async () => {
    expect((await gateway.api('PUT', '/api/v1/cache-policies/imp', { mode: 'exact', ttl_s: 600, scope: 'global' })).status).toBe(201);
    const ask = (stream: boolean) => fetch(`${gateway.url}/v1/messages`, { method: 'POST', headers: { 'x-api-key': adminKey, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'imp', max_tokens: 16, stream, messages: [{ role: 'user', content: 'cache me' }] }) });
    const first = await ask(false);
    expect(first.headers.get('x-switchyard-cache')).toBe('miss');
    const firstBody = (await first.json()) as { content: Array<{ text: string }> };
    const asked = vllm.requests.length;
    const second = await ask(false);
    expect(second.headers.get('x-switchyard-cache')).toBe('hit');
    expect(((await second.json()) as { type: string; content: Array<{ text: string }> }).content[0]?.text).toBe(firstBody.content[0]?.text);
    const streamed = await ask(true);
    expect(streamed.headers.get('x-switchyard-cache')).toBe('hit');
    const events = (await streamed.text()).trim().split('\n\n').map((block) => block.split('\n')[0]?.replace('event: ', ''));
    expect(events[0]).toBe('message_start');
    expect(events.at(-1)).toBe('message_stop');
    expect(vllm.requests.length).toBe(asked);
  });

  it('records Messages requests with api=anthropic', async () => {
    await gateway.gateway.usage.flush();
    const rows = await gateway.gateway.database.db.selectFrom('usage_records').select(['api', 'requested_model', 'status', 'streamed']).where('api', '=', 'anthropic').execute();
    expect(rows.length).toBeGreaterThan(5);
    expect(rows.some((row) => row.streamed === 1 && row.status === 200)).toBe(true);
  });
});
