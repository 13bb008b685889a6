// The server page says when live traffic took a model out of rotation there
// (an embedding of another dimension), and stops saying it after a health check.
import type { Browser, Page } from 'playwright-core';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTeiFake, type TeiFake } from '../fakes/index.ts';
import { hasChromium, openBrowser, signIn } from '../support/browser.ts';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';

const poll = { timeout: 15_000 };
let gateway: TestGateway;
let right: TeiFake;
let wrong: TeiFake;
let browser: Browser;
let page: Page;
let shot: (name: string) => Promise<Buffer>;
const ids: Record<string, string> = {};

beforeAll(async () => {
  if (!hasChromium) return;
  [gateway, right, wrong] = await Promise.all([startTestGateway({ env: { SWITCHYARD_HEDGING: 'false' } }), startTeiFake({ modelId: 'general' }), startTeiFake({ modelId: 'general' })]);
  ids['right'] = (await gateway.api('POST', '/api/v1/model-servers', { name: 'right', base_url: right.url })).body.id;
  ids['wrong'] = (await gateway.api('POST', '/api/v1/model-servers', { name: 'wrong', base_url: wrong.url })).body.id;
  await gateway.api('POST', '/api/v1/model-servers/health-check-all');
  ({ browser, page, shot } = await openBrowser({ width: 1280, height: 900 }));
  await signIn(page, gateway.url, adminKey);
}, 60_000);

afterAll(async () => {
  if (!hasChromium) return;
  await browser?.close();
  await Promise.all([gateway?.stop(), right?.stop(), wrong?.stop()]);
});

describe.skipIf(!hasChromium)('a model out of rotation', () => {
  it('shows the reason on the server page until the next health check', async () => {
    wrong.answerDimension = 768;
    wrong.resetRequests();
    for (let round = 0; round < 20 && wrong.embeddingBatches().length === 0; round++) {
      const answer = await gateway.api('POST', '/v1/embeddings', { model: 'general', input: [`a text ${randomUUID()}`] });
      expect(answer.status, answer.text).toBe(200);
    }
    await page.goto(`${gateway.url}/ui/#/servers/${ids['wrong']}`);
    const state = page.getByTestId('model-state');
    await expect.poll(async () => (await state.textContent().catch(() => null)) ?? '', poll).toContain('out of rotation: dimension mismatch');
    expect(await state.textContent()).toContain('768');
    await shot('62-model-out-of-rotation');

    wrong.answerDimension = null;
    await gateway.api('POST', '/api/v1/model-servers/health-check-all');
    await page.reload();
    await expect.poll(async () => (await state.textContent().catch(() => null)) ?? 'out of rotation', poll).not.toContain('out of rotation');
  });
});
