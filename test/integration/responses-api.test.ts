import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_OPENAI_MODELS, startOllamaFake, startOpenAIFake, type OllamaFake, type OpenAIFake } from '../fakes/index.ts';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';
import { askUntil } from '../support/ask-until.ts';

// The openai client's Responses API, unchanged, against the fleet: translated
// to Chat Completions for every server; stored answers continue conversations.
let gateway: TestGateway;
let ollama: OllamaFake;
let vllm: OpenAIFake;
let backup: OpenAIFake;
let client: OpenAI;

const weatherTool = { type: 'function' as const, name: 'get_weather', description: 'The weather in a city', parameters: { type: 'object', properties: { city: { type: 'string' }, unit: { type: 'string' } }, required: ['city'] }, strict: false };

beforeAll(async () => {
  [gateway, ollama, vllm, backup] = await Promise.all([
    // Failover here is shown by asking one prompt until it reaches a given server: routed by least in-flight, not by prefix.
    startTestGateway({ env: { SWITCHYARD_ROUTING_STRATEGY: 'least-inflight' } }),
    startOllamaFake(),
    startOpenAIFake({ flavor: 'vllm', models: [...DEFAULT_OPENAI_MODELS, { id: 'pair', capabilities: ['completion'], contextLength: 8192 }] }),
    startOpenAIFake({ flavor: 'vllm', models: [{ id: 'pair', capabilities: ['completion'], contextLength: 8192 }] }),
  ]);
  for (const body of [{ name: 'ollama-1', base_url: ollama.url }, { name: 'vllm-1', base_url: vllm.url }, { name: 'vllm-2', base_url: backup.url }]) {
    expect((await gateway.api('POST', '/api/v1/model-servers', body)).status).toBe(201);
  }
  await gateway.api('POST', '/api/v1/model-servers/health-check-all');
  client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: adminKey, maxRetries: 0 });
});

afterAll(async () => {
  await Promise.all([gateway.stop(), ollama.stop(), vllm.stop(), backup.stop()]);
});

function lastChat(fake: OpenAIFake | OllamaFake): Record<string, unknown> {
  return [...fake.requests].reverse().find((request) => request.path === '/v1/chat/completions')?.body as Record<string, unknown>;
}

async function otherKey(): Promise<OpenAI> {
  const created = await gateway.api('POST', '/api/v1/keys', { name: `responses-${Math.random().toString(36).slice(2, 8)}`, scopes: ['inference'] });
  return new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: created.body.key as string, maxRetries: 0 });
}

describe('responses.create', () => {
  it('answers a plain request in the Response shape, translated to Chat Completions', async () => {
    const response = await client.responses.create({ model: 'yi34b', input: 'hello', instructions: 'Be brief.', temperature: 0.4, metadata: { team: 'search' } });
    expect(response.id).toMatch(/^resp_/);
    expect(response.object).toBe('response');
    expect(response.status).toBe('completed');
    expect(response.model).toBe('yi34b');
    expect(response.output_text).toContain('Hello from yi34b');
    expect(response.output[0]).toMatchObject({ type: 'message', role: 'assistant', status: 'completed' });
    expect(response.usage?.input_tokens).toBeGreaterThan(0);
    expect(response.usage?.total_tokens).toBe((response.usage?.input_tokens ?? 0) + (response.usage?.output_tokens ?? 0));
    expect(response.metadata).toEqual({ team: 'search' });
    expect(lastChat(vllm)).toMatchObject({ model: 'yi34b', temperature: 0.4, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'hello' }] });
  });

  it('works for an Ollama-served model and says incomplete when cut by max_output_tokens', async () => {
    const response = await client.responses.create({ model: 'mixtral', input: [{ role: 'user', content: 'tell me everything' }], max_output_tokens: 2 });
    expect(response.status).toBe('incomplete');
    expect(response.incomplete_details).toEqual({ reason: 'max_output_tokens' });
    expect(lastChat(ollama)).toMatchObject({ model: 'mixtral:latest', max_tokens: 2 });
  });

  it('asks for structured output with text.format', async () => {
    const schema = { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'], additionalProperties: false };
    await client.responses.create({ model: 'yi34b', input: 'hi', text: { format: { type: 'json_schema', name: 'reply', schema, strict: true } } });
    expect(lastChat(vllm)['response_format']).toEqual({ type: 'json_schema', json_schema: { name: 'reply', schema, strict: true } });
  });

  it('streams the Responses event sequence, which the client assembles', async () => {
    const stream = client.responses.stream({ model: 'deepseek', input: 'stream please' });
    const types: string[] = [];
    let text = '';
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'response.output_text.delta') text += event.delta;
    }
    const final = await stream.finalResponse();
    expect(types.slice(0, 4)).toEqual(['response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added']);
    expect(types.slice(-4)).toEqual(['response.output_text.done', 'response.content_part.done', 'response.output_item.done', 'response.completed']);
    expect(types.filter((type) => type === 'response.output_text.delta').length).toBeGreaterThan(1);
    expect(text).toContain('Hello from deepseek');
    expect(final.output_text).toBe(text);
    expect(final.usage?.output_tokens).toBeGreaterThan(0);
  });

  it('does a function-call round trip through previous_response_id, streamed and not', async () => {
    const asked = await client.responses.create({ model: 'yi34b', input: 'use get_weather for Paris', tools: [weatherTool] });
    const call = asked.output.find((item) => item.type === 'function_call');
    expect(call).toMatchObject({ type: 'function_call', name: 'get_weather', arguments: '{"city": "Paris", "unit": "celsius"}' });
    expect(lastChat(vllm)['tools']).toEqual([{ type: 'function', function: { name: 'get_weather', description: 'The weather in a city', parameters: weatherTool.parameters, strict: false } }]);

    const streamed = await client.responses.stream({ model: 'yi34b', input: 'weather?', tools: [weatherTool], tool_choice: { type: 'function', name: 'get_weather' } }).finalResponse();
    expect(streamed.output.find((item) => item.type === 'function_call')).toMatchObject({ name: 'get_weather', arguments: '{"city": "Paris", "unit": "celsius"}' });

    const callId = (call as { call_id: string }).call_id;
    const answered = await client.responses.create({ model: 'yi34b', previous_response_id: asked.id, input: [{ type: 'function_call_output', call_id: callId, output: '21 degrees' }], tools: [weatherTool] });
    expect(answered.status).toBe('completed');
    expect(answered.previous_response_id).toBe(asked.id);
    expect(answered.output_text.length).toBeGreaterThan(0);
    expect(lastChat(vllm)['messages']).toEqual([
      { role: 'user', content: 'use get_weather for Paris' },
      { role: 'assistant', content: null, tool_calls: [{ id: callId, type: 'function', function: { name: 'get_weather', arguments: '{"city": "Paris", "unit": "celsius"}' } }] },
      { role: 'tool', tool_call_id: callId, content: '21 degrees' },
    ]);
  });

  it('continues a conversation, without the earlier instructions, as OpenAI does', async () => {
    const first = await client.responses.create({ model: 'deepseek', input: 'my name is Ada', instructions: 'Be formal.' });
    const second = await client.responses.create({ model: 'deepseek', input: 'what is my name?', previous_response_id: first.id, instructions: 'Be casual.' });
    expect(second.status).toBe('completed');
    expect(lastChat(vllm)['messages']).toEqual([
      { role: 'system', content: 'Be casual.' },
      { role: 'user', content: 'my name is Ada' },
      { role: 'assistant', content: first.output_text },
      { role: 'user', content: 'what is my name?' },
    ]);
  });
});

describe('stored responses', () => {
  it('retrieves and deletes a stored response; store:false keeps nothing', async () => {
    const created = await client.responses.create({ model: 'yi34b', input: 'keep me' });
    const read = await client.responses.retrieve(created.id);
    expect(read.id).toBe(created.id);
    expect(read.output_text).toBe(created.output_text);
    const items = await client.responses.inputItems.list(created.id);
    expect(items.data[0]).toMatchObject({ type: 'message', role: 'user' });
    expect(await client.responses.delete(created.id)).toMatchObject({ id: created.id, deleted: true });
    await expect(client.responses.retrieve(created.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    const unstored = await client.responses.create({ model: 'yi34b', input: 'forget me', store: false });
    expect((unstored as unknown as { store: boolean }).store).toBe(false);
    await expect(client.responses.retrieve(unstored.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('refuses another key: it cannot read, continue or delete the response (404)', async () => {
    const mine = await client.responses.create({ model: 'yi34b', input: 'secret plans' });
    const stranger = await otherKey();
    await expect(stranger.responses.retrieve(mine.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    const continued = await stranger.responses.create({ model: 'yi34b', input: 'go on', previous_response_id: mine.id }).catch((error: unknown) => error);
    expect(continued).toBeInstanceOf(OpenAI.NotFoundError);
    expect((continued as { param?: string }).param).toBe('previous_response_id');
    await expect(stranger.responses.delete(mine.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    expect((await client.responses.retrieve(mine.id)).id).toBe(mine.id);
  });
});

describe('errors and failures', () => {
  it('refuses a built-in tool by name, in OpenAI\'s error shape', async () => {
    const failed = await client.responses.create({ model: 'yi34b', input: 'search the web', tools: [{ type: 'web_search' } as never] }).catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(OpenAI.BadRequestError);
    expect((failed as { param: string }).param).toBe('tools[0].type');
  });

  it('fails over before the first byte', async () => {
    await backup.setFault({ kind: 'status', status: 503 });
    try {
      const asked = () => backup.requests.some((request) => request.path === '/v1/chat/completions');
      await askUntil(asked, async () => expect((await client.responses.create({ model: 'pair', input: 'anyone?' })).output_text).toContain('Hello from pair'));
    } finally {
      await backup.clearFault();
    }
  });

  it('ends a stream that breaks mid-way with response.failed and an error event, which the client raises', async () => {
    await Promise.all([backup.setFault({ kind: 'drop-mid-stream', afterChunks: 3 }), vllm.setFault({ kind: 'drop-mid-stream', afterChunks: 3 })]);
    try {
      const raw = await fetch(`${gateway.url}/v1/responses`, { method: 'POST', headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'pair', input: 'a long story', stream: true }) });
      const events = (await raw.text()).trim().split('\n\n').map((block) => block.split('\n')[0]?.replace('event: ', ''));
      expect(events.slice(-2)).toEqual(['response.failed', 'error']);
      const stream = client.responses.stream({ model: 'pair', input: 'a long story' });
      await expect(stream.finalResponse()).rejects.toThrow(/stream broke off/);
    } finally {
      await Promise.all([backup.clearFault(), vllm.clearFault()]);
    }
  });

  it('records Responses requests with api=responses', async () => {
    await gateway.gateway.usage.flush();
    const rows = await gateway.gateway.database.db.selectFrom('usage_records').select(['api', 'status', 'streamed']).where('api', '=', 'responses').execute();
    expect(rows.length).toBeGreaterThan(8);
    expect(rows.some((row) => row.streamed === 1 && row.status === 200)).toBe(true);
  });
});
