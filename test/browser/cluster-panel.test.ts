import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium, openBrowser, signIn } from '../support/browser.ts';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';
import { dropSchema, postgresAvailable, uniqueSchema } from '../support/postgres.ts';

// Two replicas on one PostgreSQL schema: the Servers page lists both, says
// which one probes the fleet and which one answered the page, and shows the
// checker moving when it stops (decision 0033).
const settles = { timeout: 15_000 };
const available = hasChromium && (await postgresAvailable());
if (hasChromium && !available && process.env['CI'] === 'true') throw new Error('PostgreSQL must be reachable in CI');

const schema = uniqueSchema('sy_cluster_ui');
const env = { SWITCHYARD_SECRET_KEY: 'cluster-panel-secret-key-0123456789abcdef' };
let first: TestGateway;
let second: TestGateway;
let browser: Browser;
let page: Page;
let shot: (name: string) => Promise<Buffer>;

beforeAll(async () => {
  if (!available) return;
  first = await startTestGateway({ postgresSchema: schema, env });
  second = await startTestGateway({ postgresSchema: schema, env });
  ({ browser, page, shot } = await openBrowser({ width: 1280, height: 900 }));
  await signIn(page, second.url, adminKey, '#/servers');
}, 60_000);

afterAll(async () => {
  if (!available) return;
  await browser?.close();
  await Promise.all([first?.stop(), second?.stop()]);
  await dropSchema(schema);
});

describe.skipIf(!available)('the replicas panel', () => {
  it('lists both replicas, the health checker and the one that answered', async () => {
    await page.locator('[data-testid=cluster][data-mode=cluster]').waitFor(settles);
    // The second replica hears the first's presence within one round of hellos.
    await page.locator('[data-testid=cluster-replica]').nth(1).waitFor(settles);
    const rows = page.getByTestId('cluster-replica');
    expect(await rows.count()).toBe(2);
    const self = page.locator('[data-testid=cluster-replica][data-self=true]');
    expect(await self.getAttribute('data-checker')).toBe('false');
    expect(await self.textContent()).toContain('(this page)');
    expect(await page.locator('[data-testid=cluster-replica][data-checker=true]').textContent()).toContain('health checker');
    expect(await page.getByTestId('cluster-channel').textContent()).toBe('in sync');
    await shot('cluster-panel');
  });

  it('shows the checks moving to this replica when the checker stops', async () => {
    await first.stop();
    await page.locator('[data-testid=cluster-replica][data-self=true][data-checker=true]').waitFor(settles);
  });
});
