import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAIFake, type OpenAIFake } from '../fakes/index.ts';
import { hasChromium, openBrowser, signIn } from '../support/browser.ts';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';

const settles = { timeout: 15_000 };

let gateway: TestGateway;
let vllm: OpenAIFake;
let browser: Browser;
let page: Page;
let shot: (name: string) => Promise<Buffer>;

beforeAll(async () => {
  if (!hasChromium) return;
  [gateway, vllm] = await Promise.all([startTestGateway({ env: { SWITCHYARD_USAGE_FLUSH_MS: '50' } }), startOpenAIFake({ flavor: 'vllm', models: [{ id: 'chatty' }] })]);
  expect((await gateway.api('POST', '/api/v1/model-servers', { name: 'gpu-1', base_url: vllm.url })).status).toBe(201);
  await gateway.api('POST', '/api/v1/model-servers/health-check-all');
  ({ browser, page, shot } = await openBrowser({ width: 1280, height: 900 }));
  await signIn(page, gateway.url, adminKey, '#/servers');
}, 60_000);

afterAll(async () => {
  if (!hasChromium) return;
  await browser?.close();
  await Promise.all([gateway?.stop(), vllm?.stop()]);
});

describe.skipIf(!hasChromium)('the console for GraphQL, WebSocket and gRPC clients', () => {
  it('lists every endpoint from the footer and runs a GraphQL query with the session', async () => {
    await page.getByRole('link', { name: 'Connect: endpoints, GraphQL, WebSocket, gRPC' }).click();
    await page.getByRole('heading', { name: 'Connect', exact: true }).waitFor(settles);
    const endpoints = page.getByTestId('endpoints');
    expect(await endpoints.textContent()).toContain(`${gateway.url}/graphql`);
    expect(await endpoints.textContent()).toContain('/ws/chat');
    // The proto file the page links to is served, without a key.
    const proto = await page.request.get(`${gateway.url}${(await page.getByRole('link', { name: 'model_service.proto' }).getAttribute('href')) ?? ''}`);
    expect(await proto.text()).toContain('service ModelService');
    await page.getByRole('button', { name: 'Run query' }).click();
    const result = page.getByTestId('graphql-result');
    await result.waitFor(settles);
    const answer = JSON.parse((await result.textContent()) ?? '{}') as { data: { models: Array<{ id: string; provider: string; status: string }> } };
    expect(answer.data.models).toEqual([expect.objectContaining({ id: 'chatty', provider: 'vllm', status: 'available' })]);
    // A mutation with the session runs too (same origin), and is recorded under GraphQL.
    await page.fill('textarea[name=graphql-query]', 'mutation { generateText(model: "chatty", prompt: "from the console") { text server } }');
    await page.getByRole('button', { name: 'Run query' }).click();
    await expect.poll(async () => (await result.textContent()) ?? '', settles).toContain('from the console');
    await shot('connect-graphql');
  });

  it('shows GraphQL traffic by API on the usage page', async () => {
    // The page reads what is stored: the mutation's usage record first.
    await gateway.gateway.usage.flush();
    await page.goto(`${gateway.url}/ui/#/usage`);
    await page.selectOption('select[name=group-by]', 'api');
    const table = page.getByRole('table', { name: 'Usage by group' });
    await table.getByTestId('api-graphql').waitFor(settles);
    expect(await table.getByTestId('api-graphql').textContent()).toBe('GraphQL (/graphql)');
  });

  it('shows live figures on the usage page, pushed over /ws/metrics with the session cookie', async () => {
    await page.goto(`${gateway.url}/ui/#/usage`);
    const requestsPerSecond = page.getByTestId('live-rps').locator('strong');
    await requestsPerSecond.waitFor(settles);
    expect(await page.locator('.live-dot').getAttribute('class')).toContain('live');
    for (let round = 0; round < 5; round++) expect((await gateway.api('POST', '/v1/chat/completions', { model: 'chatty', messages: [{ role: 'user', content: 'live' }] })).status).toBe(200);
    // Five requests in the 10-second window: 0.5 requests a second, shown within a second or two.
    await expect.poll(async () => Number(await requestsPerSecond.textContent()), settles).toBeGreaterThanOrEqual(0.5);
    expect(await page.getByTestId('live-latency').locator('strong').textContent()).toMatch(/ms$/);
    await shot('usage-live-figures');
  });
});
