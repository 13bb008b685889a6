import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOllamaFake, type OllamaFake } from '../fakes/index.ts';
import { hasChromium, openBrowser, signIn } from '../support/browser.ts';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';

/** Page updates wait on the gateway and the browser, both slow on a loaded machine: a generous cap, not an expectation. */
const settles = { timeout: 15_000 };

let gateway: TestGateway;
let gpu1: OllamaFake;
let gpu2: OllamaFake;
let browser: Browser;
let page: Page;
let shot: (name: string) => Promise<Buffer>;

beforeAll(async () => {
  if (!hasChromium) return;
  [gpu1, gpu2] = await Promise.all([
    startOllamaFake({ models: [{ id: 'mixtral', capabilities: ['completion'], loaded: true, sizeBytes: 26442481545 }, { id: 'phi3', sizeBytes: 2176178913 }] }),
    startOllamaFake({ models: [{ id: 'phi3', sizeBytes: 2176178913 }] }),
  ]);
  gateway = await startTestGateway();
  for (const [name, fake] of [['gpu-1', gpu1], ['gpu-2', gpu2]] as const) await gateway.api('POST', '/api/v1/model-servers', { name, server_type: 'ollama', base_url: fake.url });
  await gateway.api('POST', '/api/v1/model-servers/health-check-all');
  ({ browser, page, shot } = await openBrowser({ width: 1280, height: 900 }));
  await signIn(page, gateway.url, adminKey, '#/models');
}, 60_000);

afterAll(async () => {
  if (!hasChromium) return;
  await browser?.close();
  await Promise.all([gateway?.stop(), gpu1?.stop(), gpu2?.stop()]);
});

const state = (model: string, server: string) => page.getByTestId(`cell-${model}-${server}`).getAttribute('data-state');

describe.skipIf(!hasChromium)('the inventory on the Models page', () => {
  it('shows each model as loaded, on disk or absent per server', async () => {
    await page.getByTestId('cell-mixtral:latest-gpu-1').waitFor(settles);
    expect(await state('mixtral:latest', 'gpu-1')).toBe('loaded');
    expect(await state('mixtral:latest', 'gpu-2')).toBe('absent');
    expect(await state('phi3:latest', 'gpu-1')).toBe('available');
    expect(await state('phi3:latest', 'gpu-2')).toBe('available');
    expect(await page.getByTestId('cell-mixtral:latest-gpu-1').getAttribute('title')).toMatch(/loaded · digest [0-9a-f]{12} · 26\.4 GB/);
  });

  it('pulls onto both servers from the dialog, with one progress bar per server moving, and the model appears when done', async () => {
    for (const fake of [gpu1, gpu2]) fake.setPullScript({ steps: 60, stepMs: 40 });
    await page.getByRole('button', { name: 'Pull model' }).click();
    const dialog = page.getByRole('dialog', { name: 'Pull a model' });
    await dialog.getByLabel('Model').fill('qwen2.5:7b');
    await dialog.getByRole('button', { name: 'Pull' }).click();

    const bar = dialog.getByTestId('progress-gpu-2').locator('progress');
    await bar.waitFor(settles);
    const value = async () => Number((await bar.getAttribute('value')) ?? 0);
    const first = await expect.poll(value, settles).toBeGreaterThan(0).then(value);
    await expect.poll(value, settles).toBeGreaterThan(first);
    expect(await dialog.getByTestId('progress-gpu-1').locator('progress').count()).toBe(1);
    await shot('inventory-pull-progress');

    await dialog.locator('[data-status="succeeded"][data-testid^="operation-"]').waitFor(settles);
    expect(await dialog.getByTestId('progress-gpu-1').getAttribute('data-status')).toBe('succeeded');
    await dialog.locator('.actions').getByRole('button', { name: 'Close' }).click();
    await page.getByTestId('cell-qwen2.5:7b-gpu-1').waitFor(settles);
    expect(await state('qwen2.5:7b', 'gpu-1')).toBe('available');
    expect(await state('qwen2.5:7b', 'gpu-2')).toBe('available');
    for (const fake of [gpu1, gpu2]) fake.setPullScript({});
  });

  it('loads a model from its cell, and the cell turns loaded', async () => {
    await page.getByTestId('cell-phi3:latest-gpu-2').getByRole('button', { name: 'Load' }).click();
    await expect.poll(() => state('phi3:latest', 'gpu-2'), settles).toBe('loaded');
    await shot('inventory-loaded');
  });

  it('adds a placement from its form, and shows it converging to satisfied with where it is held and warm', async () => {
    await page.getByRole('button', { name: 'Add placement' }).click();
    const form = page.getByRole('form', { name: 'Placement' });
    await form.getByLabel('Model').fill('mixtral:latest');
    await form.getByLabel('Pulled on (number of servers)').fill('2');
    await form.getByLabel('Warm on (kept loaded)').fill('1');
    await form.getByLabel('Keep alive').fill('1h');
    await form.getByRole('button', { name: 'Save' }).click();
    const row = page.getByTestId('placement-mixtral:latest');
    await row.waitFor(settles);
    // The reconciler pulls onto gpu-2 and is satisfied; the page refreshes on its own.
    await expect.poll(async () => {
      await gateway.api('POST', '/api/v1/model-servers/health-check-all');
      return (await row.textContent()) ?? '';
    }, settles).toMatch(/pulled on 2, warm on 1.*gpu-1, gpu-2.*gpu-1.*satisfied/);
    expect(await state('mixtral:latest', 'gpu-2')).not.toBe('absent');
    await shot('placements-satisfied');
    // The model's own page says the same.
    await page.getByRole('link', { name: 'mixtral:latest' }).click();
    const panel = page.getByTestId('model-placement');
    await expect.poll(async () => (await panel.textContent()) ?? '', settles).toMatch(/Pulled on 2, warm on 1: satisfied held on gpu-1, gpu-2/);
  });
});
