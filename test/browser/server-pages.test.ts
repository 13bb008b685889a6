import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
let serverId: string;
// Every 404 any page load met, request or console message: there should be none.
const notFound: string[] = [];
// Admin API calls in flight: a page is measured once its data has arrived.
const inFlight = new Set<string>();

beforeAll(async () => {
  if (!hasChromium) return;
  // One model: the load the fake reports is per model, and the card shows the server's sum.
  vllm = await startOpenAIFake({ flavor: 'vllm', models: [{ id: 'yi34b', contextLength: 4096 }] });
  vllm.setLoad({ running: 3, waiting: 2, kvCacheUsage: 0.25 });
  const dir = mkdtempSync(join(tmpdir(), 'sy-console-fleet-'));
  const fleetFile = join(dir, 'fleet.yaml');
  writeFileSync(fleetFile, `servers:\n  - name: fleet-llm\n    server_type: vllm\n    base_url: ${vllm.url}\n    health_check_interval_s: 1\n`);
  gateway = await startTestGateway({ startScheduler: true, configFile: fleetFile, env: { SWITCHYARD_HEALTH_TIMEOUT_MS: '2000', SWITCHYARD_USAGE_FLUSH_MS: '50' } });
  serverId = (await gateway.api('POST', '/api/v1/model-servers', { name: 'gpu', server_type: 'vllm', base_url: vllm.url, health_check_interval_s: 1 })).body.id;
  await gateway.api('POST', '/api/v1/model-servers/health-check-all');
  // One answered request, so the usage page has charts to lay out.
  await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'yi34b', messages: [{ role: 'user', content: 'hi' }] }),
  });
  await gateway.gateway.usage.flush();
  ({ browser, page, shot } = await openBrowser({ width: 1280, height: 900 }));
  page.on('response', (response) => {
    if (response.status() === 404) notFound.push(`${response.request().method()} ${response.url()}`);
  });
  page.on('console', (message) => {
    if (/404|not found/i.test(message.text())) notFound.push(`console: ${message.text()}`);
  });
  page.on('request', (request) => {
    if (request.url().includes('/api/v1/') && !request.url().endsWith('/api/v1/events')) inFlight.add(request.url());
  });
  page.on('requestfinished', (request) => inFlight.delete(request.url()));
  page.on('requestfailed', (request) => inFlight.delete(request.url()));
  await signIn(page, gateway.url, adminKey);
  await page.getByRole('heading', { name: 'Model servers' }).waitFor();
}, 60_000);

afterAll(async () => {
  if (!hasChromium) return;
  await browser?.close();
  await Promise.all([gateway?.stop(), vllm?.stop()]);
});

const figure = (card: ReturnType<Page['getByTestId']>, name: string) => card.getByTestId(name).textContent();

describe.skipIf(!hasChromium)('server cards and the server page', () => {
  it('shows the last probe latency as a number, with the load figures of an online server', async () => {
    const card = page.getByTestId('server-card-gpu');
    await expect.poll(() => card.getAttribute('data-status'), poll).toBe('online');
    await expect.poll(() => figure(card, 'load-running'), poll).toBe('3');
    expect(await figure(card, 'probe-latency')).toMatch(/^(\d+|<1) ms$/);
    expect([await figure(card, 'load-waiting'), await figure(card, 'load-kv-cache')]).toEqual(['2', '25%']);
  });

  it('marks a server the fleet file manages, and offers Test but not Edit or Delete for it', async () => {
    const managed = page.getByTestId('server-card-fleet-llm');
    await managed.getByText('managed by fleet file').waitFor();
    expect(await managed.getByRole('button', { name: 'Test connection' }).count()).toBe(1);
    expect(await managed.getByRole('button', { name: 'Edit' }).count()).toBe(0);
    expect(await managed.getByRole('button', { name: 'Delete' }).count()).toBe(0);
    const own = page.getByTestId('server-card-gpu');
    expect(await own.getByText('managed by fleet file').count()).toBe(0);
    expect(await own.getByRole('button', { name: 'Edit' }).count()).toBe(1);
    await managed.getByRole('button', { name: 'fleet-llm' }).click();
    await page.getByRole('button', { name: 'Test', exact: true }).waitFor();
    expect(await page.getByRole('button', { name: 'Edit' }).count()).toBe(0);
    await shot('40-managed-server');
  });

  it('tests a server from its page and shows the result', async () => {
    await page.goto(`${gateway.url}/ui/#/servers/${serverId}`);
    await page.getByRole('button', { name: 'Test', exact: true }).click();
    await expect.poll(async () => (await page.getByTestId('test-result').textContent()) ?? '', poll).toMatch(/^gpu answered in \d+ ms with 1 model\(s\)\.$/);
  });

  it('edits a server from its page with the server form, filled in, saved with PUT', async () => {
    await page.getByRole('button', { name: 'Edit' }).click();
    const dialog = page.getByRole('dialog', { name: 'Edit gpu' });
    expect(await dialog.locator('input[name=base_url]').inputValue()).toBe(vllm.url);
    expect(await dialog.locator('input[name=interval]').inputValue()).toBe('1');
    expect(await dialog.locator('input[name=max_concurrency]').inputValue()).toBe('');
    await dialog.locator('input[name=name]').fill('gpu-main');
    // A capacity the API refuses is shown at its field, and nothing is saved.
    await dialog.locator('input[name=max_concurrency]').fill('100001');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.getByText('max_concurrency must be <= 100000.').waitFor();
    await dialog.locator('input[name=max_concurrency]').fill('6');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });
    await page.getByRole('heading', { name: /gpu-main/ }).waitFor();
    expect((await gateway.api('GET', `/api/v1/model-servers/${serverId}`)).body).toMatchObject({ name: 'gpu-main', base_url: vllm.url, health_check_interval_s: 1, max_concurrency: 6 });
  });

  it('labels both axes of its charts with what they measure and the unit', async () => {
    const chart = page.getByTestId('chart-Probe latency (ms)');
    await chart.waitFor();
    expect(await chart.locator('[data-axis=y]').textContent()).toBe('latency (ms)');
    expect(await chart.locator('[data-axis=x]').textContent()).toBe('time of check');
    await shot('41-server-detail');
  });

  it('closes a dialog with Escape and gives focus back to the button that opened it', async () => {
    await page.goto(`${gateway.url}/ui/#/servers`);
    const opener = page.getByRole('button', { name: 'Add server' });
    await opener.click();
    const dialog = page.getByRole('dialog', { name: 'Add a model server' });
    await dialog.waitFor();
    // Expressions run in the page (this test's TypeScript has no DOM types).
    expect(await page.evaluate('document.activeElement?.getAttribute("name")')).toBe('name');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    expect(await page.evaluate('document.activeElement?.textContent')).toBe('Add server');
  });

  it('fits a 420 px wide window on every page: no sideways scrolling of the page', async () => {
    await page.setViewportSize({ width: 420, height: 800 });
    const paths = await page.locator('nav a').evaluateAll((links) => links.map((link) => link.getAttribute('href') ?? ''));
    expect(paths.length).toBeGreaterThanOrEqual(5);
    const widths: Record<string, number> = {};
    for (const path of [...paths, `#/servers/${serverId}`]) {
      await page.goto(`${gateway.url}/ui/${path}`);
      await page.locator('main h1').first().waitFor();
      await expect.poll(() => inFlight.size, poll).toBe(0);
      // Measured after the next frame, once the data that arrived is laid out.
      widths[path] = await page.evaluate<number>('new Promise((resolve) => requestAnimationFrame(() => resolve(document.scrollingElement.scrollWidth)))');
      await shot(`42-narrow-${path === `#/servers/${serverId}` ? 'server-detail' : path.replace(/\W+/g, '')}`);
    }
    expect(Object.entries(widths).filter(([, width]) => width > 420)).toEqual([]);
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it('shows no load figures for an offline server, only dashes', async () => {
    await page.goto(`${gateway.url}/ui/#/servers`);
    const card = page.getByTestId('server-card-gpu-main');
    await expect.poll(() => figure(card, 'load-running'), poll).toBe('3');
    await vllm.stop();
    await expect.poll(() => card.getAttribute('data-status'), poll).toBe('offline');
    // The API keeps the last load it saw; the card must not present it as current.
    expect((await gateway.api('GET', `/api/v1/model-servers/${serverId}`)).body.load?.running_requests).toBe(3);
    expect([await figure(card, 'load-running'), await figure(card, 'load-waiting'), await figure(card, 'load-kv-cache'), await figure(card, 'probe-latency')]).toEqual(['—', '—', '—', '—']);
    await shot('43-server-offline');
  });

  it('has a favicon where the console is served, and no page load met a 404', async () => {
    const icon = await page.evaluate<string | null>('document.querySelector("link[rel=icon]")?.href ?? null');
    expect(icon).toBe(`${gateway.url}/ui/favicon.svg`);
    for (const url of [icon as string, `${gateway.url}/favicon.ico`]) {
      const response = await fetch(url);
      expect([response.status, response.headers.get('content-type')]).toEqual([200, 'image/svg+xml']);
    }
    expect(notFound).toEqual([]);
  });
});
