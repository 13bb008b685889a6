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
let tei: TeiFake;
let ollama: OllamaFake;
let browser: Browser;
let page: Page;
let shot: (name: string) => Promise<Buffer>;

beforeAll(async () => {
  if (!hasChromium) return;
  [tei, ollama] = await Promise.all([startTeiFake({ modelId: 'general', dimension: 384 }), startOllamaFake({ models: [{ id: 'mixtral', capabilities: ['completion'], embeddingDimension: 4096, digest: 'c'.repeat(64) }] })]);
  dir = mkdtempSync(join(tmpdir(), 'sy-collections-page-'));
  const fleet = join(dir, 'fleet.yaml');
  writeFileSync(fleet, `servers:\n  - {name: orchestration, server_type: embedding, base_url: "${tei.url}"}\n  - {name: chat, server_type: ollama, base_url: "${ollama.url}"}\ncollections:\n  mixtral: { model: mixtral, vector_size: 4096 }\n`);
  gateway = await startTestGateway({ configFile: fleet, dataDir: join(dir, 'data') });
  await gateway.api('POST', '/api/v1/model-servers/health-check-all');
  ({ browser, page, shot } = await openBrowser({ width: 1280, height: 900 }));
  await signIn(page, gateway.url, adminKey, '#/collections');
}, 60_000);

afterAll(async () => {
  if (!hasChromium) return;
  await browser?.close();
  await Promise.all([gateway?.stop(), tei?.stop(), ollama?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!hasChromium)('the collections page', () => {
  it('creates a collection, and a search in the page shows the texts stored through the API ranked by score', async () => {
    const fleetRow = page.getByTestId('collection-row-mixtral');
    await fleetRow.waitFor(settles);
    expect(await fleetRow.textContent()).toContain('managed by fleet file');

    const form = page.getByRole('form', { name: 'Create a collection' });
    await form.getByLabel('Name').fill('docs');
    await form.getByLabel('Model').fill('general');
    await form.getByRole('button', { name: 'Create' }).click();
    const row = page.getByTestId('collection-row-docs');
    await row.waitFor(settles);
    expect(await row.textContent()).toMatch(/docs.*general.*384.*cosine.*0.*embedded.*ready/);

    const stored = await gateway.api('POST', '/api/v1/models/general/vectors/store', {
      items: [
        { id: 'a', text: 'how to reset a password', metadata: { topic: 'accounts' } },
        { id: 'b', text: 'billing cycles and invoices', metadata: { topic: 'billing' } },
        { id: 'c', text: 'resetting your password step by step', metadata: { topic: 'accounts' } },
      ],
    });
    expect(stored.body.collection).toBe('docs');

    const search = page.getByRole('form', { name: 'Search a collection' });
    await page.reload();
    await page.getByTestId('collection-row-docs').getByTestId('collection-count').getByText('3').waitFor(settles);
    await search.getByLabel('Collection').selectOption('general');
    await search.getByLabel('Query').fill('how to reset a password');
    await search.getByRole('button', { name: 'Search' }).click();
    const hits = page.getByTestId('search-hit');
    await hits.first().waitFor(settles);
    expect(await hits.count()).toBe(3);
    const texts = await page.getByTestId('hit-text').allTextContents();
    expect(texts[0]).toBe('how to reset a password');
    expect(texts).toHaveLength(3);
    const scores = (await page.getByTestId('hit-score').allTextContents()).map(Number);
    expect(scores[0]).toBeCloseTo(1, 3);
    expect([...scores].sort((x, y) => y - x)).toEqual(scores);
    expect(await hits.first().textContent()).toContain('"topic":"accounts"');
    await shot('collections-search');
  });

  it('shows a stale collection with both digests and re-embeds it from the page with progress until it is ready', async () => {
    await gateway.api('POST', '/api/v1/models/mixtral/vectors/store', { texts: ['mixture of experts'] });
    ollama.repull('mixtral', 'd'.repeat(64));
    await gateway.api('POST', '/api/v1/model-servers/health-check-all');
    await page.reload();
    const row = page.getByTestId('collection-row-mixtral');
    await row.getByText('stale').waitFor(settles);
    expect(await row.textContent()).toContain(`${'c'.repeat(12)} → ${'d'.repeat(12)}`);
    await row.getByRole('button', { name: 'Re-embed' }).click();
    await page.getByText('Re-embedding mixtral').waitFor(settles);
    await row.getByTestId('collection-status').getByText('ready').waitFor(settles);
    expect((await gateway.api('GET', '/api/v1/collections/mixtral')).body).toMatchObject({ status: 'ready', model_digest: 'd'.repeat(64), reembed: { done: 1, total: 1 } });
  });
});
