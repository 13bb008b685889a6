import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAIFake, type OpenAIFake } from '../fakes/index.ts';
import { hasChromium, openBrowser, signIn } from '../support/browser.ts';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';

// A cap, not a wait: a loaded machine slows these polls rather than failing them (vitest's default is 1 s).
const poll = { timeout: 15_000 };
let gateway: TestGateway;
let vllm: OpenAIFake;
let browser: Browser;
let page: Page;
let shot: (name: string) => Promise<Buffer>;

beforeAll(async () => {
  if (!hasChromium) return;
  // 20 tokens reserved for a request without max_tokens: a small budget admits one request, which then spends it.
  [gateway, vllm] = await Promise.all([startTestGateway({ env: { SWITCHYARD_DEFAULT_COMPLETION_TOKENS: '20' } }), startOpenAIFake({ flavor: 'vllm' })]);
  await gateway.api('POST', '/api/v1/model-servers', { name: 'gpu', server_type: 'vllm', base_url: vllm.url });
  await gateway.api('POST', '/api/v1/model-servers/health-check-all');
  ({ browser, page, shot } = await openBrowser({ width: 1280, height: 900 }));
  await signIn(page, gateway.url, adminKey);
  await page.getByRole('heading', { name: 'Model servers' }).waitFor();
}, 60_000);

afterAll(async () => {
  if (!hasChromium) return;
  await browser?.close();
  await Promise.all([gateway?.stop(), vllm?.stop()]);
});

const keyNamed = async (name: string) => ((await gateway.api('GET', '/api/v1/keys')).body.data as Array<Record<string, unknown>>).find((key) => key['name'] === name);

describe.skipIf(!hasChromium)('the key form', () => {
  it('creates a key with every field the API has: scopes, model allow-list, RPM, TPM, budget, priority, expiry and metadata', async () => {
    await page.goto(`${gateway.url}/ui/#/keys`);
    await page.getByRole('button', { name: 'New key' }).click();
    const dialog = page.getByRole('dialog', { name: 'Create a key' });
    await dialog.locator('input[name=key-name]').fill('full-form');
    await dialog.locator('input[name=key-scope][value=read]').check();
    await dialog.locator('input[name=key-models]').fill('yi*, deepseek');
    await dialog.locator('input[name=key-rpm]').fill('60');
    await dialog.locator('input[name=key-tpm]').fill('20000');
    await dialog.locator('input[name=key-budget]').fill('1000000');
    await dialog.locator('input[name=key-budget-cost]').fill('12.5');
    await dialog.locator('select[name=key-priority]').selectOption('batch');
    await dialog.locator('input[name=key-expires]').fill('2031-05-06T07:08');
    await dialog.locator('textarea[name=key-metadata]').fill('{"team": "search"}');
    await dialog.getByRole('button', { name: 'Create key' }).click();
    const secret = (await page.getByTestId('new-key').textContent()) ?? '';
    expect(secret).toMatch(/^sk-sy-/);
    // datetime-local is the browser's local time: ask the browser what instant it meant.
    const expiresAt = await page.evaluate(() => new Date('2031-05-06T07:08').toISOString());
    expect(await keyNamed('full-form')).toMatchObject({
      scopes: ['inference', 'read'],
      models: ['yi*', 'deepseek'],
      rpm: 60,
      tpm: 20_000,
      budget_tokens: 1_000_000,
      budget_cost: 12.5,
      used_cost: 0,
      priority: 'batch',
      expires_at: expiresAt,
      metadata: { team: 'search' },
      status: 'active',
    });
    const row = page.getByTestId('key-row-full-form');
    await expect.poll(async () => (await row.getByTestId('key-models').textContent()) ?? '', poll).toBe('yi*, deepseek');
    expect(await row.textContent()).toContain('60 rpm · 20000 tpm');
    expect(await row.getByTestId('key-spend').textContent()).toBe('spent 0.0000 / 12.5');
    expect(await row.textContent()).not.toContain(secret);
    await shot('30-key-full-form');
  });

  it('edits a key: the form opens with its values, and a cleared limit becomes no limit', async () => {
    await page.getByTestId('key-row-full-form').getByRole('button', { name: 'Edit' }).click();
    const dialog = page.getByRole('dialog', { name: 'Edit full-form' });
    expect(await dialog.locator('input[name=key-rpm]').inputValue()).toBe('60');
    expect(await dialog.locator('input[name=key-expires]').inputValue()).toBe('2031-05-06T07:08');
    expect(await dialog.locator('input[name=key-models]').inputValue()).toBe('yi*, deepseek');
    await dialog.locator('input[name=key-rpm]').fill('120');
    await dialog.locator('input[name=key-tpm]').fill('');
    await dialog.locator('input[name=key-models]').fill('yi34b');
    await dialog.locator('input[name=key-scope][value=read]').uncheck();
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });
    expect(await keyNamed('full-form')).toMatchObject({ scopes: ['inference'], models: ['yi34b'], rpm: 120, tpm: null, budget_tokens: 1_000_000, metadata: { team: 'search' } });
    await expect.poll(async () => (await page.getByTestId('key-row-full-form').getByTestId('key-models').textContent()) ?? '', poll).toBe('yi34b');
  });

  it('refuses a limit that is not a whole number beside its field, without calling the API', async () => {
    await page.getByRole('button', { name: 'New key' }).click();
    const dialog = page.getByRole('dialog', { name: 'Create a key' });
    await dialog.locator('input[name=key-name]').fill('fractional');
    await dialog.locator('input[name=key-budget]').fill('1.5');
    // The browser's own number check would stop the submit first; the form's check is what a typed value meets.
    await dialog.locator('form').evaluate((form) => form.setAttribute('novalidate', ''));
    await dialog.getByRole('button', { name: 'Create key' }).click();
    await dialog.locator('label', { has: page.locator('input[name=key-budget]') }).getByText('The token budget must be a whole number of at least 0.').waitFor();
    expect(await keyNamed('fractional')).toBeUndefined();
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
  });

  it('shows a key whose budget is spent as "budget exhausted", not "active"', async () => {
    const spent = (await gateway.api('POST', '/api/v1/keys', { name: 'spent', scopes: ['inference'], budget_tokens: 100 })).body;
    // 8 prompt + 20 reserved fit in 100; the fake's 200-token answer takes the key past its budget.
    vllm.setReply('word '.repeat(200).trim());
    try {
      const response = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${spent.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'yi34b', messages: [{ role: 'user', content: 'hi' }] }),
      });
      expect(response.status).toBe(200);
    } finally {
      vllm.setReply(undefined);
    }
    await expect.poll(async () => (await keyNamed('spent'))?.['status'], poll).toBe('budget_exhausted');
    await page.reload();
    const row = page.getByTestId('key-row-spent');
    expect(await row.getByTestId('key-status').textContent()).toBe('budget exhausted');
    expect(await row.textContent()).toMatch(/\d+ \/ 100/);
    expect(await page.getByTestId('key-row-full-form').getByTestId('key-status').textContent()).toBe('active');
    await shot('31-key-budget-exhausted');
  });
});
