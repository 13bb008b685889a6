import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePrometheusText, type PrometheusSample } from '../../src/data/adapters/shared/prometheus-text.ts';
import { startOpenAIFake, type OpenAIFake } from '../fakes/index.ts';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';

let gateway: TestGateway;
let fakes: OpenAIFake[];
let client: OpenAI;
let metricsText = '';
let samples: PrometheusSample[] = [];
// Ties are broken at random: requests are sent until one has met the failing server (and failed over).
let failoverRound = 0;

beforeAll(async () => {
  gateway = await startTestGateway({ env: { SWITCHYARD_USAGE_FLUSH_MS: '50', SWITCHYARD_RETRY_BASE_DELAY_MS: '1' } });
  fakes = await Promise.all([0, 1].map(() => startOpenAIFake({ flavor: 'vllm', models: [{ id: 'yi34b', contextLength: 4096 }] })));
  for (const [index, fake] of fakes.entries()) await gateway.api('POST', '/api/v1/model-servers', { name: `gpu-${index}`, server_type: 'vllm', base_url: fake.url });
  await gateway.api('POST', '/api/v1/model-servers/health-check-all');
  client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: adminKey, maxRetries: 0 });
  await client.chat.completions.create({ model: 'yi34b', messages: [{ role: 'user', content: 'hello' }] });
  const stream = await client.chat.completions.create({ model: 'yi34b', messages: [{ role: 'user', content: 'stream please' }], stream: true });
  for await (const _chunk of stream) {
    // drain
  }
  await client.chat.completions.create({ model: 'made-up-model-name-xyz', messages: [{ role: 'user', content: 'x' }] }).catch(() => undefined);
  await fakes[0]?.setFault({ kind: 'status', status: 500 }, ['/v1/chat/completions']);
  fakes[0]?.resetRequests();
  const hitFailingServer = () => (fakes[0]?.requests ?? []).some((request) => request.path === '/v1/chat/completions');
  while (!hitFailingServer() && failoverRound < 50) {
    failoverRound++;
    // A new conversation each round: the same prompt would go to the same server every time (prefix affinity).
    await client.chat.completions.create({ model: 'yi34b', messages: [{ role: 'user', content: `again, round ${failoverRound}` }] });
  }
  await fakes[0]?.clearFault();
  const response = await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${adminKey}` } });
  metricsText = await response.text();
  samples = parsePrometheusText(metricsText);
});

afterAll(async () => {
  await gateway.stop();
  await Promise.all(fakes.map((fake) => fake.stop()));
});

const value = (name: string, labels: Record<string, string> = {}) =>
  samples.filter((sample) => sample.name === name && Object.entries(labels).every(([key, wanted]) => sample.labels[key] === wanted)).reduce((sum, sample) => sum + sample.value, 0);

describe('/metrics', () => {
  it('counts requests by model, server, route and status, with latency and time-to-first-token histograms', () => {
    const answered = 2 + failoverRound;
    expect(value('llm_requests_total', { model: 'yi34b', route: 'direct', status: '200' })).toBe(answered);
    expect(value('llm_request_duration_seconds_count', { model: 'yi34b' })).toBe(answered);
    expect(value('llm_request_duration_seconds_bucket', { model: 'yi34b', le: '+Inf' })).toBe(answered);
    expect(value('llm_time_to_first_token_seconds_count', { model: 'yi34b' })).toBe(answered);
    expect(value('llm_tokens_total', { direction: 'prompt', model: 'yi34b' })).toBeGreaterThan(0);
    expect(value('llm_tokens_total', { direction: 'completion', model: 'yi34b' })).toBeGreaterThan(0);
  });

  it('counts errors, routing decisions, retries and failovers', () => {
    expect(value('llm_errors_total', { error_type: 'model_not_found' })).toBe(1);
    // Chat on a model with several servers: prefix-affinity, the default for prompts with a choice of server.
    expect(value('llm_routing_decisions_total', { strategy: 'prefix-affinity' })).toBe(2 + failoverRound);
    expect(value('llm_retries_total', { model: 'yi34b' })).toBeGreaterThanOrEqual(1);
    expect(value('llm_failover_events_total', { model: 'yi34b' })).toBeGreaterThanOrEqual(1);
  });

  it('reports servers, health probes, circuits, in-flight requests, the cache and the process', () => {
    expect(value('model_server_up', { server: 'gpu-0' })).toBe(1);
    expect(value('model_server_up', { server: 'gpu-1' })).toBe(1);
    expect(value('model_server_health_check_duration_seconds_count', { server: 'gpu-0' })).toBe(1);
    expect(samples.some((sample) => sample.name === 'llm_circuit_state' && sample.labels['server'] === 'gpu-0' && sample.labels['model'] === 'yi34b')).toBe(true);
    expect(metricsText).toMatch(/^# TYPE llm_concurrent_requests gauge$/m);
    expect(metricsText).toMatch(/^# TYPE llm_cache_requests_total counter$/m);
    expect(value('process_cpu_user_seconds_total')).toBeGreaterThan(0);
  });

  it('follows Prometheus naming and keeps labels bounded: a made-up model name never becomes a label', () => {
    const types = Object.fromEntries([...metricsText.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((match) => [match[1], match[2]]));
    for (const [name, type] of Object.entries(types)) {
      if (type === 'counter') expect(name, name).toMatch(/_total$/);
      if (name.includes('duration') || name.includes('time_to')) expect(name, name).toMatch(/_seconds$/);
      expect(name).toMatch(/^[a-z_:][a-z0-9_:]*$/);
    }
    expect(metricsText).not.toContain('made-up-model-name-xyz');
    expect(value('llm_requests_total', { model: 'unknown', status: '404' })).toBe(1);
  });
});

describe('usage records', () => {
  it('writes one record per request with model, server, route, strategy, attempts, status, tokens, latency and TTFT', async () => {
    await gateway.gateway.usage.flush();
    const rows = await gateway.gateway.database.db.selectFrom('usage_records').selectAll().orderBy('id').execute();
    expect(rows).toHaveLength(3 + failoverRound);
    const [plain, streamed, unknown] = rows;
    expect(plain).toMatchObject({ key_id: 'env-admin', requested_model: 'yi34b', served_model: 'yi34b', strategy: 'prefix-affinity', attempts: 1, status: 200, error_type: null, streamed: 0, cache_hit: 0 });
    expect(Number(plain?.prompt_tokens)).toBeGreaterThan(0);
    expect(Number(plain?.completion_tokens)).toBeGreaterThan(0);
    expect(Number(plain?.latency_ms)).toBeGreaterThan(0);
    expect(Number(plain?.ttft_ms)).toBeGreaterThan(0);
    expect(streamed).toMatchObject({ streamed: 1, status: 200 });
    // The stream carried no usage chunk: completion tokens are counted from it, prompt tokens estimated.
    expect(Number(streamed?.completion_tokens)).toBeGreaterThan(0);
    expect(Number(streamed?.prompt_tokens)).toBeGreaterThan(0);
    expect(unknown).toMatchObject({ requested_model: 'made-up-model-name-xyz', served_model: null, status: 404, error_type: 'model_not_found' });
    expect(rows.some((row) => Number(row.attempts) === 2 && Number(row.status) === 200)).toBe(true);
    expect(new Set(rows.map((row) => row.request_id)).size).toBe(3 + failoverRound);
  });
});
