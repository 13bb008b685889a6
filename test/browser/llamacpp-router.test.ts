import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLlamaCppRouterFake, startOpenAIFake, type LlamaCppRouterFake, type OpenAIFake } from '../fakes/index.ts';
import { hasChromium, openBrowser, signIn } from '../support/browser.ts';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';

/** Page updates wait on the gateway and the browser, both slow on a loaded machine: a generous cap, not an expectation. */
const settles = { timeout: 15_000 };

let gateway: TestGateway;
let router: LlamaCppRouterFake;
let single: OpenAIFake;
let browser: Browser;
let page: Page;
let shot: (name: string) => Promise<Buffer>;

beforeAll(async () => {
  if (!hasChromium) return;
  [router, single] = await Promise.all([
    startLlamaCppRouterFake({ models: [{ id: 'qwen2.5-7b', loaded: true }, { id: 'phi-4-mini' }] }),
    startOpenAIFake({ flavor: 'llamacpp', models: [{ id: 'laptop-gguf' }] }),
  ]);
  gateway = await startTestGateway();
  for (const [name, fake] of [['router', router], ['laptop', single]] as const) await gateway.api('POST', '/api/v1/model-servers', { name, base_url: fake.url });
  await gateway.api('POST', '/api/v1/model-servers/health-check-all');
  ({ browser, page, shot } = await openBrowser({ width: 1280, height: 900 }));
  await signIn(page, gateway.url, adminKey, '#/models');
}, 60_000);

afterAll(async () => {
  if (!hasChromium) return;
  await browser?.close();
  await Promise.all([gateway?.stop(), router?.stop(), single?.stop()]);
});

const cell = (model: string, server: string) => page.getByTestId(`cell-${model}-${server}`);
const state = (model: string, server: string) => cell(model, server).getAttribute('data-state');

describe.skipIf(!hasChromium)('a llama.cpp router on the Models page', () => {
  it('shows which of its models are loaded, and offers Load and Unload there but not on a single-model llama-server', async () => {
    await cell('phi-4-mini', 'router').waitFor(settles);
    expect(await state('qwen2.5-7b', 'router')).toBe('loaded');
    expect(await state('phi-4-mini', 'router')).toBe('available');
    expect(await cell('phi-4-mini', 'router').getByRole('button', { name: 'Load' }).count()).toBe(1);
    expect(await cell('qwen2.5-7b', 'router').getByRole('button', { name: 'Unload' }).count()).toBe(1);
    expect(await state('laptop-gguf', 'laptop')).toBe('loaded');
    expect(await cell('laptop-gguf', 'laptop').getByRole('button').count()).toBe(0);
  });

  it('loads a model from its cell once the router has it running, and unloads another', async () => {
    await cell('phi-4-mini', 'router').getByRole('button', { name: 'Load' }).click();
    await expect.poll(() => state('phi-4-mini', 'router'), settles).toBe('loaded');
    expect(router.statusOf('phi-4-mini')).toBe('loaded');
    // The rest of the page follows: the Performance table lists where the model is loaded.
    await expect.poll(() => page.getByTestId('performance-phi-4-mini').textContent(), settles).toContain('router (loaded)');
    await shot('llamacpp-router-loaded');
    await cell('qwen2.5-7b', 'router').getByRole('button', { name: 'Unload' }).click();
    await expect.poll(() => state('qwen2.5-7b', 'router'), settles).toBe('available');
    expect(router.statusOf('qwen2.5-7b')).toBe('unloaded');
  });

  it('keeps the server’s page true while it is open: a model loaded elsewhere shows loaded at the next probe', async () => {
    const id = (await gateway.api('GET', '/api/v1/model-servers')).body.data.find((server: { name: string }) => server.name === 'router').id;
    await page.goto(`${gateway.url}/ui/#/servers/${id}`);
    const row = page.getByRole('row').filter({ hasText: 'qwen2.5-7b' });
    await expect.poll(() => row.getByTestId('model-state').textContent(), settles).toBe('available');
    // Loaded behind the console's back (another client, the router's own autoload); the page learns it from the probe.
    await fetch(`${router.url}/models/load`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'qwen2.5-7b' }) });
    await expect.poll(() => router.statusOf('qwen2.5-7b'), settles).toBe('loaded');
    await gateway.api('POST', '/api/v1/model-servers/health-check-all');
    await expect.poll(() => row.getByTestId('model-state').textContent(), settles).toBe('loaded');
  });
});
