import { afterEach, describe, expect, it } from 'vitest';
import { embedText, estimateTokens, float32Base64, splitTokens } from './fake-server.ts';
import type { FakeServer } from './fake-server.ts';
import { startOllamaFake } from './ollama-fake.ts';
import { startOpenAIFake } from './openai-fake.ts';
import { errorCode, ndjson, postJson, readStream, sseData, sseJson, waitFor } from './wire-readers.ts';

const fakes: FakeServer[] = [];
async function track<T extends FakeServer>(fake: Promise<T>): Promise<T> {
  const f = await fake;
  fakes.push(f);
  return f;
}
afterEach(async () => {
  await Promise.all(fakes.splice(0).map((f) => f.stop()));
});

const chat = (model: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  model,
  messages: [{ role: 'user', content: 'tell me something nice' }],
  ...extra,
});

async function fetchError(url: string): Promise<unknown> {
  try {
    await fetch(url);
  } catch (err) {
    return err;
  }
  throw new Error('fetch unexpectedly succeeded');
}

describe('helpers', () => {
  it('embedText is deterministic, L2-normalised and text-dependent', () => {
    const a = embedText('hello', 384);
    expect(a).toHaveLength(384);
    expect(embedText('hello', 384)).toEqual(a);
    expect(embedText('hello!', 384)).not.toEqual(a);
    const norm = Math.sqrt(a.reduce((s, x) => s + x * x, 0));
    expect(norm).toBeCloseTo(1, 5);
    expect(a.every((x) => Math.fround(x) === x)).toBe(true);
    const decoded = Buffer.from(float32Base64(a), 'base64');
    expect(Array.from({ length: 384 }, (_, i) => decoded.readFloatLE(i * 4))).toEqual(a);
  });

  it('splitTokens round-trips and estimateTokens is ~chars/4', () => {
    expect(splitTokens('Hello from x: hi')).toEqual(['Hello', ' from', ' x:', ' hi']);
    expect(splitTokens('a  b ').join('')).toBe('a  b ');
    expect(estimateTokens('')).toBe(0);
    expect(estimateTokens('abcdefgh')).toBe(2);
  });
});

describe('lifecycle and recording', () => {
  it('listens on 127.0.0.1 and records method, path with query, headers and parsed body', async () => {
    const fake = await track(startOpenAIFake({ flavor: 'vllm' }));
    expect(fake.url).toBe(`http://127.0.0.1:${fake.port}`);
    await fetch(`${fake.url}/v1/models?x=1`, { headers: { 'x-test': 'yes' } });
    await postJson(`${fake.url}/v1/chat/completions`, chat('imp'));
    expect(fake.requests).toHaveLength(2);
    expect(fake.requests[0]).toMatchObject({ method: 'GET', path: '/v1/models?x=1', body: undefined, aborted: false });
    expect(fake.requests[0]?.headers['x-test']).toBe('yes');
    expect(fake.requests[1]?.body).toEqual(chat('imp'));
    fake.resetRequests();
    expect(fake.requests).toHaveLength(0);
  });

  it('stop() makes the port refuse, restart() serves again on the same port', async () => {
    const fake = await track(startOllamaFake());
    const { port } = fake;
    expect((await fetch(`${fake.url}/api/version`)).status).toBe(200);
    await fake.stop();
    expect(errorCode(await fetchError(`${fake.url}/api/version`))).toBe('ECONNREFUSED');
    await fake.restart();
    expect(fake.port).toBe(port);
    expect(await (await fetch(`${fake.url}/api/version`)).json()).toEqual({ version: '0.12.3' });
  });

  it('setReply scripts the generated text', async () => {
    const fake = await track(startOpenAIFake());
    fake.setReply(({ model, prompt }) => `${model} got ${prompt.length} chars`);
    const body = (await (await postJson(`${fake.url}/v1/chat/completions`, chat('imp'))).json()) as { choices: { message: { content: string } }[] };
    expect(body.choices[0]?.message.content).toBe('imp got 22 chars');
  });
});

describe('faults', () => {
  it('refuse closes the listener (ECONNREFUSED) and clearing it re-listens on the same port', async () => {
    const fake = await track(startOpenAIFake());
    expect((await fetch(`${fake.url}/v1/models`)).status).toBe(200);
    await fake.setFault({ kind: 'refuse' });
    expect(errorCode(await fetchError(`${fake.url}/v1/models`))).toBe('ECONNREFUSED');
    await fake.clearFault();
    expect((await fetch(`${fake.url}/v1/models`)).status).toBe(200);
  });

  it('status answers every request with the status, headers and the protocol error body', async () => {
    const fake = await track(startOpenAIFake({ flavor: 'vllm' }));
    await fake.setFault({ kind: 'status', status: 503, headers: { 'retry-after': '7' } });
    const res = await fetch(`${fake.url}/v1/models`);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('7');
    expect(await res.json()).toMatchObject({ error: { type: 'ServiceUnavailableError', code: 503 } });

    const ollama = await track(startOllamaFake());
    await ollama.setFault({ kind: 'status', status: 500, body: { error: 'boom' } });
    const r2 = await fetch(`${ollama.url}/api/tags`);
    expect(r2.status).toBe(500);
    expect(await r2.json()).toEqual({ error: 'boom' });
  });

  it('faultPaths limits the fault to matching path prefixes', async () => {
    const fake = await track(startOllamaFake());
    await fake.setFault({ kind: 'status', status: 500 }, ['/api/chat']);
    expect((await fetch(`${fake.url}/api/tags`)).status).toBe(200);
    const res = await postJson(`${fake.url}/api/chat`, chat('mixtral'));
    expect(res.status).toBe(500);
    expect(await res.json()).toHaveProperty('error');
  });

  it('hang accepts and never answers; a client timeout is recorded as an abort', async () => {
    const fake = await track(startOllamaFake());
    await fake.setFault({ kind: 'hang' });
    // The client gives up once the fake has the request (not on a timer, which a loaded machine could beat).
    const controller = new AbortController();
    const answer = fetch(`${fake.url}/api/tags`, { signal: controller.signal }).catch((e: unknown) => e);
    await waitFor(() => fake.requests.length === 1, 10_000, 'the request to arrive');
    controller.abort(new DOMException('gave up', 'TimeoutError'));
    const err = await answer;
    expect(err).toBeInstanceOf(DOMException);
    expect((err as DOMException).name).toBe('TimeoutError');
    expect(fake.requests).toHaveLength(1);
    await waitFor(() => fake.abortedCount() === 1, 10_000, 'abort to be recorded');
  });

  it('garbage answers 200 application/json with a non-JSON body', async () => {
    const fake = await track(startOpenAIFake());
    await fake.setFault({ kind: 'garbage' });
    const res = await fetch(`${fake.url}/v1/models`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    await expect(res.json()).rejects.toThrow(SyntaxError);
  });

  it('latencyMs delays the response headers', async () => {
    const fake = await track(startOpenAIFake({ behaviour: { latencyMs: 60 } }));
    const started = performance.now();
    await fetch(`${fake.url}/v1/models`);
    expect(performance.now() - started).toBeGreaterThanOrEqual(55);
  });

  it('drop-mid-stream sends afterChunks SSE events then kills the socket without [DONE]', async () => {
    const fake = await track(startOpenAIFake({ flavor: 'vllm' }));
    await fake.setFault({ kind: 'drop-mid-stream', afterChunks: 3 });
    const models = await fetch(`${fake.url}/v1/models`); // non-streaming requests are unaffected
    expect(models.status).toBe(200);
    const res = await postJson(`${fake.url}/v1/chat/completions`, chat('imp', { stream: true }));
    expect(res.status).toBe(200);
    const read = await readStream(res);
    expect(read.error).toBeDefined();
    const events = sseData(read.text);
    expect(events).toHaveLength(3);
    expect(events).not.toContain('[DONE]');
    expect(fake.abortedCount()).toBe(0); // server-side drops are not client aborts
  });

  it('drop-mid-stream on NDJSON never sends the done:true line', async () => {
    const fake = await track(startOllamaFake());
    await fake.setFault({ kind: 'drop-mid-stream', afterChunks: 2 });
    const read = await readStream(await postJson(`${fake.url}/api/chat`, chat('mixtral')));
    expect(read.error).toBeDefined();
    const lines = ndjson(read.text) as { done: boolean }[];
    expect(lines).toHaveLength(2);
    expect(lines.every((l) => !l.done)).toBe(true);
  });

  it('endless-event sends afterChunks good events, then one that never ends, until the client hangs up', async () => {
    const fake = await track(startOpenAIFake());
    await fake.setFault({ kind: 'endless-event', afterChunks: 2 });
    const controller = new AbortController();
    const res = await postJson(`${fake.url}/v1/chat/completions`, chat('imp', { stream: true }), { signal: controller.signal });
    const reader = res.body?.getReader();
    const decoder = new TextDecoder();
    let text = '';
    while (text.length < 256 * 1024) {
      const read = await reader?.read();
      if (read === undefined || read.done) break;
      text += decoder.decode(read.value, { stream: true });
    }
    controller.abort();
    expect(text.length).toBeGreaterThanOrEqual(256 * 1024);
    const completeEvents = text.split('\n\n').slice(0, -1);
    expect(completeEvents).toHaveLength(2);
    expect(text.slice(text.lastIndexOf('\n\n') + 2)).toMatch(/^data: \{"id":"chatcmpl-endless".*x{1000}$/s);
    await waitFor(() => fake.abortedCount() === 1, 10_000, 'abort to be recorded');
  });

  it('hang-after-headers answers 200 with streaming headers, then nothing until the client hangs up', async () => {
    const fake = await track(startOpenAIFake());
    await fake.setFault({ kind: 'hang-after-headers' });
    const controller = new AbortController();
    const res = await postJson(`${fake.url}/v1/chat/completions`, chat('imp', { stream: true }), { signal: controller.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    await waitFor(() => fake.inflightCount() === 1, 10_000, 'request in flight');
    controller.abort();
    await waitFor(() => fake.abortedCount() === 1, 10_000, 'abort to be recorded');
  });

  it('malformed-chunk inserts one invalid JSON event after afterChunks, then finishes normally', async () => {
    const fake = await track(startOpenAIFake());
    await fake.setFault({ kind: 'malformed-chunk', afterChunks: 2 });
    const read = await readStream(await postJson(`${fake.url}/v1/chat/completions`, chat('imp', { stream: true })));
    expect(read.error).toBeUndefined();
    const events = sseData(read.text);
    expect(events.at(-1)).toBe('[DONE]');
    const bad = events.filter((d) => {
      if (d === '[DONE]') return false;
      try {
        JSON.parse(d);
        return false;
      } catch {
        return true;
      }
    });
    expect(bad).toHaveLength(1);
    expect(events.indexOf(bad[0] ?? '')).toBe(2);
  });

  it('records an abort when the client disconnects mid-stream', async () => {
    const fake = await track(startOpenAIFake({ behaviour: { tokenIntervalMs: 20 } }));
    const controller = new AbortController();
    const res = await postJson(`${fake.url}/v1/chat/completions`, chat('imp', { stream: true }), { signal: controller.signal });
    const reader = res.body?.getReader();
    const first = await reader?.read();
    expect(first?.done).toBe(false);
    controller.abort();
    await waitFor(() => fake.abortedCount() === 1, 10_000, 'abort to be recorded');
    expect(fake.requests[0]?.aborted).toBe(true);
  });

  it('streams really arrive chunk by chunk with tokenIntervalMs between them', async () => {
    const fake = await track(startOpenAIFake({ behaviour: { tokenIntervalMs: 15 } }));
    const arrivals: number[] = [];
    const read = await readStream(await postJson(`${fake.url}/v1/chat/completions`, chat('imp', { stream: true })), () => arrivals.push(performance.now()));
    expect(sseJson(read.text).length).toBeGreaterThan(3);
    expect(arrivals.length).toBeGreaterThan(3);
    expect((arrivals.at(-1) ?? 0) - (arrivals[0] ?? 0)).toBeGreaterThanOrEqual(15 * 3);
  });
});
