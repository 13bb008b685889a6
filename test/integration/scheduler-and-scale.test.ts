import { afterAll, describe, expect, it } from 'vitest';
import { startOllamaFake, startOpenAIFake } from '../fakes/index.ts';
import { startTestGateway } from '../support/gateway-harness.ts';
import { waitFor } from '../support/wait-for.ts';

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function statusOf(api: Awaited<ReturnType<typeof startTestGateway>>['api'], id: string): Promise<string> {
  return (await api('GET', `/api/v1/model-servers/${id}`)).body.health_status;
}

describe('the health scheduler', () => {
  it("checks each server on its own interval: a new server turns online, a dead one offline, and back", async () => {
    const ollama = await startOllamaFake();
    const gateway = await startTestGateway({ startScheduler: true, env: { SWITCHYARD_HEALTH_TIMEOUT_MS: '300' } });
    cleanups.push(() => ollama.stop(), () => gateway.stop());
    const created = await gateway.api('POST', '/api/v1/model-servers', { name: 'primary', server_type: 'ollama', base_url: ollama.url, health_check_interval_s: 1 });
    const id = created.body.id;

    // A new server is checked at once, without waiting a full interval.
    await waitFor(async () => (await statusOf(gateway.api, id)) === 'online', 'the new server online');

    await ollama.stop();
    await waitFor(async () => (await statusOf(gateway.api, id)) === 'offline', 'the stopped server offline');
    await ollama.restart();
    await waitFor(async () => (await statusOf(gateway.api, id)) === 'online', 'the restarted server online');
  });

  it('does not check inactive servers on its own', async () => {
    const ollama = await startOllamaFake();
    const gateway = await startTestGateway({ startScheduler: true });
    cleanups.push(() => ollama.stop(), () => gateway.stop());
    const active = await startOllamaFake();
    cleanups.push(() => active.stop());
    await gateway.api('POST', '/api/v1/model-servers', { name: 'parked', server_type: 'ollama', base_url: ollama.url, is_active: false, health_check_interval_s: 1 });
    const { body } = await gateway.api('POST', '/api/v1/model-servers', { name: 'working', server_type: 'ollama', base_url: active.url, health_check_interval_s: 1 });
    // An active server with the same interval checked twice: the scheduler has had its chance at the parked one.
    await waitFor(async () => (await statusOf(gateway.api, body.id)) === 'online', 'the active server checked once');
    const afterFirstCheck = active.requests.length;
    await waitFor(() => active.requests.length > afterFirstCheck, 'the active server checked again');
    expect(ollama.requests).toHaveLength(0);
  });
});

describe('a fleet of 100 servers', () => {
  it('is checked concurrently, never more than the concurrency bound at once', async () => {
    const fake = await startOpenAIFake({ flavor: 'generic', behaviour: { latencyMs: 100 } });
    const gateway = await startTestGateway({ env: { SWITCHYARD_HEALTH_CONCURRENCY: '10' } });
    cleanups.push(() => fake.stop(), () => gateway.stop());
    for (let index = 0; index < 100; index++) {
      const response = await gateway.api('POST', '/api/v1/model-servers', { name: `node-${index}`, server_type: 'openai', base_url: `${fake.url}/node-${index}` });
      expect(response.status).toBe(201);
    }
    let peak = 0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, fake.inflightCount());
    }, 5);
    const response = await gateway.api('POST', '/api/v1/model-servers/health-check-all');
    clearInterval(sampler);
    expect(response.body.data).toHaveLength(100);
    // Each probe takes 100 ms: more than one in flight at once means they overlap.
    expect(peak).toBeGreaterThan(1);
    expect(peak).toBeLessThanOrEqual(10);
  });

  it('keeps checking the rest when one server hangs', async () => {
    const healthy = await startOpenAIFake({ flavor: 'generic' });
    const hung = await startOpenAIFake({ flavor: 'generic', behaviour: { fault: { kind: 'hang' } } });
    const gateway = await startTestGateway({ env: { SWITCHYARD_HEALTH_TIMEOUT_MS: '500', SWITCHYARD_HEALTH_CONCURRENCY: '2' } });
    cleanups.push(() => healthy.stop(), () => hung.stop(), () => gateway.stop());
    await gateway.api('POST', '/api/v1/model-servers', { name: 'hung', server_type: 'openai', base_url: hung.url });
    for (let index = 0; index < 5; index++) {
      await gateway.api('POST', '/api/v1/model-servers', { name: `ok-${index}`, server_type: 'openai', base_url: healthy.url });
    }
    // The hung server never answers: a report at all means its probe timed out, and the rest were checked.
    const { body } = await gateway.api('POST', '/api/v1/model-servers/health-check-all');
    const statuses = Object.fromEntries(body.data.map((report: { name: string; health_status: string }) => [report.name, report.health_status]));
    expect(statuses).toMatchObject({ hung: 'degraded', 'ok-0': 'online', 'ok-4': 'online' });
  });
});
