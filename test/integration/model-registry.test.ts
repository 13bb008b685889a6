import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOllamaFake, type OllamaFake } from '../fakes/index.ts';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.ts';
import { waitFor } from '../support/wait-for.ts';
import { startWebhookReceiver } from '../support/webhook-receiver.ts';

let gateway: TestGateway;
let ollama: OllamaFake;
let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
let received: Awaited<ReturnType<typeof startWebhookReceiver>>['received'];
const first = 'a'.repeat(64);
const second = 'b'.repeat(64);

async function chat(count: number, model = 'mixtral'): Promise<number[]> {
  const statuses: number[] = [];
  for (let index = 0; index < count; index++) statuses.push((await gateway.api('POST', '/v1/chat/completions', { model, messages: [{ role: 'user', content: `hello ${index}` }], max_tokens: 8 })).status);
  await gateway.gateway.usage.flush({ force: true });
  return statuses;
}

beforeAll(async () => {
  ollama = await startOllamaFake({ models: [{ id: 'mixtral', capabilities: ['completion'], digest: first }, { id: 'phi3', capabilities: ['completion'] }, { id: 'hermes', capabilities: ['completion'] }] });
  receiver = await startWebhookReceiver();
  received = receiver.received;
  gateway = await startTestGateway();
  await gateway.api('POST', '/api/v1/model-servers', { name: 'gpu-1', server_type: 'ollama', base_url: ollama.url });
  await gateway.api('POST', '/api/v1/model-servers/health-check-all');
  const hook = await gateway.api('POST', '/api/v1/webhooks', { url: receiver.url, events: ['model.threshold_violated', 'model.threshold_recovered'], secret: 'whsec-registry-0123456789' });
  expect(hook.status, hook.text).toBe(201);
});

afterAll(async () => {
  await gateway.stop();
  receiver.close();
  await ollama.stop();
});

describe('model versions', () => {
  it('keeps each digest a model had, where and when, with daily figures per version that show a regression after an upgrade', async () => {
    await chat(6);
    ollama.repull('mixtral', second);
    await ollama.setBehaviour({ latencyMs: 60 });
    await gateway.api('POST', '/api/v1/model-servers/health-check-all');
    await chat(4);
    await ollama.setBehaviour({ latencyMs: 0 });

    const answer = await gateway.api('GET', `/api/v1/models/${encodeURIComponent('mixtral:latest')}/versions`);
    expect(answer.status, answer.text).toBe(200);
    const [newest, older] = answer.body.data;
    expect(answer.body.data).toHaveLength(2);
    expect(newest).toMatchObject({ version: second, digest: second, current: true, servers: [{ name: 'gpu-1', current: true }] });
    expect(older).toMatchObject({ version: first, current: false, servers: [{ name: 'gpu-1', current: false }] });
    expect(Date.parse(newest.first_seen_at)).toBeGreaterThanOrEqual(Date.parse(older.first_seen_at));
    const today = new Date().toISOString().slice(0, 10);
    expect(older.daily).toEqual([expect.objectContaining({ day: today, requests: 6, errors: 0 })]);
    expect(newest.daily).toEqual([expect.objectContaining({ day: today, requests: 4 })]);
    expect(newest.daily[0].p50_latency_ms).toBeGreaterThan(older.daily[0].p50_latency_ms + 40);

    expect((await gateway.api('GET', '/api/v1/models/nothing-here/versions')).status).toBe(404);
  });
});

describe('thresholds', () => {
  it('fire when live figures cross them and clear when they recover: webhook, audit, flag, performance report first', async () => {
    const put = await gateway.api('PUT', '/api/v1/models/phi3/thresholds', { max_error_rate: 0.3, p95_latency_ms: 60_000 });
    expect(put.status, put.text).toBe(201);
    await ollama.setFault({ kind: 'status', status: 500 }, ['/v1/chat/completions']);
    // The server's 500 reaches the client as the gateway's 502.
    expect(new Set(await chat(10, 'phi3'))).toEqual(new Set([502]));
    await ollama.clearFault();
    await chat(2, 'phi3');
    await gateway.gateway.models.thresholds.checkNow();

    await waitFor(() => received.find((event) => event.type === 'model.threshold_violated'), 'the violation webhook');
    const violated = received.find((event) => event.type === 'model.threshold_violated');
    expect(violated?.data).toMatchObject({ model: 'phi3', violation: [{ metric: 'max_error_rate', limit: 0.3 }] });
    const thresholds = (await gateway.api('GET', '/api/v1/models/phi3/thresholds')).body;
    expect(thresholds).toMatchObject({ max_error_rate: 0.3, violation: [{ metric: 'max_error_rate' }], violated_since: expect.any(String) });
    const registry = (await gateway.api('GET', '/api/v1/models/registry')).body.data;
    expect(registry.find((model: any) => model.id === 'phi3:latest').threshold_violation).toEqual([expect.objectContaining({ metric: 'max_error_rate' })]);
    const report = (await gateway.api('GET', '/api/v1/models/performance')).body.data;
    expect(report[0]).toMatchObject({ model: 'phi3:latest', violation: [expect.objectContaining({ metric: 'max_error_rate' })] });
    expect(report[0].suggestions[0]).toContain('compare its versions');
    const audit = (await gateway.api('GET', '/api/v1/audit?action=model.threshold_violated')).body.data;
    expect(audit[0]).toMatchObject({ target_type: 'model', target_id: 'phi3' });

    // A second check with the same figures says nothing new.
    await gateway.gateway.models.thresholds.checkNow();
    await chat(30, 'phi3');
    await gateway.gateway.models.thresholds.checkNow();
    await waitFor(() => received.find((event) => event.type === 'model.threshold_recovered'), 'the recovery webhook');
    expect(received.filter((event) => event.type === 'model.threshold_violated')).toHaveLength(1);
    expect((await gateway.api('GET', '/api/v1/models/phi3/thresholds')).body.violation).toBeNull();
  });

  it('refuses bad thresholds with a 400 naming the field', async () => {
    for (const [body, param] of [[{}, 'p95_latency_ms'], [{ max_error_rate: 2 }, 'max_error_rate'], [{ p95_ttft_ms: -1 }, 'p95_ttft_ms']] as const) {
      const response = await gateway.api('PUT', '/api/v1/models/openchat/thresholds', body);
      expect(response.status, response.text).toBe(400);
      expect(response.body.error.param).toBe(param);
    }
  });
});

describe('deactivation', () => {
  it('a deactivated model is listed as inactive but never routed to (nothing reaches the server, no cache answers), until activated', async () => {
    expect((await gateway.api('PUT', '/api/v1/cache-policies/mixtral', { mode: 'exact', ttl_s: 600 })).status).toBe(201);
    const cached = { model: 'mixtral', messages: [{ role: 'user', content: 'cache me' }] };
    await gateway.api('POST', '/v1/chat/completions', cached);
    expect((await gateway.api('POST', '/v1/chat/completions', cached)).headers.get('x-switchyard-cache')).toBe('hit');
    expect((await gateway.api('POST', '/api/v1/models/mixtral/deactivate')).body).toEqual({ model: 'mixtral', active: false });
    const fromCache = await gateway.api('POST', '/v1/chat/completions', cached);
    expect(fromCache.status).toBe(404);
    expect(fromCache.body.error.code).toBe('SY_MODEL_DEACTIVATED');
    const embedded = await gateway.api('POST', '/v1/embeddings', { model: 'mixtral', input: 'vectors' });
    expect(embedded.body.error.code).toBe('SY_MODEL_DEACTIVATED');
    const before = ollama.requests.length;
    const refused = await gateway.api('POST', '/v1/chat/completions', { model: 'mixtral', messages: [{ role: 'user', content: 'hi' }] });
    expect(refused.status).toBe(404);
    expect(refused.body.error).toMatchObject({ code: 'SY_MODEL_DEACTIVATED', param: 'model' });
    expect(refused.body.error.message).toContain('deactivated');
    expect(ollama.requests.length).toBe(before);

    const registry = (await gateway.api('GET', '/api/v1/models/registry')).body.data;
    expect(registry.find((model: any) => model.id === 'mixtral:latest')).toMatchObject({ active: false });
    const inventory = (await gateway.api('GET', '/api/v1/inventory')).body.models;
    expect(inventory.find((model: any) => model.id === 'mixtral:latest')).toMatchObject({ active: false });

    // A route skips a deactivated target for its fallback.
    await gateway.api('POST', '/api/v1/routes', { name: 'assistant', targets: ['mixtral'], fallbacks: ['hermes'] });
    const routed = await gateway.api('POST', '/v1/chat/completions', { model: 'assistant', messages: [{ role: 'user', content: 'hi' }] });
    expect(routed.status).toBe(200);
    expect(routed.body.model).toBe('hermes:latest');

    expect((await gateway.api('POST', '/api/v1/models/mixtral/activate')).status).toBe(200);
    expect((await gateway.api('POST', '/v1/chat/completions', { model: 'mixtral', messages: [{ role: 'user', content: 'hi' }] })).status).toBe(200);
    const audit = (await gateway.api('GET', '/api/v1/audit?target_type=model&target_id=mixtral')).body.data.map((entry: any) => entry.action);
    expect(audit).toEqual(expect.arrayContaining(['model.deactivate', 'model.activate']));
  });
});
