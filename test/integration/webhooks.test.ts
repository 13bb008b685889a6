import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyWebhook } from '../../src/control/webhooks/webhook-signature.ts';
import { startOllamaFake, startOpenAIFake, type OllamaFake } from '../fakes/index.ts';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.ts';
import { waitFor } from '../support/wait-for.ts';

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

/** A webhook receiver on loopback whose answers a test can script. */
async function startReceiver(answer: (count: number) => number | 'hang' | Promise<number> = () => 200): Promise<{ url: string; received: Received[]; server: Server }> {
  const received: Received[] = [];
  const server = createServer((request, response) => {
    const parts: Buffer[] = [];
    request.on('data', (part: Buffer) => parts.push(part));
    request.on('end', () => {
      received.push({ headers: request.headers, body: Buffer.concat(parts).toString('utf8') });
      const status = answer(received.length);
      if (status === 'hang') return;
      void Promise.resolve(status).then((settled) => response.writeHead(settled).end());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return { url: `http://127.0.0.1:${address.port}/hooks`, received, server };
}

const secret = 'whsec-test-secret-0123456789';
let gateway: TestGateway;
let ollama: OllamaFake;
const servers: Server[] = [];

beforeAll(async () => {
  [gateway, ollama] = await Promise.all([
    startTestGateway({ env: { SWITCHYARD_WEBHOOK_RETRY_BASE_MS: '20', SWITCHYARD_WEBHOOK_TIMEOUT_MS: '5000', SWITCHYARD_WEBHOOK_MAX_ATTEMPTS: '3' } }),
    startOllamaFake(),
  ]);
});

afterAll(async () => {
  for (const server of servers) server.closeAllConnections();
  for (const server of servers) server.close();
  await Promise.all([gateway.stop(), ollama.stop()]);
});

async function subscribe(url: string, events: string[]) {
  const response = await gateway.api('POST', '/api/v1/webhooks', { url, events, secret });
  expect(response.status, response.text).toBe(201);
  return response.body;
}

describe('webhooks', () => {
  it('delivers signed fleet events: models appearing, a server going down and coming back', async () => {
    const receiver = await startReceiver();
    servers.push(receiver.server);
    const hook = await subscribe(receiver.url, ['server.down', 'server.up', 'model.added', 'model.removed']);
    expect(hook).toMatchObject({ url: receiver.url, events: ['server.down', 'server.up', 'model.added', 'model.removed'], has_secret: true });
    expect(JSON.stringify(hook)).not.toContain(secret);

    await gateway.api('POST', '/api/v1/model-servers', { name: 'primary', server_type: 'ollama', base_url: ollama.url });
    await gateway.api('POST', '/api/v1/model-servers/health-check-all');
    await ollama.stop();
    for (let round = 0; round < 3; round++) await gateway.api('POST', '/api/v1/model-servers/health-check-all');
    await ollama.restart();
    await gateway.api('POST', '/api/v1/model-servers/health-check-all');

    await expect.poll(() => receiver.received.length, { timeout: 15_000 }).toBe(7);
    const events = receiver.received.map((delivery) => JSON.parse(delivery.body) as { id: string; type: string; created_at: string; data: Record<string, unknown> });
    expect(events.filter((event) => event.type === 'model.added')).toHaveLength(5);
    expect(events.find((event) => event.type === 'server.down')?.data).toMatchObject({ name: 'primary', from: 'degraded' });
    expect(events.find((event) => event.type === 'server.up')?.data).toMatchObject({ name: 'primary', from: 'offline' });
    for (const delivery of receiver.received) {
      expect(verifyWebhook(secret, delivery.headers['x-switchyard-signature'] as string, delivery.body)).toBe(true);
      expect(verifyWebhook('wrong-secret-0123456789', delivery.headers['x-switchyard-signature'] as string, delivery.body)).toBe(false);
      expect(delivery.headers['x-switchyard-event']).toBe(JSON.parse(delivery.body).type);
    }
    const log = (await gateway.api('GET', `/api/v1/webhooks/${hook.id}/deliveries`)).body.data;
    expect(log).toHaveLength(7);
    expect(log.every((entry: { status: string; attempts: number }) => entry.status === 'delivered' && entry.attempts === 1)).toBe(true);
    await gateway.api('DELETE', `/api/v1/webhooks/${hook.id}`);
  });

  it('retries with backoff until the receiver accepts, and gives up on a dead one, logging each', async () => {
    const flaky = await startReceiver((count) => (count <= 2 ? 500 : 200));
    const dead = await startReceiver();
    servers.push(flaky.server);
    dead.server.close();
    const flakyHook = await subscribe(flaky.url, ['model.removed']);
    const deadHook = await subscribe(dead.url, ['model.removed']);
    const models = ollama.getModels();
    ollama.setModels(models.filter((model) => model.id !== 'phi3'));
    await gateway.api('POST', '/api/v1/model-servers/health-check-all');
    ollama.setModels(models);

    await expect.poll(async () => (await gateway.api('GET', `/api/v1/webhooks/${flakyHook.id}/deliveries`)).body.data[0]?.status, { timeout: 15_000 }).toBe('delivered');
    const [flakyDelivery] = (await gateway.api('GET', `/api/v1/webhooks/${flakyHook.id}/deliveries`)).body.data;
    expect(flakyDelivery).toMatchObject({ event: 'model.removed', attempts: 3, response_status: 200 });
    expect(flaky.received).toHaveLength(3);
    expect(new Set(flaky.received.map((delivery) => delivery.headers['x-switchyard-delivery'])).size).toBe(1);

    await expect.poll(async () => (await gateway.api('GET', `/api/v1/webhooks/${deadHook.id}/deliveries`)).body.data[0]?.status, { timeout: 15_000 }).toBe('failed');
    const [deadDelivery] = (await gateway.api('GET', `/api/v1/webhooks/${deadHook.id}/deliveries`)).body.data;
    expect(deadDelivery).toMatchObject({ attempts: 3, error: expect.stringMatching(/ECONNREFUSED|refused/i) });
    await gateway.api('DELETE', `/api/v1/webhooks/${flakyHook.id}`);
    await gateway.api('DELETE', `/api/v1/webhooks/${deadHook.id}`);
  });

  it('never makes an API call wait for a webhook receiver that has not answered', async () => {
    // Its own gateway, with a delivery timeout longer than the test: were a delivery awaited
    // inline, the calls below could not return before the receiver is released, and the test would time out.
    const patient = await startTestGateway({ env: { SWITCHYARD_WEBHOOK_TIMEOUT_MS: '60000', SWITCHYARD_WEBHOOK_MAX_ATTEMPTS: '1' } });
    const held: Array<(status: number) => void> = [];
    const releaseAll = () => held.splice(0).forEach((release) => release(200));
    const holding = await startReceiver(() => new Promise<number>((resolve) => held.push(resolve)));
    servers.push(holding.server);
    try {
      const hook = (await patient.api('POST', '/api/v1/webhooks', { url: holding.url, events: ['model.added'], secret })).body;
      await patient.api('POST', '/api/v1/model-servers', { name: 'local', server_type: 'ollama', base_url: ollama.url });
      expect((await patient.api('POST', '/api/v1/model-servers/health-check-all')).status).toBe(200);
      expect((await patient.api('GET', '/api/v1/model-servers')).status).toBe(200);
      // The deliveries are still open at the receiver, unanswered, while the API has answered.
      await waitFor(() => holding.received.length > 0, 'a delivery to reach the receiver');
      const deliveries = async () => (await patient.api('GET', `/api/v1/webhooks/${hook.id}/deliveries`)).body.data as Array<{ status: string }>;
      expect((await deliveries()).every((delivery) => delivery.status === 'pending')).toBe(true);
      await waitFor(async () => {
        releaseAll();
        const listed = await deliveries();
        return listed.length > 0 && listed.every((delivery) => delivery.status === 'delivered');
      }, 'every delivery delivered once released');
    } finally {
      releaseAll();
      await patient.stop();
    }
  });

  it('announces a budget running out and a circuit opening', async () => {
    const receiver = await startReceiver();
    servers.push(receiver.server);
    const hook = await subscribe(receiver.url, ['key.budget_exceeded', 'circuit.opened']);
    const key = (await gateway.api('POST', '/api/v1/keys', { name: 'tiny', scopes: ['inference'], budget_tokens: 1 })).body;
    const chat = (apiKey: string, model: string) =>
      fetch(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ model, messages: [{ role: 'user', content: 'a longer prompt than one token' }] }) });
    expect((await chat(key.key, 'mixtral')).status).toBe(429);

    const vllm = await startOpenAIFake({ flavor: 'vllm', models: [{ id: 'flaky-model', contextLength: 4096 }] });
    await gateway.api('POST', '/api/v1/model-servers', { name: 'flaky', server_type: 'vllm', base_url: vllm.url });
    await gateway.api('POST', '/api/v1/model-servers/health-check-all');
    await vllm.setFault({ kind: 'status', status: 500 }, ['/v1/chat/completions']);
    for (let round = 0; round < 3; round++) await chat('sk-sy-test-admin-key-0123456789abcdef', 'flaky-model');
    await expect.poll(() => receiver.received.map((delivery) => JSON.parse(delivery.body).type).sort(), { timeout: 15_000 }).toEqual(['circuit.opened', 'key.budget_exceeded']);
    await vllm.stop();
    await gateway.api('DELETE', `/api/v1/webhooks/${hook.id}`);
  });

  it('sends a signed webhook.test to one receiver on request, answers with what it said, and logs the delivery', async () => {
    const receiver = await startReceiver((count) => (count === 1 ? 200 : 503));
    const other = await startReceiver();
    servers.push(receiver.server, other.server);
    const hook = await subscribe(receiver.url, ['server.down']);
    const bystander = await subscribe(other.url, ['*']);

    const tested = await gateway.api('POST', `/api/v1/webhooks/${hook.id}/test`);
    expect(tested.status, tested.text).toBe(200);
    expect(tested.body).toMatchObject({ event: 'webhook.test', status: 'delivered', attempts: 1, response_status: 200, error: null });
    expect(receiver.received).toHaveLength(1);
    const [arrived] = receiver.received;
    const payload = JSON.parse(arrived?.body ?? '{}');
    expect(payload).toMatchObject({ type: 'webhook.test', data: { webhook_id: hook.id } });
    expect(arrived?.headers['x-switchyard-event']).toBe('webhook.test');
    expect(arrived?.headers['x-switchyard-delivery']).toBe(tested.body.id);
    expect(verifyWebhook(secret, arrived?.headers['x-switchyard-signature'] as string, arrived?.body ?? '')).toBe(true);
    const [logged] = (await gateway.api('GET', `/api/v1/webhooks/${hook.id}/deliveries`)).body.data;
    expect(logged).toMatchObject({ id: tested.body.id, event: 'webhook.test', status: 'delivered', response_status: 200 });

    // A receiver that refuses: the answer says so at once, and the normal retries carry on.
    const refused = (await gateway.api('POST', `/api/v1/webhooks/${hook.id}/test`)).body;
    expect(refused).toMatchObject({ event: 'webhook.test', status: 'retrying', attempts: 1, response_status: 503, error: 'HTTP 503' });
    await waitFor(async () => (await gateway.api('GET', `/api/v1/webhooks/${hook.id}/deliveries`)).body.data[0]?.status === 'failed', 'the refused test delivery to fail after its retries');
    expect(receiver.received).toHaveLength(4);
    // Only the receiver asked about hears the test, even one subscribed to everything does not.
    expect(other.received).toHaveLength(0);
    expect((await gateway.api('POST', '/api/v1/webhooks/no-such-hook/test')).status).toBe(404);
    await gateway.api('DELETE', `/api/v1/webhooks/${hook.id}`);
    await gateway.api('DELETE', `/api/v1/webhooks/${bystander.id}`);
  });

  it('refuses receiver URLs in denied networks and unknown events', async () => {
    expect((await gateway.api('POST', '/api/v1/webhooks', { url: 'http://169.254.169.254/hook', events: ['server.down'], secret })).status).toBe(400);
    expect((await gateway.api('POST', '/api/v1/webhooks', { url: 'http://10.0.0.1/hook', events: ['server.exploded'], secret })).status).toBe(400);
    expect((await gateway.api('POST', '/api/v1/webhooks', { url: 'http://10.0.0.1/hook', events: ['server.down'], secret: 'short' })).status).toBe(400);
  });
});
