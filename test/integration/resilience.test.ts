import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { adminKey } from '../support/gateway-harness.ts';
import { startVllmFleet as fleet, stopVllmFleets } from '../support/vllm-fleet.ts';
import { waitFor } from '../support/wait-for.ts';

afterEach(stopVllmFleets);

const ask = (client: OpenAI) => client.chat.completions.create({ model: 'yi34b', messages: [{ role: 'user', content: 'hi' }] }).withResponse();

describe('failover', () => {
  it('retries a refused connection on another server before the first byte: the caller never sees it', async () => {
    const { fakes, client } = await fleet(2);
    await fakes[0]?.stop();
    for (let round = 0; round < 6; round++) {
      const { data, response } = await ask(client);
      expect(data.choices[0]?.message.content).toContain('Hello from yi34b');
      expect(response.headers.get('x-switchyard-server')).toBe('gpu-1');
    }
  });

  it('retries a refused connection even when the retry budget is spent (it never reached a server), but not a 500', async () => {
    const { fakes, client } = await fleet(2, { SWITCHYARD_RETRY_BUDGET_RATIO: '0', SWITCHYARD_ROUTING_STRATEGY: 'round-robin', SWITCHYARD_BREAKER_FAILURE_THRESHOLD: '100' });
    await fakes[0]?.stop();
    // Round-robin sends every other request to the dead server first: 5 retries, beyond the budget's floor of 3.
    const attempts: Array<string | null> = [];
    for (let round = 0; round < 10; round++) {
      const { response } = await ask(client);
      expect(response.headers.get('x-switchyard-server')).toBe('gpu-1');
      attempts.push(response.headers.get('x-switchyard-attempts'));
    }
    expect(attempts.filter((count) => count === '2').length).toBeGreaterThanOrEqual(4);
    // A 500 did reach a server: once the floor is spent, it is not retried.
    await fakes[0]?.restart();
    await fakes[0]?.setFault({ kind: 'status', status: 500 });
    const statuses: number[] = [];
    for (let round = 0; round < 10; round++) statuses.push(await ask(client).then(() => 200, (error: unknown) => (error as InstanceType<typeof OpenAI.APIError>).status ?? 0));
    expect(statuses.filter((status) => status === 502).length).toBeGreaterThan(0);
  });

  it('loses no request that had not started streaming when a server dies under load, then skips it', async () => {
    const { fakes, client } = await fleet(3);
    const results = await Promise.all(
      Array.from({ length: 60 }, async (_, index) => {
        if (index === 20) await fakes[1]?.stop();
        return ask(client).then(({ response }) => response.headers.get('x-switchyard-server'));
      }),
    );
    expect(results).toHaveLength(60);
    // After the first failures the dead server is ejected: the last requests go elsewhere in one attempt.
    const tail = await Promise.all(Array.from({ length: 10 }, () => ask(client)));
    for (const { response } of tail) {
      expect(response.headers.get('x-switchyard-server')).not.toBe('gpu-1');
      expect(response.headers.get('x-switchyard-attempts')).toBe('1');
    }
  });

  it('puts a server back into rotation after it recovers', async () => {
    const { gateway, fakes, client } = await fleet(2, { SWITCHYARD_BREAKER_FAILURE_THRESHOLD: '1', SWITCHYARD_BREAKER_COOLDOWN_MS: '200' });
    await fakes[0]?.stop();
    for (let round = 0; round < 4; round++) await ask(client);
    await fakes[0]?.restart();
    await gateway.api('POST', '/api/v1/model-servers/health-check-all');
    // Once the breaker's cooldown has passed, the recovered server takes traffic again.
    await waitFor(async () => (await ask(client)).response.headers.get('x-switchyard-server') === 'gpu-0', 'gpu-0 back in rotation');
    const servers = new Set<string | null>();
    for (let round = 0; round < 20; round++) servers.add((await ask(client)).response.headers.get('x-switchyard-server'));
    expect(servers).toEqual(new Set(['gpu-0', 'gpu-1']));
  });

  it('retries a 500 elsewhere, and answers 502 in OpenAI\'s shape when every server fails', async () => {
    const { fakes, client } = await fleet(2);
    await fakes[0]?.setFault({ kind: 'status', status: 500 });
    const { response } = await ask(client);
    expect(response.headers.get('x-switchyard-server')).toBe('gpu-1');
    await fakes[1]?.setFault({ kind: 'status', status: 500, body: { error: 'secret internal detail sk-upstream-leak' } });
    const error = await ask(client).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
    expect(JSON.stringify((error as InstanceType<typeof OpenAI.APIError>).error)).not.toContain('sk-upstream-leak');
  });

  it('honours Retry-After: a 429 puts that server in cooldown', async () => {
    const { fakes, client } = await fleet(2);
    await fakes[0]?.setFault({ kind: 'status', status: 429, headers: { 'retry-after': '30' } });
    const hitGpu0 = () => (fakes[0]?.requests ?? []).some((request) => request.path === '/v1/chat/completions');
    // Ties are broken at random: ask until gpu-0 has answered its 429 once; the caller still gets an answer each time.
    for (let round = 0; round < 50 && !hitGpu0(); round++) {
      expect((await ask(client)).response.headers.get('x-switchyard-server')).toBe('gpu-1');
    }
    expect(hitGpu0()).toBe(true);
    await fakes[0]?.clearFault();
    fakes[0]?.resetRequests();
    for (let round = 0; round < 10; round++) expect((await ask(client)).response.headers.get('x-switchyard-server')).toBe('gpu-1');
    expect(fakes[0]?.requests).toHaveLength(0);
  });

  it('answers 429 with the server\'s Retry-After when every server is busy', async () => {
    const { fakes, client } = await fleet(1);
    await fakes[0]?.setFault({ kind: 'status', status: 429, headers: { 'retry-after': '7' } });
    const busy = await ask(client).catch((caught: unknown) => caught);
    expect((busy as InstanceType<typeof OpenAI.APIError>).status).toBe(429);
    expect((busy as InstanceType<typeof OpenAI.APIError>).headers?.get('retry-after')).toBe('7');
  });

  it('passes a caller error (400) straight back without retrying or counting it against the server', async () => {
    const { gateway, fakes, client } = await fleet(2);
    const error = await client.chat.completions.create({ model: 'yi34b', messages: [{ role: 'user', content: 'x' }], n: 2 }).catch((caught: unknown) => caught);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(400);
    const chatCalls = fakes.flatMap((fake) => fake.requests).filter((request) => request.path === '/v1/chat/completions');
    expect(chatCalls).toHaveLength(1);
    const servers = (await gateway.api('GET', '/api/v1/model-servers')).body.data;
    expect(servers.map((server: { health_status: string }) => server.health_status)).toEqual(['online', 'online']);
    expect((await ask(client)).response.headers.get('x-switchyard-attempts')).toBe('1');
  });
});

describe('health accounting from live traffic', () => {
  it('marks a server whose key is rejected misconfigured, and sends traffic elsewhere', async () => {
    const { gateway, fakes, client } = await fleet(2);
    fakes[0]?.setApiKey('sk-upstream-now-required');
    for (let round = 0; round < 8; round++) expect((await ask(client)).response.headers.get('x-switchyard-server')).toBe('gpu-1');
    const servers = await waitFor(async () => {
      const listed = (await gateway.api('GET', '/api/v1/model-servers')).body.data;
      return listed[0].status_reason === 'misconfigured' && listed;
    }, 'gpu-0 marked misconfigured');
    expect(servers[0]).toMatchObject({ name: 'gpu-0', health_status: 'degraded', status_reason: 'misconfigured' });
    expect(servers[0].status_message).toMatch(/rejected the stored API key \(HTTP 401\)/);
  });

  it('spreads requests over equal servers', async () => {
    const { client } = await fleet(3);
    const counts = new Map<string, number>();
    for (let round = 0; round < 150; round++) {
      const server = (await ask(client)).response.headers.get('x-switchyard-server') as string;
      counts.set(server, (counts.get(server) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual(['gpu-0', 'gpu-1', 'gpu-2']);
    for (const count of counts.values()) expect(count).toBeGreaterThan(25);
  });
});

describe('timeouts and streams', () => {
  it('ends a stream that runs past the maximum stream duration', async () => {
    const { fakes, client } = await fleet(1, { SWITCHYARD_MAX_STREAM_DURATION_MS: '1000' });
    await fakes[0]?.setBehaviour({ tokenIntervalMs: 300 });
    fakes[0]?.setReply('many words '.repeat(40));
    const stream = await client.chat.completions.create({ model: 'yi34b', messages: [{ role: 'user', content: 'x' }], stream: true });
    // The whole answer takes many seconds and would end cleanly: an error means the gateway cut it.
    const error = await (async () => {
      for await (const _chunk of stream) {
        // drain
      }
    })().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Error);
    await waitFor(() => fakes[0]?.abortedCount() === 1, 'upstream cancelled');
  });

  it('ends a stream whose server goes quiet for longer than the idle timeout', async () => {
    const { fakes, client } = await fleet(1, { SWITCHYARD_IDLE_TIMEOUT_MS: '200' });
    await fakes[0]?.setBehaviour({ tokenIntervalMs: 1_000 });
    const stream = await client.chat.completions.create({ model: 'yi34b', messages: [{ role: 'user', content: 'x' }], stream: true });
    // A slow stream that is left alone ends cleanly: an error means the idle timeout cut it.
    const error = await (async () => {
      for await (const _chunk of stream) {
        // drain
      }
    })().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Error);
    expect(String((error as Error).message)).toMatch(/stream broke off/);
  });

  it('bounds a server that never answers by the first-byte timeout, then tries the next', async () => {
    const { fakes, client } = await fleet(2, { SWITCHYARD_NON_STREAM_TIMEOUT_MS: '300' });
    await fakes[0]?.setFault({ kind: 'hang' }, ['/v1/chat/completions']);
    await fakes[1]?.setFault({ kind: 'hang' }, ['/v1/chat/completions']);
    // The fakes hang for ever: an answer at all means the first-byte timeout fired, and both servers were tried.
    const error = await ask(client).catch((caught: unknown) => caught);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(504);
    expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe('SY_UPSTREAM_TIMEOUT');
    for (const fake of fakes) expect(fake.requests.filter((request) => request.path === '/v1/chat/completions').length).toBeGreaterThan(0);
  });

  it('ends a stream that breaks mid-way with an error event the openai client raises, never a fake [DONE]', async () => {
    const { fakes, client } = await fleet(1);
    await fakes[0]?.setFault({ kind: 'drop-mid-stream', afterChunks: 3 });
    const stream = await client.chat.completions.create({ model: 'yi34b', messages: [{ role: 'user', content: 'a long answer please' }], stream: true });
    let received = 0;
    const error = await (async () => {
      for await (const chunk of stream) if (chunk.choices.length > 0) received++;
    })().catch((caught: unknown) => caught);
    expect(received).toBeGreaterThan(0);
    expect(error).toBeInstanceOf(Error);
    expect(String((error as Error).message)).toMatch(/stream broke off/);
  });

  it('never retries after the first streamed byte', async () => {
    const { fakes, client } = await fleet(2);
    await fakes[0]?.setFault({ kind: 'drop-mid-stream', afterChunks: 2 });
    await fakes[1]?.setFault({ kind: 'drop-mid-stream', afterChunks: 2 });
    const stream = await client.chat.completions.create({ model: 'yi34b', messages: [{ role: 'user', content: 'x' }], stream: true });
    await (async () => {
      for await (const _chunk of stream) {
        // drain
      }
    })().catch(() => undefined);
    const chatCalls = fakes.flatMap((fake) => fake.requests).filter((request) => request.path === '/v1/chat/completions');
    expect(chatCalls).toHaveLength(1);
  });

  it('cancels the upstream call at once when the client disconnects mid-stream', async () => {
    const { gateway, fakes } = await fleet(1);
    await fakes[0]?.setBehaviour({ tokenIntervalMs: 50 });
    const controller = new AbortController();
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      signal: controller.signal,
      headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'yi34b', messages: [{ role: 'user', content: 'a very long answer with many many words in it please' }], stream: true }),
    });
    const reader = response.body?.getReader();
    await reader?.read();
    controller.abort();
    await waitFor(() => fakes[0]?.abortedCount() === 1, 'upstream abort');
  });
});
