import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOllamaFake, type OllamaFake } from '../fakes/index.ts';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.ts';
import { waitUntil } from '../support/wait-until.ts';

// The readers that judge and chart models, answering from the rollups (as they
// do at volume; forced here by a raw-read bound of 0, decision 0029):
// thresholds, the per-version daily figures and a model's last-hour status.
let gateway: TestGateway;
let ollama: OllamaFake;

async function chat(count: number, model: string): Promise<number[]> {
  const statuses: number[] = [];
  for (let index = 0; index < count; index++) statuses.push((await gateway.api('POST', '/v1/chat/completions', { model, messages: [{ role: 'user', content: `hello ${index}` }], max_tokens: 8 })).status);
  await gateway.gateway.usage.flush({ force: true });
  return statuses;
}

beforeAll(async () => {
  ollama = await startOllamaFake({ models: [{ id: 'mixtral', capabilities: ['completion'] }, { id: 'phi3', capabilities: ['completion'] }] });
  gateway = await startTestGateway({ env: { SWITCHYARD_ANALYTICS_RAW_ROWS_MAX: '0' } });
  await gateway.api('POST', '/api/v1/model-servers', { name: 'gpu-1', server_type: 'ollama', base_url: ollama.url });
  await gateway.api('POST', '/api/v1/model-servers/health-check-all');
  await waitUntil(() => gateway.gateway.usageMaintenance.rollupsComplete);
});

afterAll(async () => {
  await gateway.stop();
  await ollama.stop();
});

describe('readers on rollups', () => {
  it('thresholds judge a model from its rollups, by any name it answers to', async () => {
    expect((await gateway.api('PUT', '/api/v1/models/phi3/thresholds', { max_error_rate: 0.3 })).status).toBe(201);
    await ollama.setFault({ kind: 'status', status: 500 }, ['/v1/chat/completions']);
    expect(new Set(await chat(10, 'phi3'))).toEqual(new Set([502]));
    await ollama.clearFault();
    await chat(2, 'phi3');
    await gateway.gateway.models.thresholds.checkNow();
    const thresholds = (await gateway.api('GET', '/api/v1/models/phi3/thresholds')).body;
    expect(thresholds.violation).toEqual([expect.objectContaining({ metric: 'max_error_rate', limit: 0.3 })]);
  });

  it('daily figures per version and the last hour\'s status count every request', async () => {
    await chat(5, 'mixtral');
    const versions = (await gateway.api('GET', `/api/v1/models/${encodeURIComponent('mixtral:latest')}/versions`)).body.data;
    const today = new Date().toISOString().slice(0, 10);
    expect(versions[0].daily).toEqual([expect.objectContaining({ day: today, requests: 5, errors: 0 })]);
    expect(versions[0].daily[0].p50_latency_ms).toBeGreaterThan(0);
    const status = (await gateway.api('GET', '/api/v1/models/mixtral/status')).body;
    expect(status.last_hour).toMatchObject({ requests: 5, error_rate: 0 });
    expect(status.deployments[0].last_hour.requests).toBe(5);
    const all = (await gateway.api('GET', '/api/v1/models/status')).body.data;
    expect(all.find((entry: { model: string }) => entry.model === 'phi3:latest').last_hour.requests).toBe(12);
  });
});
