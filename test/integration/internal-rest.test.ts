import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAIFake, type OpenAIFake } from '../fakes/index.ts';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';
import { InternalRest, RestError, type Caller } from '../../src/http/internal/internal-rest.ts';
import { waitUntil } from '../support/wait-until.ts';

// The seam GraphQL, WebSocket and gRPC stand on: REST, in-process, with the caller's credentials.
let gateway: TestGateway;
let fake: OpenAIFake;
let rest: InternalRest;
const admin: Caller = { authorization: adminKey, via: 'graphql' };

beforeAll(async () => {
  [gateway, fake] = await Promise.all([startTestGateway(), startOpenAIFake({ flavor: 'vllm', models: [{ id: 'chatty' }], behaviour: { tokenIntervalMs: 5 } })]);
  expect((await gateway.api('POST', '/api/v1/model-servers', { name: 'gpu-1', base_url: fake.url })).status).toBe(201);
  await gateway.api('POST', '/api/v1/model-servers/health-check-all');
  rest = new InternalRest(gateway.gateway.app);
});

afterAll(async () => {
  await Promise.all([gateway.stop(), fake.stop()]);
});

async function usageApis(): Promise<string[]> {
  await gateway.gateway.usage.flush({ force: true });
  const rows = await gateway.gateway.database.db.selectFrom('usage_records').select(['api']).execute();
  return rows.map((row) => row.api);
}

describe('REST in-process for the other front doors', () => {
  it('answers with the caller\'s own scopes, and refuses without a key in the catalogue\'s terms', async () => {
    const servers = await rest.json<{ data: Array<{ name: string }> }>(admin, 'GET', '/api/v1/model-servers');
    expect(servers.body.data.map((server) => server.name)).toEqual(['gpu-1']);
    const refused = await rest.json({ via: 'grpc' }, 'GET', '/api/v1/model-servers').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(RestError);
    expect(refused).toMatchObject({ status: 401, code: 'SY_UNAUTHENTICATED' });
  });

  it('streams a chat as its events arrive and records it under the front door it came in on', async () => {
    const events: string[] = [];
    for await (const event of rest.events(admin, 'POST', '/v1/chat/completions', { model: 'chatty', stream: true, messages: [{ role: 'user', content: 'hello' }] }, new AbortController().signal)) events.push(event.data);
    expect(events.at(-1)).toBe('[DONE]');
    expect(events.length).toBeGreaterThan(2);
    expect(await usageApis()).toContain('graphql');
  });

  it('ignores the front-door marker when it arrives from the network', async () => {
    const before = (await usageApis()).filter((api) => api === 'openai').length;
    const answer = await gateway.api('POST', '/v1/chat/completions', { model: 'chatty', messages: [{ role: 'user', content: 'hi' }] }, { 'x-switchyard-via': 'grpc' });
    expect(answer.status).toBe(200);
    expect((await usageApis()).filter((api) => api === 'openai').length).toBe(before + 1);
  });

  it('hangs up the upstream call when the caller aborts mid-stream', async () => {
    await fake.setBehaviour({ tokenIntervalMs: 200 });
    fake.resetRequests();
    const controller = new AbortController();
    const seen: string[] = [];
    for await (const event of rest.events(admin, 'POST', '/v1/chat/completions', { model: 'chatty', stream: true, max_tokens: 200, messages: [{ role: 'user', content: 'a long story' }] }, controller.signal)) {
      seen.push(event.data);
      controller.abort();
    }
    expect(seen).toHaveLength(1);
    await waitUntil(() => fake.abortedCount() === 1, { what: 'the upstream call to be aborted' });
    await fake.setBehaviour({ tokenIntervalMs: 5 });
  });

  it('hangs up before the answer starts: a call whose model server has not answered yet is cancelled upstream', async () => {
    await fake.setBehaviour({ latencyMs: 30_000 });
    fake.resetRequests();
    try {
      const unary = new AbortController();
      const pending = rest.json(admin, 'POST', '/v1/chat/completions', { model: 'chatty', messages: [{ role: 'user', content: 'slow' }] }, unary.signal).catch((error: unknown) => error);
      await waitUntil(() => fake.requests.length === 1, { what: 'the upstream call to start' });
      unary.abort(new Error('deadline'));
      expect(await pending).toMatchObject({ message: 'deadline' });
      await waitUntil(() => fake.abortedCount() === 1, { what: 'the upstream call to be aborted' });
      const streamed = new AbortController();
      const events = rest.events(admin, 'POST', '/v1/chat/completions', { model: 'chatty', stream: true, messages: [{ role: 'user', content: 'slow' }] }, streamed.signal);
      const first = events.next();
      await waitUntil(() => fake.requests.length === 2, { what: 'the upstream stream to start' });
      streamed.abort();
      expect(await first).toEqual({ done: true, value: undefined });
      await waitUntil(() => fake.abortedCount() === 2, { what: 'the upstream stream to be aborted' });
      // Aborted before it is sent: REST is not asked at all.
      const early = new AbortController();
      early.abort(new Error('too late'));
      expect(await rest.json(admin, 'GET', '/api/v1/model-servers', undefined, early.signal).catch((error: unknown) => error)).toMatchObject({ message: 'too late' });
    } finally {
      await fake.setBehaviour({ latencyMs: 0 });
    }
  });

  it('throws the REST error before a stream begins', async () => {
    const failure = await (async () => {
      for await (const _event of rest.events(admin, 'POST', '/v1/chat/completions', { model: 'nobody', stream: true, messages: [{ role: 'user', content: 'x' }] }, new AbortController().signal)) return null;
      return null;
    })().catch((error: unknown) => error);
    expect(failure).toMatchObject({ status: 404, code: 'model_not_found' });
  });

  it('serves live figures as a stream', async () => {
    const controller = new AbortController();
    const metrics = rest.events(admin, 'GET', '/api/v1/metrics/live?interval_ms=250', undefined, controller.signal);
    const first = await metrics.next();
    const snapshot = JSON.parse((first.value as { data: string }).data) as Record<string, unknown>;
    expect(snapshot).toMatchObject({ interval_ms: 250, window_s: 10, in_flight: 0 });
    expect(snapshot['requests_per_s']).toBeGreaterThan(0);
    controller.abort();
  });

  it('announces a model status change', async () => {
    const watching = new AbortController();
    const changes = rest.events(admin, 'GET', '/api/v1/models/status/events', undefined, watching.signal);
    const next = changes.next();
    await fake.stop();
    // A server is offline after SWITCHYARD_HEALTH_FAILURES_TO_OFFLINE failed checks in a row.
    for (let round = 0; round < 3; round++) await gateway.api('POST', '/api/v1/model-servers/health-check-all');
    const change = JSON.parse(((await next).value as { data: string }).data) as Record<string, unknown>;
    expect(change).toMatchObject({ model: 'chatty', status: 'unavailable', servers: ['gpu-1'] });
    watching.abort();
    await fake.restart();
  });
});
