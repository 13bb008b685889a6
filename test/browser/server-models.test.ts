// The server page's model table shows what the embedding and rerank work
// learnt: TEI's batch limits from /info, and Ollama chat models that embed.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOllamaFake, startTeiFake, type OllamaFake, type TeiFake } from '../fakes/index.ts';
import { hasChromium, openBrowser, signIn } from '../support/browser.ts';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';

const poll = { timeout: 15_000 };
let gateway: TestGateway;
let tei: TeiFake;
let ollama: OllamaFake;
let browser: Browser;
let page: Page;
let shot: (name: string) => Promise<Buffer>;
const ids: Record<string, string> = {};

beforeAll(async () => {
  if (!hasChromium) return;
  [gateway, tei, ollama] = await Promise.all([
    startTestGateway(),
    startTeiFake({ kind: 'reranker', modelId: 'bge-reranker-base', maxClientBatchSize: 16, maxBatchTokens: 8192 }),
    startOllamaFake({ models: [{ id: 'mixtral', capabilities: ['completion', 'tools'], embeddingDimension: 4096 }, { id: 'nomic-embed-text', capabilities: ['embedding'], embeddingDimension: 768 }] }),
  ]);
  ids['ranker'] = (await gateway.api('POST', '/api/v1/model-servers', { name: 'ranker', server_type: 'reranker', base_url: tei.url })).body.id;
  ids['box'] = (await gateway.api('POST', '/api/v1/model-servers', { name: 'box', server_type: 'ollama', base_url: ollama.url })).body.id;
  await gateway.api('POST', '/api/v1/model-servers/health-check-all');
  ({ browser, page, shot } = await openBrowser({ width: 1280, height: 900 }));
  await signIn(page, gateway.url, adminKey);
}, 60_000);

afterAll(async () => {
  if (!hasChromium) return;
  await browser?.close();
  await Promise.all([gateway?.stop(), tei?.stop(), ollama?.stop()]);
});

const row = (model: string) => page.getByRole('row').filter({ has: page.getByRole('cell', { name: model, exact: true }) });

describe.skipIf(!hasChromium)("a server's models", () => {
  it("shows a TEI reranker's batch limits from /info", async () => {
    await page.goto(`${gateway.url}/ui/#/servers/${ids['ranker']}`);
    await expect.poll(async () => (await row('bge-reranker-base').getByTestId('batch-limits').textContent().catch(() => null)) ?? '', poll).toBe('16 texts · 8,192 tokens');
    await shot('60-tei-batch-limits');
  });

  it('says an Ollama chat model embeds too, and leaves an embedder and unstated limits alone', async () => {
    await page.goto(`${gateway.url}/ui/#/servers/${ids['box']}`);
    const mixtral = row('mixtral:latest');
    await mixtral.waitFor(poll);
    expect(await mixtral.getByRole('cell').nth(1).textContent()).toBe('chat, completion, tools · embeds too');
    expect(await mixtral.getByTestId('batch-limits').textContent()).toBe('—');
    expect(await row('nomic-embed-text:latest').getByRole('cell').nth(1).textContent()).toBe('embedding');
    await shot('61-ollama-embeds-too');
  });
});
