import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor, type FakeModel, type OpenAIFake } from '../fakes/index.ts';
import { adminKey, type TestGateway } from '../support/gateway-harness.ts';
import { startVllmFleet as fleet, stopVllmFleets } from '../support/vllm-fleet.ts';

// Model servers that answer what they should not: the gateway must count it as
// their failure, retry while nothing reached the caller, and never hand it on.

afterEach(stopVllmFleets);

const ask = (client: OpenAI, model = 'yi34b') => client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] }).withResponse();

/** A streamed chat read as raw SSE text (what the wire carries, not what a client makes of it). */
async function streamText(gateway: TestGateway, model = 'yi34b'): Promise<{ status: number; headers: Headers; text: string }> {
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'a long answer please' }], stream: true }),
  });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

function dataLines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .filter((line) => line.startsWith('data:'))
    .map((line) => line.slice(5).trim());
}

const chatCalls = (fake: OpenAIFake | undefined) => (fake?.requests ?? []).filter((request) => request.path === '/v1/chat/completions').length;

async function metricsText(gateway: TestGateway): Promise<string> {
  return (await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${adminKey}` } })).text();
}

/** Asks until the faulty server has been tried at least once (ties are broken at random); every answer must come from `healthy`. */
async function askUntilTried(faulty: OpenAIFake | undefined, attempt: () => Promise<string | null>, healthy: string): Promise<void> {
  for (let round = 0; round < 50 && chatCalls(faulty) === 0; round++) expect(await attempt()).toBe(healthy);
  expect(chatCalls(faulty)).toBeGreaterThan(0);
}

describe('an SSE event that never ends', () => {
  it('ends the stream at the event size cap with one error event, aborts the upstream call and strikes the server', async () => {
    const { gateway, fakes } = await fleet(1, { SWITCHYARD_MAX_EVENT_BYTES: '65536', SWITCHYARD_BREAKER_FAILURE_THRESHOLD: '1' });
    await fakes[0]?.setFault({ kind: 'endless-event', afterChunks: 2 });
    const { status, text } = await streamText(gateway);
    expect(status).toBe(200);
    const events = dataLines(text);
    expect(events.slice(0, 2).map((event) => JSON.parse(event).object)).toEqual(['chat.completion.chunk', 'chat.completion.chunk']);
    expect(events).toHaveLength(3);
    expect(JSON.parse(events[2] ?? '')).toMatchObject({ error: { code: 'SY_UPSTREAM_PROTOCOL', type: 'upstream_error' } });
    expect(text).not.toContain('chatcmpl-endless');
    expect(text).not.toContain('[DONE]');
    await waitFor(() => (fakes[0]?.abortedCount() ?? 0) === 1, 10_000, 'upstream call aborted');
    const metrics = await metricsText(gateway);
    expect(metrics).toMatch(/llm_errors_total\{error_type="SY_UPSTREAM_PROTOCOL"\} 1/);
    expect(metrics).toMatch(/llm_circuit_state\{server="gpu-0",model="yi34b"\} 1/);
  });

  it('retries an over-size first event on another server: the caller never sees it', async () => {
    const { gateway, fakes } = await fleet(2, { SWITCHYARD_MAX_EVENT_BYTES: '65536' });
    await fakes[0]?.setFault({ kind: 'endless-event', afterChunks: 0 });
    await askUntilTried(fakes[0], async () => {
      const { status, headers, text } = await streamText(gateway);
      expect(status).toBe(200);
      expect(dataLines(text).at(-1)).toBe('[DONE]');
      return headers.get('x-switchyard-server');
    }, 'gpu-1');
  });
});

describe('answers that are not JSON', () => {
  it('retries a 200 whose body is not JSON on another server', async () => {
    const { fakes, client } = await fleet(2);
    await fakes[0]?.setFault({ kind: 'garbage' }, ['/v1/chat/completions']);
    await askUntilTried(fakes[0], async () => {
      const { data, response } = await ask(client);
      expect(data.choices[0]?.message.content).toContain('Hello from yi34b');
      return response.headers.get('x-switchyard-server');
    }, 'gpu-1');
  });

  it('answers 502 without echoing the body when every server answers a 200 that is not JSON, and counts a protocol failure', async () => {
    const { gateway, fakes, client } = await fleet(2, { SWITCHYARD_BREAKER_FAILURE_THRESHOLD: '1' });
    for (const fake of fakes) await fake.setFault({ kind: 'garbage' });
    const error = await ask(client).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
    expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe('SY_UPSTREAM_PROTOCOL');
    expect(JSON.stringify((error as InstanceType<typeof OpenAI.APIError>).error)).not.toContain('oops');
    expect(chatCalls(fakes[0]) + chatCalls(fakes[1])).toBe(2);
    const metrics = await metricsText(gateway);
    expect(metrics).toMatch(/llm_circuit_state\{server="gpu-0",model="yi34b"\} 1/);
    expect(metrics).toMatch(/llm_circuit_state\{server="gpu-1",model="yi34b"\} 1/);
  });

  it('checks pass-through embeddings too', async () => {
    const models: FakeModel[] = [{ id: 'bge', capabilities: ['embedding'] }];
    const { gateway, fakes } = await fleet(1, {}, models);
    await fakes[0]?.setFault({ kind: 'garbage' }, ['/v1/embeddings']);
    const response = await gateway.api('POST', '/v1/embeddings', { model: 'bge', input: 'hello' });
    expect(response.status).toBe(502);
    expect(response.body.error.code).toBe('SY_UPSTREAM_PROTOCOL');
    expect(response.text).not.toContain('oops');
  });
});

describe('streams of malformed events', () => {
  it('retries a stream whose first event is not JSON on another server', async () => {
    const { gateway, fakes } = await fleet(2);
    await fakes[0]?.setFault({ kind: 'malformed-chunk', afterChunks: 0 });
    await askUntilTried(fakes[0], async () => {
      const { headers, text } = await streamText(gateway);
      const events = dataLines(text);
      expect(events.at(-1)).toBe('[DONE]');
      for (const event of events.slice(0, -1)) expect(() => JSON.parse(event)).not.toThrow();
      return headers.get('x-switchyard-server');
    }, 'gpu-1');
  });

  it('ends a stream with an error event at its first malformed event after the first byte, and counts a protocol failure', async () => {
    const { gateway, fakes, client } = await fleet(1, { SWITCHYARD_BREAKER_FAILURE_THRESHOLD: '1' });
    await fakes[0]?.setFault({ kind: 'malformed-chunk', afterChunks: 3 });
    const stream = await client.chat.completions.create({ model: 'yi34b', messages: [{ role: 'user', content: 'a long answer please' }], stream: true });
    let received = 0;
    const error = await (async () => {
      for await (const chunk of stream) if (chunk.choices.length > 0) received++;
    })().catch((caught: unknown) => caught);
    expect(received).toBe(3);
    // The openai client raises the error event as an APIError (a relayed broken event would be a SyntaxError).
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe('SY_UPSTREAM_PROTOCOL');
    await waitFor(() => (fakes[0]?.abortedCount() ?? 0) === 1, 10_000, 'upstream call aborted');
    const metrics = await metricsText(gateway);
    expect(metrics).toMatch(/llm_errors_total\{error_type="SY_UPSTREAM_PROTOCOL"\} 1/);
    expect(metrics).toMatch(/llm_circuit_state\{server="gpu-0",model="yi34b"\} 1/);
  });
});

describe('model ids that are not valid in a header', () => {
  const odd: FakeModel[] = [{ id: 'modèle-🚀' }, { id: 'line\nbreak' }];

  it('answers normally in one attempt with the id percent-encoded in the header, and no strike against the server', async () => {
    const { gateway, fakes, client } = await fleet(1, { SWITCHYARD_BREAKER_FAILURE_THRESHOLD: '1' }, odd);
    // A caller cannot name a model with a newline, but a route can lead to one a server reports.
    expect((await gateway.api('POST', '/api/v1/routes', { name: 'odd-route', targets: ['line\nbreak'] })).status).toBe(201);
    for (const [asked, served] of [['modèle-🚀', 'modèle-🚀'], ['odd-route', 'line\nbreak']]) {
      const { data, response } = await ask(client, asked);
      expect(data.choices[0]?.message.content).toContain('Hello from');
      expect(response.headers.get('x-switchyard-attempts')).toBe('1');
      expect(decodeURIComponent(response.headers.get('x-switchyard-model') ?? '')).toBe(served);
    }
    const streamed = await streamText(gateway, 'modèle-🚀');
    expect(streamed.status).toBe(200);
    expect(dataLines(streamed.text).at(-1)).toBe('[DONE]');
    expect(streamed.headers.get('x-switchyard-model')).toBe(encodeURIComponent('modèle-🚀'));
    expect(chatCalls(fakes[0])).toBe(3);
    const metrics = await metricsText(gateway);
    expect(metrics).not.toMatch(/llm_circuit_state\{[^}]*\} 1/);
  });
});

describe('servers that hang', () => {
  it('gives up on a hanging server after one first-byte timeout instead of waiting on it again', async () => {
    const { fakes, client } = await fleet(1, { SWITCHYARD_FIRST_BYTE_TIMEOUT_MS: '300', SWITCHYARD_NON_STREAM_TIMEOUT_MS: '300' });
    await fakes[0]?.setFault({ kind: 'hang' }, ['/v1/chat/completions']);
    const error = await ask(client).catch((caught: unknown) => caught);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(504);
    expect(chatCalls(fakes[0])).toBe(1);
  });

  it('moves on to the next server after a first-byte timeout, each tried once', async () => {
    const { fakes, client } = await fleet(2, { SWITCHYARD_FIRST_BYTE_TIMEOUT_MS: '300', SWITCHYARD_NON_STREAM_TIMEOUT_MS: '300' });
    for (const fake of fakes) await fake.setFault({ kind: 'hang' }, ['/v1/chat/completions']);
    const error = await ask(client).catch((caught: unknown) => caught);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(504);
    expect([chatCalls(fakes[0]), chatCalls(fakes[1])]).toEqual([1, 1]);
  });

  it('lets a stream that has started run past the request deadline (the deadline bounds the wait for an answer)', async () => {
    // The first event comes at once (well within the deadline, even under load); the whole stream takes about 4 s.
    const { gateway, fakes } = await fleet(1, { SWITCHYARD_REQUEST_DEADLINE_MS: '1500' });
    await fakes[0]?.setBehaviour({ tokenIntervalMs: 100 });
    fakes[0]?.setReply('many words '.repeat(20));
    const { text } = await streamText(gateway);
    expect(dataLines(text).at(-1)).toBe('[DONE]');
    expect(fakes[0]?.abortedCount()).toBe(0);
  });

  it('moves a stream whose server sent headers and then nothing on to the next server', async () => {
    // The healthy server sends an event every 2 ms: a second of silence is the hanging one's.
    const { gateway, fakes } = await fleet(2, { SWITCHYARD_IDLE_TIMEOUT_MS: '1000' });
    await fakes[0]?.setFault({ kind: 'hang-after-headers' });
    await askUntilTried(fakes[0], async () => {
      const { headers, text } = await streamText(gateway);
      expect(dataLines(text).at(-1)).toBe('[DONE]');
      return headers.get('x-switchyard-server');
    }, 'gpu-1');
  });
});
