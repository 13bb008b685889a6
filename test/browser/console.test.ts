import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOllamaFake, type OllamaFake } from '../fakes/index.ts';
import { hasChromium, openBrowser } from '../support/browser.ts';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';


let gateway: TestGateway;
let ollama: OllamaFake;
let browser: Browser;
let page: Page;
let shot: (name: string) => Promise<Buffer>;

beforeAll(async () => {
  if (!hasChromium) return;
  [gateway, ollama] = await Promise.all([
    startTestGateway({ startScheduler: true, env: { SWITCHYARD_HEALTH_TIMEOUT_MS: '300', SWITCHYARD_USAGE_FLUSH_MS: '50' } }),
    startOllamaFake({ behaviour: { tokenIntervalMs: 60 } }),
  ]);
  ({ browser, page, shot } = await openBrowser({ width: 1280, height: 900 }));
}, 60_000);

afterAll(async () => {
  if (!hasChromium) return;
  await browser?.close();
  await Promise.all([gateway?.stop(), ollama?.stop()]);
});


describe.skipIf(!hasChromium)('the console in a real browser', () => {
  it('signs in with a key and shows an empty state that says what to do', async () => {
    await page.goto(`${gateway.url}/ui/`);
    await page.fill('input[name=key]', 'sk-sy-wrong');
    await page.click('button[type=submit]');
    await page.getByText('That key was not accepted').waitFor();
    await page.fill('input[name=key]', adminKey);
    await page.click('button[type=submit]');
    await page.getByRole('heading', { name: 'No model servers yet' }).waitFor();
    const cookies = await page.context().cookies();
    const session = cookies.find((cookie) => cookie.name === 'sy_session');
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    expect(JSON.stringify(cookies)).not.toContain(adminKey);
    // Every page and "Sign out" fit on one line at 1280 px: the nav is no taller than one of its links' rows.
    const navHeight = (await page.locator('nav').boundingBox())?.height ?? 0;
    const linkHeight = (await page.locator('nav a').first().boundingBox())?.height ?? 0;
    expect(navHeight).toBeLessThan(linkHeight * 2 + 20);
    await expect.poll(() => page.locator('nav .muted').getAttribute('title')).toContain('admin');
    await shot('01-empty-servers');
  });

  it('adds a server with the modal, shows API validation inline, and watches its card turn green', async () => {
    await page.getByRole('button', { name: 'Add your first server' }).click();
    await page.fill('input[name=name]', 'primary');
    await page.fill('input[name=base_url]', 'ftp://nowhere');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('base_url must use http or https.').waitFor();
    await page.fill('input[name=base_url]', ollama.url);
    await page.fill('input[name=interval]', '1');
    await page.getByRole('button', { name: 'Save' }).click();
    const card = page.getByTestId('server-card-primary');
    await expect.poll(() => card.getAttribute('data-status'), { timeout: 10_000 }).toBe('online');
    await expect.poll(async () => (await card.textContent()) ?? '', { timeout: 5_000 }).toMatch(/Models5/);
    await shot('02-server-online');
  });

  it('turns the card red when the server stops, without a reload', async () => {
    // A marker on the page survives only if the page is never reloaded.
    await page.evaluate(() => ((globalThis as unknown as { marker: number }).marker = 42));
    await ollama.stop();
    const card = page.getByTestId('server-card-primary');
    await expect.poll(() => card.getAttribute('data-status'), { timeout: 15_000 }).toBe('offline');
    expect(await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker)).toBe(42);
    await shot('03-server-offline');
    await ollama.restart();
    await expect.poll(() => card.getAttribute('data-status'), { timeout: 10_000 }).toBe('online');
  });

  it('shows a server’s models and health history', async () => {
    await page.getByRole('button', { name: 'primary' }).click();
    await page.getByRole('cell', { name: 'mixtral:latest' }).waitFor();
    expect(await page.locator('.timeline .tick').count()).toBeGreaterThan(2);
    await shot('04-server-detail');
  });

  it('streams a chat answer token by token in the playground, naming the server and the time to first token', async () => {
    await page.goto(`${gateway.url}/ui/#/playground`);
    await page.locator('select[name=model] option[value="mixtral:latest"]').waitFor({ state: 'attached' });
    await page.selectOption('select[name=model]', 'mixtral:latest');
    await page.fill('textarea[name=prompt]', 'tell me a story about switchyards and trains');
    // Record every length the answer takes inside the page itself: polling it over CDP from the test
    // misses intermediate renders when the machine is loaded, a MutationObserver sees each one.
    // (A string, as the test's tsconfig has no DOM types.)
    await page.evaluate(`
      window.answerLengths = new Set();
      new MutationObserver(() => {
        const answer = document.querySelector('[data-testid="answer"]');
        if (answer !== null) window.answerLengths.add(answer.textContent.length);
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    `);
    await page.getByRole('button', { name: 'Send' }).click();
    const answer = page.getByTestId('answer');
    await expect.poll(async () => (await answer.textContent()) ?? '', { timeout: 15_000 }).toMatch(/Hello from mixtral/);
    await page.getByRole('button', { name: 'Send' }).waitFor();
    const lengths = await page.evaluate<number>('window.answerLengths.size');
    expect(lengths).toBeGreaterThan(2);
    await expect.poll(async () => (await page.getByTestId('answer-meta').textContent()) ?? '').toMatch(/Served by primary \(mixtral:latest\) · time to first token \d+ ms/);
    await page.getByRole('button', { name: 'Embed' }).click();
    await expect.poll(async () => (await page.getByTestId('embedding-result').textContent()) ?? '').toMatch(/768 dimensions/);
    await shot('05-playground');
  });

  it('creates a key shown once with a copy button, and revokes it', async () => {
    await page.goto(`${gateway.url}/ui/#/keys`);
    await page.getByRole('button', { name: 'New key' }).click();
    await page.fill('input[name=key-name]', 'browser-app');
    await page.getByRole('button', { name: 'Create key' }).click();
    const secret = (await page.getByTestId('new-key').textContent()) ?? '';
    expect(secret).toMatch(/^sk-sy-/);
    await page.getByRole('button', { name: 'Copy' }).waitFor();
    await shot('06-key-created');
    const row = page.getByTestId('key-row-browser-app');
    expect(await row.textContent()).not.toContain(secret);
    await row.getByRole('button', { name: 'Revoke' }).click();
    await expect.poll(async () => (await page.getByTestId('key-row-browser-app').textContent()) ?? '').toContain('revoked');
    expect((await fetch(`${gateway.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(401);
    await shot('07-key-revoked');
  });

  it('draws usage charts from real data', async () => {
    await gateway.gateway.usage.flush();
    await page.goto(`${gateway.url}/ui/#/usage`);
    const chart = page.getByTestId('chart-Requests');
    await chart.waitFor();
    const points = await chart.locator('circle').count();
    expect(points).toBeGreaterThan(0);
    await page.getByRole('cell', { name: 'mixtral:latest' }).waitFor();
    await shot('08-usage');
    await page.goto(`${gateway.url}/ui/#/models`);
    await page.getByRole('cell', { name: 'mixtral:latest' }).first().waitFor();
    const phi3 = page.getByRole('row').filter({ hasText: 'phi3:latest' });
    await phi3.getByRole('button', { name: 'Benchmark' }).click();
    await expect.poll(async () => (await page.getByTestId('benchmark-phi3:latest').textContent()) ?? '', { timeout: 15_000 }).toMatch(/3\/3 ok · p50 [\d.]+ ms · TTFT [\d.]+ ms · [\d.]+ tok\/s/);
    await shot('09-models');
  });

  it('names keys on the usage page, with benchmark traffic marked internal', async () => {
    const app = (await gateway.api('POST', '/api/v1/keys', { name: 'reporting-app', scopes: ['inference'] })).body as { id: string; key: string };
    const chat = await fetch(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${app.key}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'mixtral', messages: [{ role: 'user', content: 'hi' }] }) });
    expect(chat.status).toBe(200);
    await gateway.gateway.usage.flush();
    await page.goto(`${gateway.url}/ui/#/usage`);
    await page.selectOption('select[name=group-by]', 'key');
    await page.getByRole('cell', { name: 'reporting-app' }).waitFor();
    // The benchmark run by the previous test made its own key: one labelled row, not its raw id.
    await page.getByRole('cell', { name: 'benchmark (internal)' }).waitFor();
    await page.getByRole('cell', { name: 'SWITCHYARD_ADMIN_KEY' }).waitFor();
    // The usage table (the page also lists prices).
    const table = (await page.getByRole('table', { name: 'Usage by group' }).textContent()) ?? '';
    expect(table).not.toContain(app.id);
    expect(table).not.toMatch(/benchmark-[0-9a-f]/);
    await shot('10-usage-by-key');
  });

  it('lets a read key see everything but change nothing', async () => {
    const reader = (await gateway.api('POST', '/api/v1/keys', { name: 'viewer', scopes: ['read'] })).body.key as string;
    const context = await browser.newContext();
    const readerPage = await context.newPage();
    await readerPage.goto(`${gateway.url}/ui/`);
    await readerPage.fill('input[name=key]', reader);
    await readerPage.click('button[type=submit]');
    await readerPage.getByTestId('server-card-primary').waitFor();
    expect(await readerPage.getByRole('button', { name: 'Add server' }).count()).toBe(0);
    expect(await readerPage.getByRole('button', { name: 'Delete' }).count()).toBe(0);
    await context.close();
  });
});
