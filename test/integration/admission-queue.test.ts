import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAIFake, type OpenAIFake } from '../fakes/index.ts';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';
import { waitUntil } from '../support/wait-until.ts';

// Two gateways over capacity-limited fakes: one with the default queue, one with a tiny queue and a short wait.
let roomy: TestGateway;
let tight: TestGateway;
let busy: OpenAIFake;
let slow: OpenAIFake;

beforeAll(async () => {
  [roomy, tight, busy, slow] = await Promise.all([
    startTestGateway(),
    startTestGateway({ env: { SWITCHYARD_QUEUE_MAX_LENGTH: '2', SWITCHYARD_QUEUE_MAX_WAIT_MS: '300' } }),
    startOpenAIFake({ flavor: 'vllm', models: [{ id: 'busy-model' }], behaviour: { tokenIntervalMs: 100, capacity: { slots: 2 } } }),
    startOpenAIFake({ flavor: 'vllm', models: [{ id: 'slow-model' }], behaviour: { tokenIntervalMs: 200, capacity: { slots: 1 } } }),
  ]);
  expect((await roomy.api('POST', '/api/v1/model-servers', { name: 'gpu', server_type: 'vllm', base_url: busy.url, max_concurrency: 2 })).status).toBe(201);
  expect((await tight.api('POST', '/api/v1/model-servers', { name: 'gpu', server_type: 'vllm', base_url: slow.url, max_concurrency: 1 })).status).toBe(201);
  await Promise.all([roomy.api('POST', '/api/v1/model-servers/health-check-all'), tight.api('POST', '/api/v1/model-servers/health-check-all')]);
});

afterAll(async () => {
  await Promise.all([roomy.stop(), tight.stop(), busy.stop(), slow.stop()]);
});

function chat(gateway: TestGateway, model: string, signal?: AbortSignal): Promise<Response> {
  return fetch(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ model, stream: true, max_tokens: 8, messages: [{ role: 'user', content: 'queue me' }] }), ...(signal === undefined ? {} : { signal }) });
}

async function metric(gateway: TestGateway, pattern: RegExp): Promise<number | null> {
  const match = pattern.exec((await gateway.api('GET', '/metrics')).text);
  return match === null ? null : Number(match[1]);
}

describe('admission when every deployment is at capacity', () => {
  it('queues in the gateway instead of overloading the server, and answers every request', async () => {
    let started = 0;
    const answers = Array.from({ length: 8 }, () => chat(roomy, 'busy-model').then(async (response) => {
      started++;
      return { status: response.status, text: await response.text() };
    }));
    await waitUntil(async () => (await metric(roomy, /^llm_queue_depth\{model="busy-model"\} (\d+)$/m)) === 6, { what: 'six requests to wait in the gateway' });
    // A queued stream has not started: no status line, no headers, until it is dispatched.
    await waitUntil(() => started === 2, { what: 'the two running streams to start' });
    expect((await roomy.api('GET', '/api/v1/queues')).body.data[0].waiting).toBe(6);
    expect(started).toBe(2);
    const queues = await roomy.api('GET', '/api/v1/queues');
    expect(queues.body.data).toEqual([expect.objectContaining({ model: 'busy-model', waiting: 6, waiting_by_class: { interactive: 0, standard: 6, batch: 0 }, running: 2, capacity: 2 })]);
    expect(queues.body.settings).toEqual({ max_length: 100, max_wait_ms: 30_000, weights: 'interactive=8,standard=4,batch=1' });
    const results = await Promise.all(answers);
    expect(results.every((result) => result.status === 200 && result.text.includes('[DONE]'))).toBe(true);
    // The server never had more than its two slots asked of it, and nothing ever waited inside it.
    expect(busy.capacityReadings()).toMatchObject({ maxRunning: 2, maxWaiting: 0 });
    expect(await metric(roomy, /^llm_queue_wait_seconds_count\{model="busy-model"\} (\d+)$/m)).toBe(6);
    // Each usage record says how long it waited: six did, two did not.
    await roomy.gateway.usage.flush({ force: true });
    const usage = (await roomy.api('GET', '/api/v1/analytics/usage?group_by=model')).body.data.find((group: { group: string }) => group.group === 'busy-model');
    expect(usage).toMatchObject({ requests: 8, queued: 6 });
    expect(usage.p95_queue_wait_ms).toBeGreaterThan(0);
  });

  it('takes a request that leaves while it waits out of the queue at once; the server never sees it', async () => {
    const before = busy.requests.length;
    const running = [chat(roomy, 'busy-model'), chat(roomy, 'busy-model')];
    await waitUntil(() => busy.capacityReadings()?.running === 2, { what: 'both slots to be busy' });
    const leaving = new AbortController();
    const queued = chat(roomy, 'busy-model', leaving.signal).catch(() => 'left');
    await waitUntil(async () => (await metric(roomy, /^llm_queue_depth\{model="busy-model"\} (\d+)$/m)) === 1, { what: 'the request to queue' });
    leaving.abort();
    expect(await queued).toBe('left');
    await waitUntil(async () => (await metric(roomy, /^llm_requests_shed_total\{model="busy-model",reason="client_gone"\} (\d+)$/m)) === 1, { what: 'the leaver to be counted' });
    await Promise.all((await Promise.all(running)).map((response) => response.text()));
    expect(busy.requests.length - before).toBe(2);
  });

  it('sheds with 429, Retry-After and a message naming the saturated model when the queue is full, or the wait too long', async () => {
    const first = chat(tight, 'slow-model');
    await waitUntil(() => slow.capacityReadings()?.running === 1, { what: 'the one slot to be busy' });
    const waiting = [chat(tight, 'slow-model'), chat(tight, 'slow-model')];
    await waitUntil(async () => (await metric(tight, /^llm_queue_depth\{model="slow-model"\} (\d+)$/m)) === 2, { what: 'the queue to fill' });
    const shed = await chat(tight, 'slow-model');
    expect(shed.status).toBe(429);
    expect(shed.headers.get('retry-after')).toBe('1');
    const body = (await shed.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('SY_MODEL_SATURATED');
    expect(body.error.message).toContain('slow-model');
    // The two waiting past SWITCHYARD_QUEUE_MAX_WAIT_MS (300 ms) while the first streams for longer are shed too.
    const late = await Promise.all(waiting);
    expect(late.map((response) => response.status)).toEqual([429, 429]);
    expect((await first).status).toBe(200);
    expect(await metric(tight, /^llm_requests_shed_total\{model="slow-model",reason="queue_full"\} (\d+)$/m)).toBe(1);
    expect(await metric(tight, /^llm_requests_shed_total\{model="slow-model",reason="queue_timeout"\} (\d+)$/m)).toBe(2);
  });

  it('counts a route and the model it targets against one capacity (the server never sees more than its slots)', async () => {
    const created = await roomy.api('POST', '/api/v1/routes', { name: 'busy-alias', targets: [{ model: 'busy-model' }] });
    expect(created.status).toBe(201);
    busy.resetRequests();
    const answers = [chat(roomy, 'busy-model'), chat(roomy, 'busy-alias'), chat(roomy, 'busy-model'), chat(roomy, 'busy-alias')];
    // Two run, two wait in one queue: each name alone would have let its two through, four at the server.
    await waitUntil(async () => (await metric(roomy, /^llm_queue_depth\{model="busy-model"\} (\d+)$/m)) === 2, { what: 'two requests to wait behind the two running' });
    const statuses = await Promise.all(answers.map(async (answer) => {
      const response = await answer;
      await response.text();
      return response.status;
    }));
    expect(statuses).toEqual([200, 200, 200, 200]);
    expect(busy.capacityReadings()?.maxRunning).toBeLessThanOrEqual(2);
    expect(busy.capacityReadings()?.maxWaiting).toBe(0);
    await roomy.api('DELETE', `/api/v1/routes/${created.body.id}`);
  });

  it('serves an interactive key\'s request ahead of a batch key\'s backlog', async () => {
    const keyOf = async (name: string, priority: string) => (await roomy.api('POST', '/api/v1/keys', { name, scopes: ['inference'], priority })).body.key as string;
    const batchKey = await keyOf('nightly-batch', 'batch');
    const personKey = await keyOf('a-person', 'interactive');
    expect((await roomy.api('GET', '/api/v1/keys')).body.data.find((key: { name: string }) => key.name === 'a-person').priority).toBe('interactive');
    const ask = (key: string, content: string) => fetch(`${roomy.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'busy-model', stream: true, messages: [{ role: 'user', content }] }) });
    busy.resetRequests();
    // Two batch requests hold both slots; four more wait; then a person asks.
    const answers = [ask(batchKey, 'batch 0'), ask(batchKey, 'batch 1')];
    await waitUntil(() => busy.capacityReadings()?.running === 2, { what: 'the batch job to hold both slots' });
    for (const index of [2, 3, 4, 5]) answers.push(ask(batchKey, `batch ${index}`));
    await waitUntil(async () => (await metric(roomy, /^llm_queue_depth\{model="busy-model"\} (\d+)$/m)) === 4, { what: 'the batch backlog to queue' });
    answers.push(ask(personKey, 'a person asks'), ask(personKey, 'and asks again'));
    const statuses = await Promise.all(answers.map(async (answer) => {
      const response = await answer;
      await response.text();
      return response.status;
    }));
    expect(statuses.every((status) => status === 200)).toBe(true);
    // Fair by key, weighted by class: both of the person's requests reached the server before the batch backlog's second,
    // which a batch-class person would not have (its second request would tie with it, and arrived later).
    const order = busy.requests.filter((request) => request.path === '/v1/chat/completions').map((request) => JSON.stringify(request.body));
    const at = (text: string) => order.findIndex((body) => body.includes(text));
    expect(at('a person asks')).toBeGreaterThanOrEqual(2);
    expect(at('and asks again')).toBeLessThan(at('batch 3'));
  });

  it('bounds an interactive key\'s wait while a batch key floods the queue', async () => {
    const flood = await startOpenAIFake({ flavor: 'vllm', models: [{ id: 'flood-model' }], behaviour: { tokenIntervalMs: 60, capacity: { slots: 2 } } });
    try {
      expect((await roomy.api('POST', '/api/v1/model-servers', { name: 'flood-gpu', server_type: 'vllm', base_url: flood.url, max_concurrency: 2 })).status).toBe(201);
      await roomy.api('POST', '/api/v1/model-servers/health-check-all');
      const keyOf = async (name: string, priority: string) => (await roomy.api('POST', '/api/v1/keys', { name, scopes: ['inference'], priority })).body.key as string;
      const batchKey = await keyOf('flood-batch', 'batch');
      const personKey = await keyOf('flood-person', 'interactive');
      const ask = (key: string, content: string) =>
        fetch(`${roomy.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'flood-model', stream: true, max_tokens: 3, messages: [{ role: 'user', content }] }) }).then(async (response) => {
          await response.text();
          return response.status;
        });
      const served = () => flood.requests.filter((request) => request.path === '/v1/chat/completions').map((request) => JSON.stringify(request.body));
      // 90 batch requests at once: two run, the rest wait (the queue holds 100).
      const batch = Array.from({ length: 90 }, (_, index) => ask(batchKey, `batch ${index}`));
      await waitUntil(async () => ((await metric(roomy, /^llm_queue_depth\{model="flood-model"\} (\d+)$/m)) ?? 0) >= 60, { what: 'the batch flood to queue' });
      // A person asks five times while the flood drains; each time, count what the server was sent before and after.
      const overtaken: number[] = [];
      for (let turn = 0; turn < 5; turn++) {
        const before = served().length;
        const status = await ask(personKey, `person ${turn}`);
        expect(status).toBe(200);
        overtaken.push(served().findIndex((body) => body.includes(`person ${turn}`)) - before);
        await waitUntil(() => served().length >= before + 4, { what: 'some of the flood to be served' });
      }
      // Weighted 8:1, a person's request goes ahead of all but the next batch request (give or take those dispatched
      // while it travelled through the gateway, about 90 ms each here), never behind the backlog of dozens.
      expect(Math.max(...overtaken)).toBeLessThanOrEqual(5);
      expect((await Promise.all(batch)).every((status) => status === 200)).toBe(true);
      expect(flood.capacityReadings()).toMatchObject({ maxRunning: 2, maxWaiting: 0 });
    } finally {
      await flood.stop();
    }
  });

  it('keeps each server within its own slots when a small and a big one serve a model (least-inflight by raw counts would not)', async () => {
    const [small, big] = await Promise.all([
      startOpenAIFake({ flavor: 'vllm', models: [{ id: 'mixed-model' }], behaviour: { tokenIntervalMs: 40, capacity: { slots: 1 } } }),
      startOpenAIFake({ flavor: 'vllm', models: [{ id: 'mixed-model' }], behaviour: { tokenIntervalMs: 40, capacity: { slots: 4 } } }),
    ]);
    try {
      expect((await roomy.api('POST', '/api/v1/model-servers', { name: 'mixed-small', server_type: 'vllm', base_url: small.url, max_concurrency: 1 })).status).toBe(201);
      expect((await roomy.api('POST', '/api/v1/model-servers', { name: 'mixed-big', server_type: 'vllm', base_url: big.url, max_concurrency: 4 })).status).toBe(201);
      expect((await roomy.api('POST', '/api/v1/routes', { name: 'mixed-model', strategy: 'least-inflight', targets: [{ model: 'mixed-model' }] })).status).toBe(201);
      await roomy.api('POST', '/api/v1/model-servers/health-check-all');
      // Three waves of five, each filling the five slots there are.
      for (let wave = 0; wave < 3; wave++) {
        const results = await Promise.all(Array.from({ length: 5 }, () => chat(roomy, 'mixed-model').then(async (response) => ({ status: response.status, text: await response.text() }))));
        expect(results.every((result) => result.status === 200 && result.text.includes('[DONE]'))).toBe(true);
      }
      expect(small.capacityReadings()).toMatchObject({ maxRunning: 1, maxWaiting: 0 });
      expect(big.capacityReadings()?.maxWaiting).toBe(0);
      expect(big.capacityReadings()?.maxRunning).toBeLessThanOrEqual(4);
    } finally {
      await Promise.all([small.stop(), big.stop()]);
    }
  });

  it('keeps a retried request\'s admission: it fails over without queueing again or taking a second share', async () => {
    const [broken, sound] = await Promise.all([
      startOpenAIFake({ flavor: 'vllm', models: [{ id: 'pair-model' }], behaviour: { tokenIntervalMs: 50, capacity: { slots: 1 }, fault: { kind: 'status', status: 503 }, faultPaths: ['/v1/chat/completions'] } }),
      startOpenAIFake({ flavor: 'vllm', models: [{ id: 'pair-model' }], behaviour: { tokenIntervalMs: 50, capacity: { slots: 1 } } }),
    ]);
    try {
      for (const [name, fake] of [['pair-broken', broken], ['pair-sound', sound]] as const) {
        expect((await roomy.api('POST', '/api/v1/model-servers', { name, server_type: 'vllm', base_url: fake.url, max_concurrency: 1 })).status).toBe(201);
      }
      await roomy.api('POST', '/api/v1/model-servers/health-check-all');
      const waitsBefore = (await metric(roomy, /^llm_queue_wait_seconds_count\{model="pair-model"\} (\d+)$/m)) ?? 0;
      const answers = Array.from({ length: 4 }, () => chat(roomy, 'pair-model').then(async (response) => ({ status: response.status, attempts: Number(response.headers.get('x-switchyard-attempts')), text: await response.text() })));
      const results = await Promise.all(answers);
      expect(results.map((result) => result.status)).toEqual([200, 200, 200, 200]);
      // Some went to the broken server first and were retried on the sound one before their first byte.
      expect(results.some((result) => result.attempts === 2)).toBe(true);
      // Two fit at once (capacity 1 + 1), so two queued, once each: a retry does not queue again.
      expect(((await metric(roomy, /^llm_queue_wait_seconds_count\{model="pair-model"\} (\d+)$/m)) ?? 0) - waitsBefore).toBe(2);
    } finally {
      await Promise.all([broken.stop(), sound.stop()]);
    }
  });
});
