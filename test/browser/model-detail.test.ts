import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOllamaFake, type OllamaFake } from '../fakes/index.ts';
import { hasChromium, openBrowser, signIn } from '../support/browser.ts';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';

const settles = { timeout: 15_000 };

let gateway: TestGateway;
let ollama: OllamaFake;
let browser: Browser;
let page: Page;
let shot: (name: string) => Promise<Buffer>;

beforeAll(async () => {
  if (!hasChromium) return;
  ollama = await startOllamaFake({ models: [{ id: 'mixtral', capabilities: ['completion'], digest: 'a'.repeat(64) }] });
  gateway = await startTestGateway();
  await gateway.api('POST', '/api/v1/model-servers', { name: 'gpu-1', server_type: 'ollama', base_url: ollama.url });
  await gateway.api('POST', '/api/v1/model-servers/health-check-all');
  for (let index = 0; index < 3; index++) await gateway.api('POST', '/v1/chat/completions', { model: 'mixtral', messages: [{ role: 'user', content: `hi ${index}` }] });
  ollama.repull('mixtral', 'b'.repeat(64));
  await gateway.api('POST', '/api/v1/model-servers/health-check-all');
  await gateway.api('POST', '/v1/chat/completions', { model: 'mixtral', messages: [{ role: 'user', content: 'after the upgrade' }] });
  await gateway.gateway.usage.flush({ force: true });
  ({ browser, page, shot } = await openBrowser({ width: 1280, height: 900 }));
  await signIn(page, gateway.url, adminKey, '#/models');
}, 60_000);

afterAll(async () => {
  if (!hasChromium) return;
  await browser?.close();
  await Promise.all([gateway?.stop(), ollama?.stop()]);
});

describe.skipIf(!hasChromium)('the model page', () => {
  it('opens from the inventory and shows each version with its own daily figures', async () => {
    await page.getByRole('link', { name: 'mixtral:latest' }).click();
    const newest = page.getByTestId(`version-${'b'.repeat(12)}`);
    await newest.waitFor(settles);
    expect(await newest.textContent()).toMatch(/bbbbbbbbbbbb\s*current.*gpu-1.*\d{4}-\d{2}-\d{2}1/);
    expect(await page.getByTestId(`version-${'a'.repeat(12)}`).textContent()).toMatch(/aaaaaaaaaaaa.*gpu-1 \(before\).*\d{4}-\d{2}-\d{2}3/);
    expect(await page.getByTestId('model-placement').textContent()).toContain('No placement');
    await shot('model-versions');
  });

  it('saves thresholds, and deactivates and activates the model', async () => {
    const form = page.getByRole('form', { name: 'Thresholds' });
    await form.getByLabel('p95 latency (ms)').fill('1500');
    await form.getByRole('button', { name: 'Save thresholds' }).click();
    await expect.poll(async () => (await gateway.api('GET', '/api/v1/models/mixtral:latest/thresholds')).body.p95_latency_ms, settles).toBe(1500);

    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Deactivate', exact: true }).click();
    await page.getByRole('button', { name: 'Activate', exact: true }).waitFor(settles);
    expect(await page.locator('h1').textContent()).toContain('inactive');
    const refused = await gateway.api('POST', '/v1/chat/completions', { model: 'mixtral', messages: [{ role: 'user', content: 'hi' }] });
    expect(refused.body.error.code).toBe('SY_MODEL_DEACTIVATED');
    await page.getByRole('button', { name: 'Activate', exact: true }).click();
    await page.getByRole('button', { name: 'Deactivate', exact: true }).waitFor(settles);
  });

  it('sets a price on the Usage page, and the usage table shows what requests cost', async () => {
    await page.getByRole('link', { name: 'Usage' }).click();
    const form = page.getByRole('form', { name: 'Set a price' });
    await form.getByLabel('Model').fill('mixtral');
    await form.getByLabel('Input / 1M').fill('1000');
    await form.getByLabel('Output / 1M').fill('2000');
    await form.getByRole('button', { name: 'Set price' }).click();
    await page.getByTestId('price-mixtral').waitFor(settles);
    expect(await page.getByRole('heading', { name: /Prices/ }).textContent()).toBe('Prices (USD)');
    const answer = await gateway.api('POST', '/v1/chat/completions', { model: 'mixtral', messages: [{ role: 'user', content: 'what does this cost' }] });
    await gateway.gateway.usage.flush({ force: true });
    const expected = (answer.body.usage.prompt_tokens * 1000 + answer.body.usage.completion_tokens * 2000) / 1e6;
    await page.reload();
    const cost = page.getByTestId('cost-mixtral:latest');
    await cost.waitFor(settles);
    expect(Number(await cost.textContent())).toBeCloseTo(expected, 6);
    await shot('usage-cost');
  });
});
