// The server page shows how much of the prompts a vLLM server found in its
// prefix cache (over its latest probe interval), and nothing for a server
// that reports no prefix cache.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAIFake, type OpenAIFake } from '../fakes/index.ts';
import { hasChromium, openBrowser, signIn } from '../support/browser.ts';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';

const poll = { timeout: 15_000 };
let gateway: TestGateway;
let cached: OpenAIFake;
let plain: OpenAIFake;
let browser: Browser;
let page: Page;
let shot: (name: string) => Promise<Buffer>;
const ids: Record<string, string> = {};

beforeAll(async () => {
  if (!hasChromium) return;
  [gateway, cached, plain] = await Promise.all([
    startTestGateway(),
    startOpenAIFake({ flavor: 'vllm', models: [{ id: 'cached-llm' }], behaviour: { capacity: { slots: 4, prefixCacheBlocks: 256 } } }),
    startOpenAIFake({ flavor: 'llamacpp', models: [{ id: 'plain-llm' }] }),
  ]);
  ids['cached'] = (await gateway.api('POST', '/api/v1/model-servers', { name: 'gpu-cache', server_type: 'vllm', base_url: cached.url })).body.id;
  ids['plain'] = (await gateway.api('POST', '/api/v1/model-servers', { name: 'laptop', server_type: 'llamacpp', base_url: plain.url })).body.id;
  await gateway.api('POST', '/api/v1/model-servers/health-check-all');
  // The same conversation twice: the second time every block of its prompt is in the cache.
  for (let turn = 0; turn < 2; turn++) {
    const answer = await gateway.api('POST', '/v1/chat/completions', { model: 'cached-llm', max_tokens: 4, messages: [{ role: 'user', content: 'Keep this opening in your cache. '.repeat(8) }] });
    expect(answer.status, answer.text).toBe(200);
  }
  await gateway.api('POST', '/api/v1/model-servers/health-check-all');
  ({ browser, page, shot } = await openBrowser({ width: 1280, height: 900 }));
  await signIn(page, gateway.url, adminKey);
}, 60_000);

afterAll(async () => {
  if (!hasChromium) return;
  await browser?.close();
  await Promise.all([gateway?.stop(), cached?.stop(), plain?.stop()]);
});

describe.skipIf(!hasChromium)('the prefix cache on the server page', () => {
  it('shows the hit rate of a server that reports one', async () => {
    const readings = cached.capacityReadings();
    if (readings === null) throw new Error('the fake models no capacity');
    expect(readings.prefixHits * 2).toBe(readings.prefixQueries);
    await page.goto(`${gateway.url}/ui/#/servers/${ids['cached']}`);
    const rate = page.getByTestId('prefix-cache-hit-rate');
    await expect.poll(async () => (await rate.textContent().catch(() => null)) ?? '', poll).toBe('50%');
    expect(await page.getByText('Prefix cache hit rate').count()).toBe(1);
    await shot('63-prefix-cache-hit-rate');
  });

  it('shows none for a server that reports no prefix cache', async () => {
    await page.goto(`${gateway.url}/ui/#/servers/${ids['plain']}`);
    await page.getByRole('heading', { name: /laptop/ }).waitFor();
    await page.getByRole('heading', { name: 'Models' }).waitFor();
    expect(await page.getByTestId('prefix-cache-hit-rate').count()).toBe(0);
  });
});
