import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOllamaFake, startOpenAIFake, startTeiFake, type OllamaFake, type OpenAIFake, type TeiFake } from '../fakes/index.ts';
import { newOutcome } from '../../src/data/proxy/request-outcome.ts';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';
import { waitUntil } from '../support/wait-until.ts';

// Both ways analytics answer (decision 0029): from the raw records (a window of
// few requests), and from the rollups (forced here by a raw-read bound of 0).
const modes: Array<{ name: string; env: Record<string, string> }> = [
  { name: 'records', env: {} },
  { name: 'rollups', env: { SWITCHYARD_ANALYTICS_RAW_ROWS_MAX: '0' } },
];

describe.each(modes)('analytics from $name', (mode) => {
  let gateway: TestGateway;
  let fast: OpenAIFake;
  let slow: OpenAIFake;
  let ollama: OllamaFake;
  let tei: TeiFake;

  beforeAll(async () => {
    [gateway, fast, slow, ollama, tei] = await Promise.all([
      startTestGateway({ env: { SWITCHYARD_USAGE_FLUSH_MS: '20', ...mode.env } }),
      startOpenAIFake({ flavor: 'vllm', models: [{ id: 'yi34b', contextLength: 4096 }] }),
      startOpenAIFake({ flavor: 'vllm', models: [{ id: 'yi34b', contextLength: 4096 }], behaviour: { latencyMs: 60 } }),
      startOllamaFake(),
      startTeiFake({ modelId: 'general', dimension: 384 }),
    ]);
    for (const body of [
      { name: 'fast-gpu', server_type: 'vllm', base_url: fast.url },
      { name: 'slow-gpu', server_type: 'vllm', base_url: slow.url },
      { name: 'primary', server_type: 'ollama', base_url: ollama.url },
      { name: 'orchestration', server_type: 'embedding', base_url: tei.url },
    ]) {
      await gateway.api('POST', '/api/v1/model-servers', body);
    }
    await gateway.api('POST', '/api/v1/model-servers/health-check-all');
    // Round-robin so both yi34b servers get a fair share to compare.
    await gateway.api('POST', '/api/v1/routes', { name: 'yi34b', strategy: 'round-robin', targets: ['yi34b'] });
    const chat = (model: string) =>
      fetch(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }) });
    for (let round = 0; round < 24; round++) await chat('yi34b');
    for (let round = 0; round < 3; round++) await chat('mixtral');
    await chat('unknown-model');
    await gateway.gateway.usage.flush();
    await waitUntil(() => gateway.gateway.usageMaintenance.rollupsComplete);
  });

  afterAll(async () => {
    await gateway.stop();
    await Promise.all([fast.stop(), slow.stop(), ollama.stop(), tei.stop()]);
  });

  describe('GET /api/v1/analytics/usage', () => {
    it('groups volume, success rate, latency percentiles, tokens and tokens/s by model, server, key and hour', async () => {
      const byModel = (await gateway.api('GET', '/api/v1/analytics/usage?group_by=model')).body;
      const yi = byModel.data.find((group: { group: string }) => group.group === 'yi34b');
      expect(yi).toMatchObject({ requests: 24, successes: 24, success_rate: 1 });
      expect(yi.p95_latency_ms).toBeGreaterThanOrEqual(yi.p50_latency_ms);
      expect(yi.prompt_tokens).toBeGreaterThan(0);
      expect(yi.tokens_per_second).toBeGreaterThan(0);
      expect(byModel.data.find((group: { group: string }) => group.group === 'unserved: unknown-model')).toMatchObject({ requests: 1, success_rate: 0 });
      expect(byModel.total.requests).toBe(28);
      expect(byModel.source).toBe(mode.name);

      const byServer = (await gateway.api('GET', '/api/v1/analytics/usage?group_by=server')).body.data;
      const slowServer = byServer.find((group: { group: string }) => group.group === 'slow-gpu');
      const fastServer = byServer.find((group: { group: string }) => group.group === 'fast-gpu');
      expect(slowServer.requests).toBe(12);
      expect(slowServer.p50_latency_ms).toBeGreaterThan(fastServer.p50_latency_ms + 30);

      expect((await gateway.api('GET', '/api/v1/analytics/usage?group_by=key')).body.data[0]).toMatchObject({ group: 'env-admin', requests: 28 });
      const byHour = (await gateway.api('GET', '/api/v1/analytics/usage?group_by=hour')).body.data;
      expect(byHour[0].group).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:00:00Z$/);
      const future = new Date(Date.now() + 3_600_000).toISOString();
      expect((await gateway.api('GET', `/api/v1/analytics/usage?from=${future}&to=${new Date(Date.now() + 7_200_000).toISOString()}`)).body.total.requests).toBe(0);
      expect((await gateway.api('GET', '/api/v1/analytics/usage?group_by=colour')).status).toBe(400);
    });
  });

  describe('GET /api/v1/models/performance', () => {
    it('rates each model from its traffic, per server', async () => {
      const report = (await gateway.api('GET', '/api/v1/models/performance')).body;
      const yi = report.data.find((entry: { model: string }) => entry.model === 'yi34b');
      expect(yi.rating).toMatch(/^(excellent|good)$/);
      expect(yi.servers.map((entry: { server: string }) => entry.server).sort()).toEqual(['fast-gpu', 'slow-gpu']);
      const mixtral = report.data.find((entry: { model: string }) => entry.model === 'mixtral:latest');
      expect(mixtral.rating).toBe('insufficient_data');
    });

    it('suggests lowering the weight of a server whose p95 is at least twice its peer\'s', async () => {
      // Latencies recorded through the real usage recorder, not measured under the test machine's load:
      // the rule is about the numbers, and a loaded machine must not decide whether it fires.
      const idOf = (name: string) => gateway.gateway.registry.list().find((server) => server.name === name)?.id ?? null;
      const record = (server: string, latencyMs: number, index: number) =>
        gateway.gateway.usage.record({
          ...newOutcome(`synthetic-${server}-${index}`, 'chat', 'deepseek', null, false),
          servedModel: 'deepseek', serverId: idOf(server), serverName: server, attempts: 1, status: 200,
          promptTokens: 5, completionTokens: 20, latencyMs, ttftMs: latencyMs,
        });
      for (let index = 0; index < 10; index++) {
        record('fast-gpu', 100 + index, index);
        record('slow-gpu', 300 + index * 10, index);
      }
      await gateway.gateway.usage.flush();
      const report = (await gateway.api('GET', '/api/v1/models/performance')).body;
      const deepseek = report.data.find((entry: { model: string }) => entry.model === 'deepseek');
      // Exactly 3.x× from the records; from rollups the p95s are read from buckets (150 and 400 ms: 2.7×).
      expect(deepseek.suggestions.join(' ')).toMatch(mode.name === 'records' ? /p95 on slow-gpu is 3\.\d× fast-gpu: lower its weight for deepseek/ : /p95 on slow-gpu is 2\.\d× fast-gpu: lower its weight for deepseek/);
    });
  });

  describe('GET /api/v1/models/registry and POST …/benchmark', () => {
    it('lists every model with servers, capabilities, category and live figures, and shows benchmark results', async () => {
      const benchmark = await gateway.api('POST', '/api/v1/models/phi3/benchmark', { runs: 3, max_tokens: 16 });
      expect(benchmark.status, benchmark.text).toBe(200);
      expect(benchmark.body.summary).toMatchObject({ runs: 3, succeeded: 3 });
      expect(benchmark.body.summary.p50_ttft_ms).toBeGreaterThan(0);
      expect(benchmark.body.summary.mean_tokens_per_second).toBeGreaterThan(0);
      expect(benchmark.body.runs[0]).toMatchObject({ ok: true, server: 'primary' });
      expect(benchmark.body.runs[0].completion_tokens).toBeGreaterThan(0);
      const embed = await gateway.api('POST', '/api/v1/models/general/benchmark', { runs: 2 });
      expect(embed.body.summary).toMatchObject({ runs: 2, succeeded: 2 });

      const registry = (await gateway.api('GET', '/api/v1/models/registry')).body.data;
      const byId = Object.fromEntries(registry.map((entry: { id: string }) => [entry.id, entry]));
      expect(byId['general']).toMatchObject({ category: 'embedding', embedding_dimension: 384 });
      expect(byId['phi3:latest']).toMatchObject({ category: 'lightweight_chat', aliases: ['phi3'] });
      expect(byId['phi3:latest'].benchmark.summary.succeeded).toBe(3);
      expect(byId['mixtral:latest']).toMatchObject({ category: 'heavyweight_chat', parameters_b: 46.7 });
      expect(byId['yi34b'].servers.map((server: { name: string }) => server.name).sort()).toEqual(['fast-gpu', 'slow-gpu']);
      expect(byId['yi34b'].performance.requests).toBe(24);
      expect(byId['yi34b'].live.ttfb_ms).toBeGreaterThan(0);
      // Benchmark traffic is real traffic: it shows in usage too.
      await gateway.gateway.usage.flush();
      expect((await gateway.api('GET', '/api/v1/analytics/usage?group_by=model')).body.data.find((group: { group: string }) => group.group === 'phi3:latest').requests).toBe(3);
    });

    it('answers 404 for an unknown model', async () => {
      expect((await gateway.api('POST', '/api/v1/models/nope/benchmark', {})).status).toBe(404);
      expect((await gateway.api('GET', '/api/v1/models/nope/status')).status).toBe(404);
    });
  });

  describe('GET /api/v1/models/{model}/status', () => {
    it('shows each deployment with its health, circuit, live latency and last-hour error rate', async () => {
      const status = (await gateway.api('GET', '/api/v1/models/yi34b/status')).body;
      expect(status.model).toBe('yi34b');
      expect(status.deployments).toHaveLength(2);
      for (const deployment of status.deployments) {
        expect(deployment).toMatchObject({ health_status: 'online', circuit: 'closed', model_status: 'loaded', in_flight: 0 });
        expect(deployment.last_hour.requests).toBe(12);
        expect(deployment.ttfb_ewma_ms).toBeGreaterThan(0);
      }
      expect(status.last_hour).toMatchObject({ requests: 24, error_rate: 0 });
    });
  });
});
