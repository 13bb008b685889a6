import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium, openBrowser, signIn } from '../support/browser.ts';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';

const settles = { timeout: 15_000 };

let gateway: TestGateway;
let browser: Browser;
let page: Page;
let shot: (name: string) => Promise<Buffer>;
const requested: string[] = [];

beforeAll(async () => {
  if (!hasChromium) return;
  gateway = await startTestGateway();
  ({ browser, page, shot } = await openBrowser({ width: 1280, height: 900 }));
  // Every page of the context, the docs tab too, from its very first request.
  page.context().on('request', (request) => requested.push(request.url()));
}, 60_000);

afterAll(async () => {
  if (!hasChromium) return;
  await browser?.close();
  await gateway?.stop();
});

describe.skipIf(!hasChromium)('the API docs page', () => {
  it('is linked from the console and renders every API group, asking nothing of the internet', async () => {
    await signIn(page, gateway.url, adminKey, '#/servers');
    const [docs] = await Promise.all([page.context().waitForEvent('page'), page.getByRole('link', { name: 'API reference', exact: true }).click()]);
    await docs.getByText('Anthropic Messages API', { exact: true }).first().waitFor(settles);
    for (const group of ['OpenAI-compatible API', 'Ollama-compatible API', 'OpenAI Responses API', 'Model REST API', 'Keys']) {
      await docs.getByText(group, { exact: true }).first().waitFor(settles);
    }
    await docs.getByText('/v1/chat/completions', { exact: true }).first().waitFor(settles);
    // An operation opens on its request body and the scope it needs.
    const messages = docs.locator('#operations-Anthropic_Messages_API-post_v1_messages');
    await messages.locator('.opblock-summary').click();
    await messages.getByText('x-switchyard-scope').first().waitFor(settles);
    await messages.getByText('max_tokens').first().waitFor(settles);
    // Swagger UI lists what it could not parse or resolve in the document here.
    expect(await docs.locator('.errors-wrapper').count()).toBe(0);
    const outside = requested.filter((url) => !url.startsWith(gateway.url) && !url.startsWith('data:') && !url.startsWith('blob:'));
    expect(outside).toEqual([]);
    expect(requested.some((url) => url.startsWith(`${gateway.url}/docs/`))).toBe(true);
    await docs.screenshot({ path: 'test-artifacts/screenshots/api-docs.png' });
    await shot('console-with-docs-link');
  });
});
