import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOllamaFake, type OllamaFake } from '../fakes/index.ts';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.ts';

let gateway: TestGateway;
let ollama: OllamaFake;
let dir: string;

beforeAll(async () => {
  ollama = await startOllamaFake();
  dir = mkdtempSync(join(tmpdir(), 'sy-prices-'));
  const file = join(dir, 'fleet.yaml');
  writeFileSync(file, `servers:\n  - {name: gpu-1, server_type: ollama, base_url: "${ollama.url}"}\nprices:\n  hermes: { per_hour: 3.6 }\n`);
  gateway = await startTestGateway({ configFile: file, dataDir: join(dir, 'data'), env: { SWITCHYARD_CURRENCY: 'EUR' } });
  await gateway.api('POST', '/api/v1/model-servers/health-check-all');
});

afterAll(async () => {
  await gateway.stop();
  await ollama.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('prices and cost', () => {
  it('prices tokens per million and shows each request’s cost in usage, analytics and llm_cost_total', async () => {
    const put = await gateway.api('PUT', '/api/v1/prices/mixtral', { input_per_million: 2, output_per_million: 6 });
    expect(put.status, put.text).toBe(201);
    expect(put.body).toMatchObject({ model: 'mixtral', currency: 'EUR', input_per_million: 2, output_per_million: 6, per_hour: null, managed_by: null });

    const answers = [];
    for (let index = 0; index < 3; index++) answers.push((await gateway.api('POST', '/v1/chat/completions', { model: 'mixtral', messages: [{ role: 'user', content: `price check ${index}` }] })).body);
    await gateway.gateway.usage.flush({ force: true });
    const expected = answers.reduce((sum, answer) => sum + (answer.usage.prompt_tokens * 2 + answer.usage.completion_tokens * 6) / 1e6, 0);

    const analytics = (await gateway.api('GET', '/api/v1/analytics/usage?group_by=model')).body;
    const mixtral = analytics.data.find((group: any) => group.group === 'mixtral:latest');
    expect(mixtral.cost).toBeCloseTo(expected, 9);
    expect(analytics.total.cost).toBeCloseTo(expected, 9);

    const metrics = (await gateway.api('GET', '/metrics')).text;
    const line = metrics.split('\n').find((entry) => entry.startsWith('llm_cost_total{model="mixtral:latest"}'));
    expect(Number(line?.split(' ').at(-1))).toBeCloseTo(expected, 9);
    expect(metrics).toContain('in EUR');
  });

  it('charges an hourly price for the time a request held the server (from the fleet file)', async () => {
    const listed = (await gateway.api('GET', '/api/v1/prices')).body;
    expect(listed.data.find((price: any) => price.model === 'hermes')).toMatchObject({ per_hour: 3.6, managed_by: 'fleet_file' });
    expect((await gateway.api('PUT', '/api/v1/prices/hermes', { per_hour: 1 })).status).toBe(409);
    await gateway.api('POST', '/v1/chat/completions', { model: 'hermes', messages: [{ role: 'user', content: 'hourly' }] });
    await gateway.gateway.usage.flush({ force: true });
    const hermes = (await gateway.api('GET', '/api/v1/analytics/usage?group_by=model')).body.data.find((group: any) => group.group === 'hermes:latest');
    // 3.6 per hour is 0.001 per second: the request's cost is its duration in seconds × 0.001.
    expect(hermes.cost).toBeGreaterThan(0);
    expect(hermes.cost).toBeCloseTo((hermes.p50_latency_ms / 1000) * 0.001, 6);
    const phi = (await gateway.api('POST', '/v1/chat/completions', { model: 'phi3', messages: [{ role: 'user', content: 'no price' }] })).status;
    expect(phi).toBe(200);
    await gateway.gateway.usage.flush({ force: true });
    expect((await gateway.api('GET', '/api/v1/analytics/usage?group_by=model')).body.data.find((group: any) => group.group === 'phi3:latest').cost).toBeNull();
  });

  it.each([
    [{}, 'input_per_million'],
    [{ input_per_million: -1 }, 'input_per_million'],
    [{ per_hour: 'cheap' }, 'per_hour'],
  ])('refuses %j with a 400', async (body, param) => {
    const response = await gateway.api('PUT', '/api/v1/prices/openchat', body);
    expect(response.status, response.text).toBe(400);
    expect(JSON.stringify(response.body.error)).toContain(param);
  });
});
