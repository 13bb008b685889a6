import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ggufRepo, startHfHubFake, startOllamaFake, type HfHubFake, type OllamaFake } from '../fakes/index.ts';
import { hasChromium, openBrowser, signIn } from '../support/browser.ts';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';

/** Page updates wait on the gateway and the browser, both slow on a loaded machine: a generous cap, not an expectation. */
const settles = { timeout: 15_000 };
const repoId = 'bartowski/Llama-3.2-1B-Instruct-GGUF';

let gateway: TestGateway;
let hub: HfHubFake;
let gpu: OllamaFake;
let browser: Browser;
let page: Page;
let shot: (name: string) => Promise<Buffer>;

beforeAll(async () => {
  if (!hasChromium) return;
  hub = await startHfHubFake({ repos: [ggufRepo(repoId, [['Q4_K_M', 2_000_000], ['Q8_0', 300_000]]), ggufRepo('someone/Other-Model-GGUF', [['Q4_0', 1000]], { downloads: 3 })] });
  gpu = await startOllamaFake();
  gateway = await startTestGateway({ env: { HF_ENDPOINT: hub.url } });
  await gateway.api('POST', '/api/v1/model-servers', { name: 'gpu-1', server_type: 'ollama', base_url: gpu.url });
  await gateway.api('POST', '/api/v1/model-servers/health-check-all');
  ({ browser, page, shot } = await openBrowser({ width: 1280, height: 900 }));
  await signIn(page, gateway.url, adminKey, '#/hub');
}, 60_000);

afterAll(async () => {
  if (!hasChromium) return;
  await browser?.close();
  await Promise.all([gateway?.stop(), hub?.stop(), gpu?.stop()]);
});

describe.skipIf(!hasChromium)('the Hub page', () => {
  it('searches the Hub and opens a repository with its quantisations and files', async () => {
    await page.getByRole('link', { name: 'Hub', exact: true }).waitFor(settles);
    await page.getByLabel('Search the Hub').fill('llama');
    await page.getByRole('button', { name: 'Search' }).click();
    const results = page.getByRole('table', { name: 'Hub search results' });
    await results.getByRole('link', { name: repoId }).waitFor(settles);
    expect(await results.getByRole('row').count()).toBe(2);
    await results.getByRole('link', { name: repoId }).click();
    await page.getByTestId('quant-Q4_K_M').waitFor(settles);
    expect(await page.getByTestId('quant-Q4_K_M').textContent()).toContain(`hf.co/${repoId}:Q4_K_M`);
    expect(await page.getByTestId('file-Llama-3.2-1B-Instruct-Q8_0.gguf').getAttribute('data-cached')).toBe('no');
  });

  it('downloads a quant to the gateway cache with a moving progress bar, then marks the file cached', async () => {
    hub.setThrottle({ chunkBytes: 32 * 1024, intervalMs: 30 });
    await page.getByTestId('quant-Q4_K_M').getByRole('button', { name: 'Download to the gateway cache' }).click();
    const bar = page.getByTestId('progress-Llama-3.2-1B-Instruct-Q4_K_M.gguf').locator('progress');
    await bar.waitFor(settles);
    const value = async () => Number((await bar.getAttribute('value')) ?? 0);
    const first = await expect.poll(value, settles).toBeGreaterThan(0).then(value);
    await expect.poll(value, settles).toBeGreaterThan(first);
    await shot('hub-download-progress');
    hub.setThrottle(null);
    await page.locator('[data-status="succeeded"][data-testid^="operation-"]').first().waitFor(settles);
    await expect.poll(() => page.getByTestId('file-Llama-3.2-1B-Instruct-Q4_K_M.gguf').getAttribute('data-cached'), settles).toBe('yes');
  });

  it('pulls a quant on the Ollama servers and shows that operation through to the end', async () => {
    await page.getByTestId('quant-Q8_0').getByRole('button', { name: 'Pull on Ollama servers' }).click();
    const target = page.getByTestId('progress-gpu-1');
    await target.waitFor(settles);
    await expect.poll(() => target.getAttribute('data-status'), settles).toBe('succeeded');
    const models = (await gateway.api('GET', '/api/v1/inventory')).text;
    expect(models).toContain(`hf.co/${repoId}:Q8_0`);
    await shot('hub-pull');
  });
});
