import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOllamaFake, startOpenAIFake, type OllamaFake, type OpenAIFake } from '../fakes/index.ts';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';
import { waitFor } from '../support/wait-for.ts';

// Bad input on each client API gets that API's own error shape and a 4xx,
// never a 500; a client that leaves mid-stream cancels the upstream call.
let gateway: TestGateway;
let ollama: OllamaFake;
let vllm: OpenAIFake;

beforeAll(async () => {
  [gateway, ollama, vllm] = await Promise.all([startTestGateway(), startOllamaFake({ behaviour: { tokenIntervalMs: 30 } }), startOpenAIFake({ flavor: 'vllm', behaviour: { tokenIntervalMs: 30 } })]);
  for (const body of [{ name: 'ollama-1', base_url: ollama.url }, { name: 'vllm-1', base_url: vllm.url }]) expect((await gateway.api('POST', '/api/v1/model-servers', body)).status).toBe(201);
  await gateway.api('POST', '/api/v1/model-servers/health-check-all');
});

afterAll(async () => {
  await Promise.all([gateway.stop(), ollama.stop(), vllm.stop()]);
});

async function post(path: string, body: string, auth: Record<string, string> = { authorization: `Bearer ${adminKey}` }): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${gateway.url}${path}`, { method: path === '/api/delete' ? 'DELETE' : 'POST', headers: { ...auth, 'content-type': 'application/json' }, body });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

const isOllamaShape = (json: Record<string, unknown>) => typeof json['error'] === 'string' && Object.keys(json).length === 1;
const isAnthropicShape = (json: Record<string, unknown>) => json['type'] === 'error' && typeof (json['error'] as Record<string, unknown>)['type'] === 'string' && typeof (json['error'] as Record<string, unknown>)['message'] === 'string';

describe('bad input on each client API', () => {
  const ollamaCases: Array<[path: string, body: string, names: string]> = [
    ['/api/chat', '{"model": "yi34b", "messages": [', 'JSON'],
    ['/api/chat', '{"messages": []}', 'model'],
    ['/api/chat', '{"model": "yi34b", "messages": "hello", "stream": false}', 'messages'],
    ['/api/chat', '{"model": "yi34b", "messages": [{"role": "wizard", "content": "hi"}], "stream": false}', 'messages[0].role'],
    ['/api/chat', '{"model": "yi34b", "messages": [{"role": "user", "content": {"a": 1}}], "stream": false}', 'messages[0].content'],
    ['/api/chat', '{"model": "yi34b", "messages": [{"role": "user", "content": "hi", "images": [1]}], "stream": false}', 'images'],
    ['/api/chat', '{"model": "yi34b", "messages": [{"role": "user", "content": "hi"}], "options": {"temperature": "hot"}, "stream": false}', 'options.temperature'],
    ['/api/chat', '{"model": "yi34b", "messages": [{"role": "user", "content": "hi"}], "format": 42, "stream": false}', 'format'],
    ['/api/generate', '{"model": "yi34b", "prompt": "hi", "template": "{{ .Prompt }}", "stream": false}', 'template'],
    ['/api/generate', '{"model": "yi34b", "prompt": "hi", "context": [1, 2, 3], "stream": false}', 'context'],
    ['/api/embed', '{"model": "yi34b", "input": [1, 2]}', 'input'],
    ['/api/embeddings', '{"model": "yi34b", "prompt": ["a"]}', 'prompt'],
    ['/api/show', '{}', 'model'],
    ['/api/copy', '{"source": "mixtral"}', 'destination'],
    ['/api/pull', '{"model": 7}', 'model'],
  ];
  it.each(ollamaCases)('%s with %s → 400 in Ollama\'s shape naming %s', async (path, body, names) => {
    const before = vllm.requests.length + ollama.requests.length;
    const { status, json } = await post(path, body);
    expect(status).toBe(400);
    expect(isOllamaShape(json), JSON.stringify(json)).toBe(true);
    expect(String(json['error'])).toContain(names);
    // Nothing was sent to a model server.
    expect(vllm.requests.length + ollama.requests.filter((request) => request.method !== 'GET').length).toBeLessThanOrEqual(before);
  });

  const anthropicCases: Array<[path: string, body: string, names: string]> = [
    ['/v1/messages', '{"model": "yi34b", "max_tokens": 5, "messages": [', 'JSON'],
    ['/v1/messages', '{"model": "yi34b", "messages": [{"role": "user", "content": "hi"}]}', 'max_tokens'],
    ['/v1/messages', '{"model": "yi34b", "max_tokens": 0, "messages": [{"role": "user", "content": "hi"}]}', 'max_tokens'],
    ['/v1/messages', '{"model": "yi34b", "max_tokens": 5, "messages": []}', 'messages'],
    ['/v1/messages', '{"model": "yi34b", "max_tokens": 5, "messages": [{"role": "system", "content": "hi"}]}', 'role'],
    ['/v1/messages', '{"model": "yi34b", "max_tokens": 5, "messages": [{"role": "user", "content": [{"type": "document", "source": {}}]}]}', 'document'],
    ['/v1/messages', '{"model": "yi34b", "max_tokens": 5, "messages": [{"role": "user", "content": [{"type": "image", "source": {"type": "file"}}]}]}', 'source'],
    ['/v1/messages', '{"model": "yi34b", "max_tokens": 5, "messages": [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": [{"type": "image"}]}]}]}', 'tool result'],
    ['/v1/messages', '{"model": "yi34b", "max_tokens": 5, "tool_choice": {"type": "sometimes"}, "messages": [{"role": "user", "content": "hi"}]}', 'tool_choice'],
    ['/v1/messages', '{"model": "yi34b", "max_tokens": 5, "temperature": 3, "messages": [{"role": "user", "content": "hi"}]}', 'temperature'],
    ['/v1/messages/count_tokens', '{"model": "yi34b"}', 'messages'],
  ];
  it.each(anthropicCases)('%s with %s → 400 in Anthropic\'s shape naming %s', async (path, body, names) => {
    const before = vllm.requests.length;
    const { status, json } = await post(path, body, { 'x-api-key': adminKey, 'anthropic-version': '2023-06-01' });
    expect(status).toBe(400);
    expect(isAnthropicShape(json), JSON.stringify(json)).toBe(true);
    expect((json['error'] as Record<string, unknown>)['type']).toBe('invalid_request_error');
    expect(String((json['error'] as Record<string, unknown>)['message'])).toContain(names);
    expect(vllm.requests.length).toBe(before);
  });

  const responsesCases: Array<[body: string, names: string]> = [
    ['{"model": "yi34b", "input": ', 'JSON'],
    ['{"input": "hi"}', 'model'],
    ['{"model": "yi34b"}', 'input'],
    ['{"model": "yi34b", "input": 42}', 'input'],
    ['{"model": "yi34b", "input": [{"type": "item_reference", "id": "x"}]}', 'item_reference'],
    ['{"model": "yi34b", "input": [{"role": "wizard", "content": "hi"}]}', 'role'],
    ['{"model": "yi34b", "input": [{"role": "user", "content": [{"type": "input_file", "file_id": "f"}]}]}', 'input_file'],
    ['{"model": "yi34b", "input": "hi", "tools": [{"type": "file_search"}]}', 'tools[0].type'],
    ['{"model": "yi34b", "input": "hi", "text": {"format": {"type": "json_schema"}}}', 'text.format'],
    ['{"model": "yi34b", "input": "hi", "background": true}', 'background'],
    ['{"model": "yi34b", "input": "hi", "max_output_tokens": 0}', 'max_output_tokens'],
  ];
  it.each(responsesCases)('/v1/responses with %s → 400 in OpenAI\'s shape naming %s', async (body, names) => {
    const before = vllm.requests.length;
    const { status, json } = await post('/v1/responses', body);
    expect(status).toBe(400);
    const error = json['error'] as Record<string, unknown>;
    expect(error['type']).toBe('invalid_request_error');
    expect(`${String(error['message'])} ${String(error['param'])}`).toContain(names);
    expect(vllm.requests.length).toBe(before);
  });

  it('answers an unknown Ollama path and an unknown Messages path in their own shapes', async () => {
    const ollamaMissing = await fetch(`${gateway.url}/api/nothing-here`, { headers: { authorization: `Bearer ${adminKey}` } });
    expect(ollamaMissing.status).toBe(404);
    expect(isOllamaShape((await ollamaMissing.json()) as Record<string, unknown>)).toBe(true);
    const messagesMissing = await fetch(`${gateway.url}/v1/messages/batches`, { method: 'POST', headers: { 'x-api-key': adminKey } });
    expect(messagesMissing.status).toBe(404);
    expect(isAnthropicShape((await messagesMissing.json()) as Record<string, unknown>)).toBe(true);
  });
});

describe('a client that leaves mid-stream', () => {
  const cases: Array<[label: string, path: string, body: Record<string, unknown>, fake: () => OllamaFake | OpenAIFake]> = [
    ['Ollama\'s API, translated', '/api/chat', { model: 'yi34b', messages: [{ role: 'user', content: 'a long story' }] }, () => vllm],
    ['Ollama\'s API, native', '/api/chat', { model: 'mixtral', messages: [{ role: 'user', content: 'a long story' }] }, () => ollama],
    ['Anthropic\'s Messages', '/v1/messages', { model: 'yi34b', max_tokens: 500, stream: true, messages: [{ role: 'user', content: 'a long story' }] }, () => vllm],
  ];
  it.each(cases)('cancels the upstream call (%s)', async (_label, path, body, fake) => {
    const abortsBefore = fake().abortedCount();
    const controller = new AbortController();
    const response = await fetch(`${gateway.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' }, body: JSON.stringify(body), signal: controller.signal });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    controller.abort();
    await waitFor(() => fake().abortedCount() > abortsBefore, 'the upstream call to be cancelled');
  });
});
