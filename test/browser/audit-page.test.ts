import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sortableId } from '../../src/lib/sortable-id.ts';
import { hasChromium, openBrowser, signIn } from '../support/browser.ts';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';

/** Page updates wait on the gateway and the browser, both slow on a loaded machine: a generous cap, not an expectation. */
const settles = { timeout: 15_000 };

let gateway: TestGateway;
let browser: Browser;
let page: Page;
let shot: (name: string) => Promise<Buffer>;
let botKeyId: string;
const tenDaysAgo = new Date(Date.now() - 10 * 86_400_000);

/** A `datetime-local` value in this machine's time zone, which the browser it starts shares. */
function localInput(date: Date): string {
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

beforeAll(async () => {
  if (!hasChromium) return;
  gateway = await startTestGateway();
  // 35 entries: the env admin makes a key and 30 routes, the key "ops-bot" two changes, and two are ten days old.
  const bot = await gateway.api('POST', '/api/v1/keys', { name: 'ops-bot', scopes: ['admin'] });
  botKeyId = bot.body.id;
  const routeIds: string[] = [];
  for (let index = 1; index <= 30; index++) routeIds.push((await gateway.api('POST', '/api/v1/routes', { name: `route-${String(index).padStart(2, '0')}`, targets: ['mixtral'] })).body.id);
  const asBot = { authorization: `Bearer ${bot.body.key}` };
  expect((await gateway.api('POST', '/api/v1/model-servers', { name: 'edge', server_type: 'ollama', base_url: 'http://10.0.0.5:11434' }, asBot)).status).toBe(201);
  expect((await gateway.api('PUT', `/api/v1/routes/${routeIds[0]}`, { strategy: 'priority' }, asBot)).status).toBe(200);
  // Changes from ten days ago cannot be made through the API today: written as the audit store writes them.
  for (const [offset, name] of ['old-a', 'old-b'].entries()) {
    const at = new Date(tenDaysAgo.getTime() + offset * 60_000);
    await gateway.gateway.database.db
      .insertInto('audit_log')
      .values({ id: sortableId(at.getTime()), occurred_at: at.toISOString(), actor_key_id: 'env-admin', action: 'route.delete', target_type: 'route', target_id: name, before_state: JSON.stringify({ name }), after_state: null, request_id: null, source_ip: '127.0.0.1' })
      .execute();
  }
  ({ browser, page, shot } = await openBrowser({ width: 1280, height: 900 }));
  await signIn(page, gateway.url, adminKey, '#/audit');
}, 60_000);

afterAll(async () => {
  if (!hasChromium) return;
  await browser?.close();
  await gateway?.stop();
});

const rows = () => page.getByTestId('audit-row');
const shownIds = () => rows().evaluateAll((elements) => elements.map((element) => element.getAttribute('data-id')));
const shownActions = async () => [...new Set(await rows().evaluateAll((elements) => elements.map((element) => element.getAttribute('data-action'))))].sort();
const count = () => page.getByTestId('audit-count').textContent();
const applyFilter = async () => {
  await page.getByRole('button', { name: 'Filter' }).click();
};

describe.skipIf(!hasChromium)('the audit log page', () => {
  it('shows the newest 25 changes, names the key that made each, and loads older pages to the end', async () => {
    const everything = (await gateway.api('GET', '/api/v1/audit?limit=500')).body.data as Array<{ id: string }>;
    expect(everything).toHaveLength(35);
    await expect.poll(count, settles).toBe('Showing the newest 25 entries');
    expect(await shownIds()).toEqual(everything.slice(0, 25).map((entry) => entry.id));
    const newest = rows().first();
    expect(await newest.getAttribute('data-action')).toBe('route.update');
    expect(await newest.textContent()).toContain('ops-bot');
    expect(await newest.textContent()).toContain('changed strategy');
    // The environment's admin key has no record: it goes by its variable's name, as in the session and usage.
    expect(await rows().nth(2).textContent()).toMatch(/SWITCHYARD_ADMIN_KEY.*route\.create.*route-30/);
    await shot('audit-01-first-page');

    await page.getByRole('button', { name: 'Load older' }).click();
    await expect.poll(count, settles).toBe('Showing all 35 entries');
    expect(await shownIds()).toEqual(everything.map((entry) => entry.id));
    expect(await page.getByRole('button', { name: 'Load older' }).count()).toBe(0);
  });

  it('filters by actor, target type and time range', async () => {
    await page.selectOption('select[name=actor]', botKeyId);
    await applyFilter();
    await expect.poll(count, settles).toBe('Showing all 2 entries');
    expect(await shownActions()).toEqual(['route.update', 'server.create']);

    await page.selectOption('select[name=actor]', '');
    await page.selectOption('select[name=target_type]', 'server');
    await applyFilter();
    await expect.poll(count, settles).toBe('Showing all 1 entry');
    expect(await rows().first().textContent()).toContain('edge');

    await page.selectOption('select[name=target_type]', '');
    await page.fill('input[name=from]', localInput(new Date(tenDaysAgo.getTime() - 86_400_000)));
    await page.fill('input[name=to]', localInput(new Date(tenDaysAgo.getTime() + 86_400_000)));
    await applyFilter();
    await expect.poll(count, settles).toBe('Showing all 2 entries');
    expect(await rows().evaluateAll((elements) => elements.map((element) => element.textContent ?? ''))).toEqual([expect.stringContaining('old-b'), expect.stringContaining('old-a')]);
    await shot('audit-02-time-range');

    await page.getByRole('button', { name: 'Clear' }).click();
    await expect.poll(count, settles).toBe('Showing the newest 25 entries');
  });

  it('keeps a filter across pages and shows an entry’s before and after', async () => {
    await page.fill('input[name=action]', 'route.create');
    await applyFilter();
    await expect.poll(count, settles).toBe('Showing the newest 25 entries');
    await page.getByRole('button', { name: 'Load older' }).click();
    await expect.poll(count, settles).toBe('Showing all 30 entries');
    expect(await shownActions()).toEqual(['route.create']);
    expect(await rows().last().textContent()).toContain('route-01');

    await page.getByRole('button', { name: 'Clear' }).click();
    await expect.poll(count, settles).toBe('Showing the newest 25 entries');
    await rows().first().getByRole('button', { name: 'Details' }).click();
    const detail = page.locator('.audit-detail');
    await expect.poll(async () => (await detail.textContent()) ?? '', settles).toMatch(/Before.*"strategy": null.*After.*"strategy": "priority"/s);
  });
});
