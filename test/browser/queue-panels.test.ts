import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAIFake, type OpenAIFake } from '../fakes/index.ts';
import { hasChromium, openBrowser, signIn } from '../support/browser.ts';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';
import { waitUntil } from '../support/wait-until.ts';

const settles = { timeout: 15_000 };

let gateway: TestGateway;
let vllm: OpenAIFake;
let browser: Browser;
let page: Page;
let shot: (name: string) => Promise<Buffer>;
let serverId: string;
const keys: Record<string, string> = {};

beforeAll(async () => {
  if (!hasChromium) return;
  // The queue may hold requests for as long as the test looks at them.
  [gateway, vllm] = await Promise.all([
    startTestGateway({ env: { SWITCHYARD_QUEUE_MAX_WAIT_MS: '600000' } }),
    startOpenAIFake({ flavor: 'vllm', models: [{ id: 'one-slot' }], behaviour: { tokenIntervalMs: 5, capacity: { slots: 1 } } }),
  ]);
  const created = await gateway.api('POST', '/api/v1/model-servers', { name: 'gpu-small', server_type: 'vllm', base_url: vllm.url, max_concurrency: 1 });
  serverId = created.body.id;
  await gateway.api('POST', '/api/v1/model-servers/health-check-all');
  for (const priority of ['batch', 'interactive'] as const) keys[priority] = (await gateway.api('POST', '/api/v1/keys', { name: `${priority}-key`, scopes: ['inference'], priority })).body.key;
  ({ browser, page, shot } = await openBrowser({ width: 1280, height: 900 }));
  await signIn(page, gateway.url, adminKey, '#/servers');
}, 60_000);

afterAll(async () => {
  if (!hasChromium) return;
  await browser?.close();
  await Promise.all([gateway?.stop(), vllm?.stop()]);
});

function ask(key: string, signal?: AbortSignal): Promise<Response> {
  return fetch(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'one-slot', stream: true, max_tokens: 4, messages: [{ role: 'user', content: 'wait for me' }] }), ...(signal === undefined ? {} : { signal }) });
}

describe.skipIf(!hasChromium)('the queue panels', () => {
  it('show requests waiting for a model at capacity on its page and its server\'s page, and the Usage page counts their waits', async () => {
    // One request holds the only slot (the server sends headers, then nothing); two more wait in the gateway.
    await vllm.setFault({ kind: 'hang-after-headers' });
    const holder = new AbortController();
    const held = ask(adminKey, holder.signal).then((response) => response.text()).catch(() => 'aborted');
    await waitUntil(() => vllm.capacityReadings()?.running === 1, { what: 'the first request to hold the slot' });
    const waiting = [ask(keys['batch'] as string), ask(keys['interactive'] as string)];
    await waitUntil(async () => (await gateway.api('GET', '/api/v1/queues')).body.data[0]?.waiting === 2, { what: 'two requests to wait' });

    await page.goto(`${gateway.url}/ui/#/models/one-slot`);
    const row = page.getByTestId('queue-one-slot');
    await row.waitFor(settles);
    expect(await row.getByTestId('queue-waiting').textContent()).toBe('2');
    expect(await row.locator('td').nth(2).textContent()).toBe('1 / 0 / 1');
    expect(await row.getByTestId('queue-running').textContent()).toBe('1 / 1');
    await shot('model-queue-panel');

    await page.goto(`${gateway.url}/ui/#/servers/${serverId}`);
    await page.getByTestId('queue-one-slot').waitFor(settles);
    expect(await page.getByTestId('queue-one-slot').getByTestId('queue-waiting').textContent()).toBe('2');
    await shot('server-queue-panel');

    // The slot frees: both waiting requests are served, one after the other, and the panel empties by itself.
    await vllm.clearFault();
    holder.abort();
    await held;
    const statuses = await Promise.all(waiting.map(async (answer) => {
      const response = await answer;
      await response.text();
      return response.status;
    }));
    expect(statuses).toEqual([200, 200]);
    await page.getByTestId('queue-empty').waitFor(settles);

    await gateway.gateway.usage.flush({ force: true });
    await page.goto(`${gateway.url}/ui/#/usage`);
    const queued = page.getByTestId('queued-one-slot');
    await queued.waitFor(settles);
    expect(await queued.textContent()).toMatch(/^2 \(p95 \d+ ms\)$/);
    await shot('usage-queued');
  });
});
