import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePrometheusText, type PrometheusSample } from '../../src/data/adapters/shared/prometheus-text.ts';
import { startOpenAIFake, type OpenAIFake } from '../fakes/index.ts';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';

let gateway: TestGateway;
let healthy: OpenAIFake;
let locked: OpenAIFake;
// Rate-limit windows follow this clock, which never moves: a slow machine cannot open a new window mid-test.
const now = Date.parse('2026-01-01T12:00:00.000Z');

beforeAll(async () => {
  [gateway, healthy, locked] = await Promise.all([
    startTestGateway({ clock: () => now, env: { SWITCHYARD_USAGE_FLUSH_MS: '20' } }),
    startOpenAIFake({ flavor: 'vllm', models: [{ id: 'yi34b', contextLength: 4096 }] }),
    // Answers every request with 401 unless it carries this key, which Switchyard is not given.
    startOpenAIFake({ flavor: 'vllm', apiKey: 'sk-upstream-right-key', models: [{ id: 'locked-model', contextLength: 4096 }] }),
  ]);
  await gateway.api('POST', '/api/v1/model-servers', { name: 'gpu', server_type: 'vllm', base_url: healthy.url });
  await gateway.api('POST', '/api/v1/model-servers', { name: 'locked', server_type: 'vllm', base_url: locked.url, api_key: 'sk-upstream-wrong-key' });
  await gateway.api('POST', '/api/v1/model-servers/health-check-all');
});

afterAll(async () => {
  await Promise.all([gateway.stop(), healthy.stop(), locked.stop()]);
});

async function createKey(body: Record<string, unknown>): Promise<{ id: string; key: string }> {
  const response = await gateway.api('POST', '/api/v1/keys', { scopes: ['inference'], ...body });
  expect(response.status, response.text).toBe(201);
  return response.body;
}

async function metrics(): Promise<PrometheusSample[]> {
  return parsePrometheusText((await gateway.api('GET', '/metrics')).text);
}

const value = (samples: PrometheusSample[], name: string, labels: Record<string, string>) =>
  samples.find((sample) => sample.name === name && Object.entries(labels).every(([label, wanted]) => sample.labels[label] === wanted))?.value;

const ask = (client: OpenAI, maxTokens = 8) => client.chat.completions.create({ model: 'yi34b', messages: [{ role: 'user', content: 'hi' }], max_tokens: maxTokens });

describe('requests refused by a key limit', () => {
  it('are counted by key and limit in llm_rate_limited_total, and recorded as usage with their error code', async () => {
    const rpm = await createKey({ name: 'chatbot', rpm: 1 });
    const tpm = await createKey({ name: 'indexer', tpm: 40 });
    const budget = await createKey({ name: 'trial', budget_tokens: 5 });
    const client = (key: string) => new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: key, maxRetries: 0 });

    await ask(client(rpm.key));
    await expect(ask(client(rpm.key))).rejects.toMatchObject({ status: 429, code: 'rate_limit_exceeded' });
    await expect(ask(client(rpm.key))).rejects.toMatchObject({ status: 429 });
    await expect(ask(client(tpm.key), 500)).rejects.toMatchObject({ status: 429, code: 'rate_limit_exceeded' });
    await expect(ask(client(budget.key))).rejects.toMatchObject({ status: 429, code: 'insufficient_quota' });

    const samples = await metrics();
    expect(value(samples, 'llm_rate_limited_total', { key_id: rpm.id, limit: 'rpm' })).toBe(2);
    expect(value(samples, 'llm_rate_limited_total', { key_id: tpm.id, limit: 'tpm' })).toBe(1);
    expect(value(samples, 'llm_rate_limited_total', { key_id: budget.id, limit: 'budget' })).toBe(1);
    expect(value(samples, 'llm_errors_total', { error_type: 'rate_limit_exceeded' })).toBe(3);

    await gateway.gateway.usage.flush({ force: true });
    const rows = await gateway.gateway.database.db.selectFrom('usage_records').select(['key_id', 'status', 'error_type', 'requested_model']).where('key_id', '=', rpm.id).orderBy('id').execute();
    expect(rows).toEqual([
      { key_id: rpm.id, status: 200, error_type: null, requested_model: 'yi34b' },
      { key_id: rpm.id, status: 429, error_type: 'rate_limit_exceeded', requested_model: 'yi34b' },
      { key_id: rpm.id, status: 429, error_type: 'rate_limit_exceeded', requested_model: 'yi34b' },
    ]);
  });

  it('show in analytics by key, under the key name, with an error breakdown', async () => {
    await gateway.gateway.usage.flush({ force: true });
    const byKey = (await gateway.api('GET', '/api/v1/analytics/usage?group_by=key')).body;
    const chatbot = byKey.data.find((group: { key_name: string }) => group.key_name === 'chatbot');
    expect(chatbot).toMatchObject({ key_name: 'chatbot', internal: false, requests: 3, successes: 1, errors: { rate_limit_exceeded: 2 } });
    expect(chatbot.group).toBe(chatbot.key_id);
    expect(byKey.data.find((group: { key_name: string }) => group.key_name === 'trial')).toMatchObject({ errors: { insufficient_quota: 1 } });
    expect(byKey.total.errors).toMatchObject({ rate_limit_exceeded: 3, insufficient_quota: 1 });
  });
});

describe('benchmark traffic in analytics by key', () => {
  it('is one group labelled "benchmark (internal)", not one raw key id per run', async () => {
    await ask(new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: adminKey, maxRetries: 0 }));
    for (let run = 0; run < 2; run++) expect((await gateway.api('POST', '/api/v1/models/yi34b/benchmark', { runs: 2, max_tokens: 4 })).status).toBe(200);
    await gateway.gateway.usage.flush({ force: true });
    const groups = (await gateway.api('GET', '/api/v1/analytics/usage?group_by=key')).body.data as Array<{ group: string; key_name: string | null; internal: boolean; requests: number }>;
    const internal = groups.filter((group) => group.internal);
    expect(internal).toHaveLength(1);
    expect(internal[0]).toMatchObject({ group: 'benchmark', key_name: 'benchmark (internal)', key_id: null, requests: 4 });
    expect(groups.some((group) => group.group.startsWith('benchmark-'))).toBe(false);
    expect(groups.find((group) => group.group === 'env-admin')).toMatchObject({ key_name: 'SWITCHYARD_ADMIN_KEY' });
  });
});

describe('server status metrics', () => {
  it('tell a server that answers but rejects its key (model_server_up 1, model_server_usable 0, status misconfigured) from a usable one', async () => {
    const servers = (await gateway.api('GET', '/api/v1/model-servers')).body.data as Array<{ name: string; status_reason: string | null }>;
    expect(servers.find((server) => server.name === 'locked')).toMatchObject({ status_reason: 'misconfigured' });
    const samples = await metrics();
    expect(value(samples, 'model_server_up', { server: 'locked' })).toBe(1);
    expect(value(samples, 'model_server_usable', { server: 'locked' })).toBe(0);
    expect(value(samples, 'model_server_status', { server: 'locked', status: 'misconfigured' })).toBe(1);
    expect(value(samples, 'model_server_status', { server: 'locked', status: 'degraded' })).toBe(0);
    expect(value(samples, 'model_server_up', { server: 'gpu' })).toBe(1);
    expect(value(samples, 'model_server_usable', { server: 'gpu' })).toBe(1);
    expect(value(samples, 'model_server_status', { server: 'gpu', status: 'online' })).toBe(1);
    expect(samples.filter((sample) => sample.name === 'model_server_status' && sample.labels['server'] === 'gpu' && sample.value === 1)).toHaveLength(1);
  });

  it('follow the server: fixed key usable again, deleted server gone', async () => {
    const locked = ((await gateway.api('GET', '/api/v1/model-servers')).body.data as Array<{ id: string; name: string }>).find((server) => server.name === 'locked');
    expect((await gateway.api('PUT', `/api/v1/model-servers/${locked?.id}`, { api_key: 'sk-upstream-right-key' })).status).toBe(200);
    await gateway.api('POST', '/api/v1/model-servers/health-check-all');
    let samples = await metrics();
    expect(value(samples, 'model_server_usable', { server: 'locked' })).toBe(1);
    expect(value(samples, 'model_server_status', { server: 'locked', status: 'online' })).toBe(1);
    expect((await gateway.api('DELETE', `/api/v1/model-servers/${locked?.id}`)).status).toBe(204);
    samples = await metrics();
    expect(samples.some((sample) => sample.name.startsWith('model_server_') && sample.labels['server'] === 'locked')).toBe(false);
  });
});
