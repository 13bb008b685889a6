import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAIFake, type OpenAIFake } from '../fakes/index.ts';
import { spawnGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { waitUntil } from '../support/wait-until.ts';

const adminKey = 'sk-sy-webhook-restart-admin-key-000';
const headers = { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' };

interface Attempt {
  deliveryId: string;
  answered: number;
}

let upstream: OpenAIFake;
let receiver: Server;
let receiverUrl = '';
let failing = true;
const attempts: Attempt[] = [];
const gateways: GatewayProcess[] = [];

beforeAll(async () => {
  upstream = await startOpenAIFake({ flavor: 'vllm', models: [{ id: 'yi34b', contextLength: 4096 }] });
  // Fails every delivery until the test says the receiver has recovered.
  receiver = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      const answered = failing ? 500 : 200;
      attempts.push({ deliveryId: String(request.headers['x-switchyard-delivery']), answered });
      response.writeHead(answered).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hooks`;
});

afterAll(async () => {
  await Promise.all(gateways.map((gateway) => (gateway.child.exitCode === null ? gateway.kill('SIGKILL') : gateway.exited)));
  receiver.closeAllConnections();
  await new Promise((resolve) => receiver.close(resolve));
  await upstream.stop();
});

async function start(dataDir: string): Promise<GatewayProcess> {
  const gateway = await spawnGateway({ SWITCHYARD_DATA_DIR: dataDir, SWITCHYARD_ADMIN_KEY: adminKey, SWITCHYARD_WEBHOOK_RETRY_BASE_MS: '300', SWITCHYARD_WEBHOOK_MAX_ATTEMPTS: '20' });
  gateways.push(gateway);
  return gateway;
}

describe('webhook retries across a restart', () => {
  it('delivers, after the restart, an event whose receiver was failing when the gateway stopped', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sy-webhook-restart-'));
    const first = await start(dataDir);
    const hook = await (await fetch(`${first.url}/api/v1/webhooks`, { method: 'POST', headers, body: JSON.stringify({ url: receiverUrl, events: ['model.added'], secret: 'whsec-restart-0123456789' }) })).json() as { id: string };
    await fetch(`${first.url}/api/v1/model-servers`, { method: 'POST', headers, body: JSON.stringify({ name: 'gpu', server_type: 'vllm', base_url: upstream.url }) });
    await fetch(`${first.url}/api/v1/model-servers/health-check-all`, { method: 'POST', headers: { authorization: headers.authorization } });
    await waitUntil(() => attempts.length > 0, { what: 'the first delivery attempt' });
    const deliveryId = attempts[0]?.deliveryId;
    expect(await first.kill('SIGTERM')).toBe(0);
    expect(attempts.every((attempt) => attempt.answered === 500)).toBe(true);

    failing = false;
    const second = await start(dataDir);
    await waitUntil(() => attempts.some((attempt) => attempt.answered === 200), { what: 'the retry after the restart' });
    expect(attempts.filter((attempt) => attempt.answered === 200).map((attempt) => attempt.deliveryId)).toEqual([deliveryId]);
    const deliveryLog = async () => ((await (await fetch(`${second.url}/api/v1/webhooks/${hook.id}/deliveries`, { headers })).json()) as { data: Array<{ id: string; status: string }> }).data;
    await waitUntil(async () => (await deliveryLog()).some((delivery) => delivery.status === 'delivered'), { what: 'the delivery log to say delivered' });
    // The same delivery, resumed: not a second one.
    expect((await deliveryLog()).map((delivery) => [delivery.id, delivery.status])).toEqual([[deliveryId, 'delivered']]);
  });
});
