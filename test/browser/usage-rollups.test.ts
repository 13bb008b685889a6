import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAIFake, type OpenAIFake } from '../fakes/index.ts';
import { hasChromium, openBrowser, signIn } from '../support/browser.ts';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';
import { waitUntil } from '../support/wait-until.ts';

// At volume the Usage page's figures come from rollups (decision 0029), and the
// page says so: what is exact and what is read from buckets. Volume is forced
// here with a raw-read bound of 0.
const settles = { timeout: 15_000 };
let gateway: TestGateway;
let fake: OpenAIFake;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  if (!hasChromium) return;
  [gateway, fake] = await Promise.all([startTestGateway({ env: { SWITCHYARD_ANALYTICS_RAW_ROWS_MAX: '0', SWITCHYARD_USAGE_FLUSH_MS: '20' } }), startOpenAIFake({ flavor: 'vllm' })]);
  await gateway.api('POST', '/api/v1/model-servers', { name: 'gpu-1', base_url: fake.url });
  await gateway.api('POST', '/api/v1/model-servers/health-check-all');
  for (let round = 0; round < 3; round++) expect((await gateway.api('POST', '/v1/chat/completions', { model: 'yi34b', messages: [{ role: 'user', content: 'hi' }] })).status).toBe(200);
  await gateway.gateway.usage.flush();
  await waitUntil(() => gateway.gateway.usageMaintenance.rollupsComplete);
  ({ browser, page } = await openBrowser({ width: 1280, height: 900 }));
  await signIn(page, gateway.url, adminKey, '#/usage');
}, 60_000);

afterAll(async () => {
  if (!hasChromium) return;
  await browser?.close();
  await Promise.all([gateway?.stop(), fake?.stop()]);
});

describe.skipIf(!hasChromium)('the Usage page on rollups', () => {
  it('says its figures come from rollups, and shows them', async () => {
    await page.getByTestId('usage-source').waitFor(settles);
    expect(await page.getByTestId('usage-source').textContent()).toContain('per-minute rollups');
    const row = page.locator('table[aria-label="Usage by group"] tbody tr', { hasText: 'yi34b' });
    await row.waitFor(settles);
    expect(await row.locator('td').nth(1).textContent()).toBe('3');
  });
});
