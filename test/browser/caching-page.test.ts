import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOllamaFake, startTeiFake, type OllamaFake, type TeiFake } from '../fakes/index.ts';
import { hasChromium, openBrowser, signIn } from '../support/browser.ts';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';

/** Page updates wait on the gateway and the browser, both slow on a loaded machine: a generous cap, not an expectation. */
const settles = { timeout: 15_000 };

let dir: string;
let gateway: TestGateway;
let ollama: OllamaFake;
let tei: TeiFake;
let browser: Browser;
let page: Page;
let shot: (name: string) => Promise<Buffer>;

beforeAll(async () => {
  if (!hasChromium) return;
  [ollama, tei] = await Promise.all([startOllamaFake(), startTeiFake({ modelId: 'general', dimension: 384 })]);
  // The fleet file caches one model: that policy is the file's, read-only over the API.
  dir = mkdtempSync(join(tmpdir(), 'sy-caching-page-'));
  const fleet = join(dir, 'fleet.yaml');
  writeFileSync(fleet, `servers:\n  - {name: primary, server_type: ollama, base_url: "${ollama.url}"}\n  - {name: embedder, base_url: "${tei.url}"}\ncache_policies:\n  phi3: {mode: exact, ttl_s: 86400}\n`);
  gateway = await startTestGateway({ configFile: fleet, dataDir: join(dir, 'data') });
  await gateway.api('POST', '/api/v1/model-servers/health-check-all');
  ({ browser, page, shot } = await openBrowser({ width: 1280, height: 900 }));
  await signIn(page, gateway.url, adminKey, '#/caching');
}, 60_000);

afterAll(async () => {
  if (!hasChromium) return;
  await browser?.close();
  await Promise.all([gateway?.stop(), ollama?.stop(), tei?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

const policy = async (name: string) => {
  const answer = await gateway.api('GET', `/api/v1/cache-policies/${name}`);
  return answer.status === 200 ? (answer.body as Record<string, unknown>) : undefined;
};
const chat = (model: string) =>
  fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi from the console test' }] }),
  });

describe.skipIf(!hasChromium)('the caching page', () => {
  it('turns the cache on for a model through the form, and /v1 answers from it', async () => {
    await page.getByRole('link', { name: 'Caching' }).click();
    await page.getByRole('button', { name: 'Add cache policy' }).click();
    await page.fill('input[name=policy-name]', 'mixtral');
    await page.selectOption('select[name=mode]', 'semantic');
    await page.fill('input[name=ttl]', '7200');
    // The API's own validation comes back next to the field it concerns.
    await page.fill('input[name=embedding-model]', 'mixtral-not-here');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('embedding_model "mixtral-not-here" is not a fleet model that can embed.').waitFor();
    await page.fill('input[name=embedding-model]', 'general');
    await page.fill('input[name=similarity]', '0.9');
    await page.getByRole('button', { name: 'Save' }).click();
    const row = page.getByTestId('cache-policy-row-mixtral');
    await row.waitFor();
    const text = (await row.textContent()) ?? '';
    expect(text).toContain('semantic');
    expect(text).toContain('2 h');
    expect(text).toContain('≥ 0.9 with general');
    expect(await policy('mixtral')).toMatchObject({ mode: 'semantic', ttl_s: 7200, scope: 'key', similarity: 0.9, embedding_model: 'general' });
    await shot('caching-01-created');

    expect((await chat('mixtral')).headers.get('x-switchyard-cache')).toBe('miss');
    expect((await chat('mixtral')).headers.get('x-switchyard-cache')).toBe('hit');
  });

  it('marks cached models and routes on the Models and Routes pages, leading to the Caching page', async () => {
    expect((await gateway.api('POST', '/api/v1/routes', { name: 'support-bot', targets: ['phi3'] })).status).toBe(201);
    expect((await gateway.api('PUT', '/api/v1/cache-policies/support-bot', { mode: 'exact', ttl_s: 60 })).status).toBe(201);
    await page.getByRole('link', { name: 'Routes' }).click();
    const route = page.getByTestId('route-row-support-bot');
    await expect.poll(async () => (await route.textContent()) ?? '', settles).toContain('cached: exact');
    await page.getByRole('link', { name: 'Models' }).click();
    // The policy names mixtral; the model's id is mixtral:latest.
    const performance = page.getByRole('table', { name: 'Model performance' });
    const model = performance.locator('tr', { hasText: 'mixtral:latest' });
    await expect.poll(async () => (await model.textContent()) ?? '', settles).toContain('cached: semantic');
    expect(await performance.locator('tr', { hasText: 'hermes:latest' }).textContent()).not.toContain('cached');
    await model.getByRole('link', { name: 'cached: semantic' }).click();
    await page.getByTestId('cache-policy-row-mixtral').waitFor();
    await shot('caching-03-badges');
  });

  it('edits a policy in place and deletes it after asking', async () => {
    const row = page.getByTestId('cache-policy-row-mixtral');
    await row.getByRole('button', { name: 'Edit' }).click();
    expect(await page.inputValue('input[name=ttl]')).toBe('7200');
    await page.selectOption('select[name=mode]', 'exact');
    await page.selectOption('select[name=scope]', 'global');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(async () => (await row.textContent()) ?? '', settles).toContain('shared by all keys');
    expect(await policy('mixtral')).toMatchObject({ mode: 'exact', scope: 'global', embedding_model: null });

    await row.getByRole('button', { name: 'Delete' }).click();
    await row.getByRole('button', { name: 'Stop caching mixtral?' }).click();
    await row.waitFor({ state: 'detached' });
    expect(await policy('mixtral')).toBeUndefined();
    expect((await chat('mixtral')).headers.get('x-switchyard-cache')).toBe('bypass');
  });

  it('shows a fleet-file policy as managed by the fleet file, with no way to edit or delete it', async () => {
    const row = page.getByTestId('cache-policy-row-phi3');
    await row.waitFor();
    expect(await row.textContent()).toContain('managed by fleet file');
    expect(await row.getByRole('button').count()).toBe(0);
  });

  it('shows the cache hit ratio on the usage page', async () => {
    // phi3 (the fleet file's policy): one miss, three hits, beside the requests above.
    for (let count = 0; count < 4; count++) expect((await chat('phi3')).status).toBe(200);
    await gateway.gateway.usage.flush();
    const total = (await gateway.api('GET', '/api/v1/analytics/usage?group_by=hour')).body.total as { requests: number; cache_hits: number; cache_hit_ratio: number };
    expect(total.cache_hits).toBe(4);
    await page.getByRole('link', { name: 'Usage' }).click();
    const ratio = page.getByTestId('cache-hit-ratio');
    await ratio.waitFor();
    expect(await ratio.textContent()).toContain(`${Math.round(total.cache_hit_ratio * 1000) / 10}% of requests answered from the cache (4 of ${total.requests})`);
    const phi3 = page.locator('tr', { hasText: 'phi3' });
    await expect.poll(async () => (await phi3.textContent()) ?? '', settles).toContain('3 (75%)');
    await shot('caching-02-usage');
  });
});
