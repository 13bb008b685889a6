import { afterEach, describe, expect, it } from 'vitest';
import { startOpenAIFake } from './openai-fake.ts';
import type { OpenAIFake, OpenAIFakeOptions } from './openai-fake.ts';
import { postJson, readStream, sseData, sseJson } from './wire-readers.ts';

const fakes: OpenAIFake[] = [];
async function start(options: OpenAIFakeOptions = {}): Promise<OpenAIFake> {
  const fake = await startOpenAIFake(options);
  fakes.push(fake);
  return fake;
}
afterEach(async () => {
  await Promise.all(fakes.splice(0).map((f) => f.stop()));
});

const messages = [{ role: 'user', content: 'hello world' }];
const EMBEDDER = { id: 'bge-m3', capabilities: ['embedding'], embeddingDimension: 16 };

type Chunk = { id: string; object: string; model: string; choices: { index: number; delta: Record<string, unknown>; finish_reason: string | null }[]; usage?: Record<string, number> };

describe.each(['vllm', 'llamacpp', 'generic'] as const)('openai (%s): chat completions', (flavor) => {
  it('answers non-streaming with the chat.completion shape and usage', async () => {
    const fake = await start({ flavor });
    const body = await (await postJson(`${fake.url}/v1/chat/completions`, { model: 'deepseek', messages })).json();
    expect(body).toMatchObject({
      id: expect.stringMatching(/^chatcmpl-/) as string,
      object: 'chat.completion',
      created: expect.any(Number) as number,
      model: 'deepseek',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Hello from deepseek: you said hello world' }, logprobs: null, finish_reason: 'stop' }],
      usage: { prompt_tokens: expect.any(Number) as number, completion_tokens: 7, total_tokens: expect.any(Number) as number },
    });
  });

  it('streams SSE chunks: role first, finish_reason last, usage chunk, then [DONE]', async () => {
    const fake = await start({ flavor });
    const res = await postJson(`${fake.url}/v1/chat/completions`, { model: 'deepseek', messages, stream: true, stream_options: { include_usage: true } });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const text = (await readStream(res)).text;
    expect(text.startsWith('data: {')).toBe(true);
    const events = sseData(text);
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = sseJson(text) as Chunk[];
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
    expect(chunks.every((c) => c.object === 'chat.completion.chunk' && c.model === 'deepseek')).toBe(true);
    expect(chunks[0]?.choices[0]?.delta.role).toBe('assistant');
    const usage = chunks.at(-1);
    expect(usage?.choices).toEqual([]);
    expect(usage?.usage).toMatchObject({ completion_tokens: 7 });
    const content = chunks.slice(0, -1);
    expect(content.at(-1)?.choices[0]?.finish_reason).toBe('stop');
    expect(content.slice(0, -1).every((c) => c.choices[0]?.finish_reason === null)).toBe(true);
    expect(content.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('Hello from deepseek: you said hello world');
  });

  it('honours max_tokens with finish_reason length and omits usage without include_usage', async () => {
    const fake = await start({ flavor });
    const body = (await (await postJson(`${fake.url}/v1/chat/completions`, { model: 'deepseek', messages, max_tokens: 3 })).json()) as { choices: { message: { content: string }; finish_reason: string }[] };
    expect(body.choices[0]).toMatchObject({ message: { content: 'Hello from deepseek:' }, finish_reason: 'length' });
    const chunks = sseJson((await readStream(await postJson(`${fake.url}/v1/chat/completions`, { model: 'deepseek', messages, max_tokens: 2, stream: true }))).text) as Chunk[];
    expect(chunks.every((c) => c.usage === undefined)).toBe(true);
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('length');
  });

  it('POST /v1/completions (JSON and SSE text_completion)', async () => {
    const fake = await start({ flavor });
    expect(await (await postJson(`${fake.url}/v1/completions`, { model: 'imp', prompt: ['once', 'upon'] })).json()).toMatchObject({
      object: 'text_completion',
      choices: [{ index: 0, text: 'Hello from imp: you said once upon', finish_reason: 'stop' }],
    });
    const text = (await readStream(await postJson(`${fake.url}/v1/completions`, { model: 'imp', prompt: 'x', stream: true }))).text;
    expect(sseData(text).at(-1)).toBe('[DONE]');
    const chunks = sseJson(text) as { object: string; choices: { text: string }[] }[];
    expect(chunks.every((c) => c.object === 'text_completion')).toBe(true);
    expect(chunks.map((c) => c.choices[0]?.text).join('')).toBe('Hello from imp: you said x');
  });

  it('embeddings: floats, base64 float32 decoding to the same values, 4xx/5xx for generation models', async () => {
    const fake = await start({ flavor, models: [EMBEDDER, { id: 'deepseek' }] });
    const floats = (await (await postJson(`${fake.url}/v1/embeddings`, { model: 'bge-m3', input: ['a', 'b'] })).json()) as { data: { index: number; embedding: number[] }[] };
    expect(floats).toMatchObject({ object: 'list', model: 'bge-m3', usage: { prompt_tokens: 2, total_tokens: 2 } });
    expect(floats.data.map((d) => d.index)).toEqual([0, 1]);
    const b64 = (await (await postJson(`${fake.url}/v1/embeddings`, { model: 'bge-m3', input: 'a', encoding_format: 'base64' })).json()) as { data: { embedding: string }[] };
    const buf = Buffer.from(b64.data[0]?.embedding ?? '', 'base64');
    const decoded = Array.from({ length: buf.length / 4 }, (_, i) => buf.readFloatLE(i * 4));
    expect(decoded).toEqual(floats.data[0]?.embedding);
    const refused = await postJson(`${fake.url}/v1/embeddings`, { model: 'deepseek', input: 'a' });
    expect(refused.status).toBe(flavor === 'llamacpp' ? 501 : 400);
  });
});

describe('openai: validation and model errors', () => {
  it('vLLM: unknown model → 404 NotFoundError, missing messages → 400, context overflow → 400', async () => {
    const fake = await start({ flavor: 'vllm' });
    const missing = await postJson(`${fake.url}/v1/chat/completions`, { model: 'x', messages });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: { message: 'The model `x` does not exist.', type: 'NotFoundError', param: null, code: 404 } });
    const noMessages = await postJson(`${fake.url}/v1/chat/completions`, { model: 'imp' });
    expect(noMessages.status).toBe(400);
    expect(await noMessages.json()).toMatchObject({ error: { type: 'BadRequestError', code: 400 } });
    const tooLong = await postJson(`${fake.url}/v1/chat/completions`, { model: 'imp', messages, max_tokens: 4000 });
    expect(tooLong.status).toBe(400);
    expect(((await tooLong.json()) as { error: { message: string } }).error.message).toMatch(/maximum context length is 2048 tokens/);
  });

  it('generic: missing model → 400 invalid_request_error; unknown model → 404', async () => {
    const fake = await start();
    const noModel = await postJson(`${fake.url}/v1/chat/completions`, { messages });
    expect(noModel.status).toBe(400);
    expect(await noModel.json()).toMatchObject({ error: { type: 'invalid_request_error', param: null } });
    expect((await postJson(`${fake.url}/v1/chat/completions`, { model: 'x', messages })).status).toBe(404);
  });

  it('llama.cpp accepts any model name and echoes it', async () => {
    const fake = await start({ flavor: 'llamacpp' });
    expect(await (await postJson(`${fake.url}/v1/chat/completions`, { model: 'gpt-4o', messages })).json()).toMatchObject({ model: 'gpt-4o', choices: [{ message: { content: 'Hello from gpt-4o: you said hello world' } }] });
  });
});

describe('openai: API key', () => {
  it('generic: 401 OpenAI shape without the key; setApiKey changes enforcement', async () => {
    const fake = await start({ apiKey: 'sk-test' });
    const denied = await fetch(`${fake.url}/v1/models`);
    expect(denied.status).toBe(401);
    expect(await denied.json()).toEqual({ error: { message: 'Incorrect API key provided', type: 'invalid_request_error', param: null, code: 'invalid_api_key' } });
    expect((await fetch(`${fake.url}/v1/models`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    expect((await fetch(`${fake.url}/v1/models`, { headers: { authorization: 'Bearer sk-test' } })).status).toBe(200);
    fake.setApiKey(undefined);
    expect((await fetch(`${fake.url}/v1/models`)).status).toBe(200);
  });

  it('vLLM guards only /v1 (as vLLM does); llama.cpp leaves /health and /v1/models public', async () => {
    const vllm = await start({ flavor: 'vllm', apiKey: 'k' });
    const denied = await fetch(`${vllm.url}/v1/models`);
    expect(denied.status).toBe(401);
    expect(await denied.json()).toEqual({ error: 'Unauthorized' });
    expect((await fetch(`${vllm.url}/metrics`)).status).toBe(200);
    const llama = await start({ flavor: 'llamacpp', apiKey: 'k' });
    expect((await fetch(`${llama.url}/health`)).status).toBe(200);
    expect((await fetch(`${llama.url}/v1/models`)).status).toBe(200);
    const props = await fetch(`${llama.url}/props`);
    expect(props.status).toBe(401);
    expect(await props.json()).toEqual({ error: { code: 401, message: 'Invalid API Key', type: 'authentication_error' } });
  });
});
