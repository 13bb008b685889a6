import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOllamaFake, type OllamaFake } from '../fakes/index.ts';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.ts';
import { waitFor } from '../support/wait-for.ts';
import { startWebhookReceiver } from '../support/webhook-receiver.ts';

let gateway: TestGateway;
let gpus: OllamaFake[];
let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
let received: Awaited<ReturnType<typeof startWebhookReceiver>>['received'];
const ids: Record<string, string> = {};

const placement = async (model: string) => (await gateway.api('GET', `/api/v1/placements/${model}`)).body;
/** A health round, as the scheduler would run it; the reconciler follows the events it raises. */
const healthRound = () => gateway.api('POST', '/api/v1/model-servers/health-check-all');
async function until(model: string, check: (body: any) => boolean, what: string): Promise<any> {
  return waitFor(async () => {
    await healthRound();
    const body = await placement(model);
    return check(body) ? body : null;
  }, what);
}

beforeAll(async () => {
  gpus = await Promise.all([
    startOllamaFake({ models: [{ id: 'mixtral', sizeBytes: 26_000_000_000 }] }),
    startOllamaFake({ models: [{ id: 'phi3', sizeBytes: 2_000_000_000 }] }),
    startOllamaFake({ models: [] }),
  ]);
  receiver = await startWebhookReceiver();
  received = receiver.received;
  gateway = await startTestGateway();
  for (const [index, fake] of gpus.entries()) {
    const created = await gateway.api('POST', '/api/v1/model-servers', { name: `gpu-${index + 1}`, server_type: 'ollama', base_url: fake.url, ...(index === 1 ? { metadata: { disk_free_bytes: 500_000_000_000 } } : {}) });
    ids[`gpu-${index + 1}`] = created.body.id;
  }
  const hook = await gateway.api('POST', '/api/v1/webhooks', { url: receiver.url, events: ['placement.unsatisfied'], secret: 'whsec-placements-0123456789' });
  expect(hook.status, hook.text).toBe(201);
  await healthRound();
});

afterAll(async () => {
  await gateway.stop();
  receiver.close();
  await Promise.all(gpus.map((fake) => fake.stop()));
});

describe('placements', () => {
  it('converges: pulled on 2 (onto the server with the most free room), warm on 1', async () => {
    const put = await gateway.api('PUT', '/api/v1/placements/mixtral', { pulled_on: 2, warm_on: 1, keep_alive: '1h' });
    expect(put.status, put.text).toBe(201);
    const done = await until('mixtral', (body) => body.status === 'satisfied', 'mixtral placed');
    expect(done.held_on.sort()).toEqual(['gpu-1', 'gpu-2']);
    expect(done.warm_on_servers).toHaveLength(1);
    expect(done.reason).toBeNull();
    const load = (gpus.flatMap((fake) => fake.requests).filter((request) => request.path === '/api/generate').at(-1)?.body ?? {}) as Record<string, unknown>;
    expect(load).toMatchObject({ model: 'mixtral', keep_alive: '1h' });
    const audit = await gateway.api('GET', '/api/v1/audit?target_type=placement');
    expect(audit.body.data[0]).toMatchObject({ action: 'placement.create', target_id: 'mixtral' });
  });

  it('pulls again when a server loses the model, and warms again after a server restart', async () => {
    (gpus[1] as OllamaFake).forget('mixtral');
    const healed = await until('mixtral', (body) => body.status === 'satisfied' && body.held_on.length === 2 && (gpus[1] as OllamaFake).lookup('mixtral') !== undefined, 'mixtral pulled back');
    expect(healed.held_on.sort()).toEqual(['gpu-1', 'gpu-2']);

    for (const fake of gpus) fake.unloadAll();
    await until('mixtral', (body) => body.status === 'satisfied' && body.warm_on_servers.length === 1, 'mixtral warm again');
  });

  it('refuses to delete the last copy of a placed model (409 naming the placement)', async () => {
    const refused = await gateway.api('DELETE', '/api/v1/models/mixtral?servers=all');
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toContain('placement mixtral');
  });

  it('says why a placement cannot be met, and fires placement.unsatisfied once', async () => {
    const put = await gateway.api('PUT', '/api/v1/placements/phi3', { pulled_on: 4 });
    expect(put.status).toBe(201);
    const failed = await until('phi3', (body) => body.status === 'failed', 'phi3 to fail');
    expect(failed.reason).toBe('too few servers: need 4, have 3');
    await waitFor(() => received.some((event) => event.type === 'placement.unsatisfied' && event.data['model'] === 'phi3'), 'the webhook');
    await healthRound();
    await healthRound();
    await gateway.gateway.placements.reconciler.reconcileNow();
    expect(received.filter((event) => event.data['model'] === 'phi3')).toHaveLength(1);
    expect(received[0]?.data).toMatchObject({ model: 'phi3', reason: 'too few servers: need 4, have 3' });
  });

  it('reports a failed pull with the server and Ollama’s message', async () => {
    (gpus[2] as OllamaFake).setPullScript({ failAfterSteps: 1, failure: 'pull model manifest: file does not exist' });
    await gateway.api('PUT', '/api/v1/placements/gemma3:4b', { servers: ['gpu-3'] });
    const failed = await until('gemma3:4b', (body) => body.status === 'failed', 'gemma to fail');
    (gpus[2] as OllamaFake).setPullScript({});
    expect(failed.reason).toBe('pull failed on gpu-3: pull failed: pull model manifest: file does not exist');
    expect((await gateway.api('DELETE', '/api/v1/placements/gemma3:4b')).status).toBe(204);
  });

  it('a request for a model pulled nowhere is a 404, never a pull', async () => {
    const pullsBefore = gpus.flatMap((fake) => fake.requests).filter((request) => request.path === '/api/pull').length;
    const response = await gateway.api('POST', '/v1/chat/completions', { model: 'nowhere-7b', messages: [{ role: 'user', content: 'hi' }] });
    expect(response.status).toBe(404);
    expect(gpus.flatMap((fake) => fake.requests).filter((request) => request.path === '/api/pull').length).toBe(pullsBefore);
  });

  it.each([
    [{ warm_on: 1 }, 'pulled_on'],
    [{ pulled_on: 1, servers: ['gpu-1'] }, 'pulled_on'],
    [{ pulled_on: 1, warm_on: 2 }, 'warm_on'],
    [{ pulled_on: 1, keep_alive: 'soon' }, 'keep_alive'],
    [{ pulled_on: 1, active_hours: '25:00-03:00' }, 'active_hours'],
  ])('bad input %j → 400 naming %s', async (body, param) => {
    const response = await gateway.api('PUT', '/api/v1/placements/llama3', body);
    expect(response.status, response.text).toBe(400);
    expect(response.body.error.param).toBe(param);
    expect((await gateway.api('GET', '/api/v1/placements/llama3')).status).toBe(404);
  });
});

describe('placements in the fleet file', () => {
  it('are applied at start and owned by the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-placements-'));
    const fake = await startOllamaFake({ models: [{ id: 'hermes' }] });
    try {
      const file = join(dir, 'fleet.yaml');
      writeFileSync(file, `servers:\n  - {name: box, server_type: ollama, base_url: "${fake.url}"}\nplacements:\n  hermes: { pulled_on: 1, warm_on: 1, keep_alive: 30m, active_hours: "00:00-23:59" }\n`);
      const fleetGateway = await startTestGateway({ configFile: file, dataDir: join(dir, 'data') });
      try {
        await fleetGateway.api('POST', '/api/v1/model-servers/health-check-all');
        const body = await waitFor(async () => {
          await fleetGateway.api('POST', '/api/v1/model-servers/health-check-all');
          const answer = (await fleetGateway.api('GET', '/api/v1/placements/hermes')).body;
          return answer.status === 'satisfied' ? answer : null;
        }, 'hermes warm');
        expect(body).toMatchObject({ managed_by: 'fleet_file', keep_alive: '30m', active_hours: '00:00-23:59', warm_on_servers: ['box'] });
        const edit = await fleetGateway.api('PUT', '/api/v1/placements/hermes', { pulled_on: 1 });
        expect(edit.status).toBe(409);
      } finally {
        await fleetGateway.stop();
      }
    } finally {
      await fake.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
