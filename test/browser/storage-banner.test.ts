import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium, openBrowser } from '../support/browser.ts';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';
import { startOwnPostgres, type OwnPostgres } from '../support/own-postgres.ts';


let database: OwnPostgres;
let gateway: TestGateway;
let browser: Browser;
let page: Page;
let shot: (name: string) => Promise<Buffer>;

beforeAll(async () => {
  if (!hasChromium) return;
  database = await startOwnPostgres();
  gateway = await startTestGateway({ env: { DATABASE_URL: database.url } });
  ({ browser, page, shot } = await openBrowser({ width: 1280, height: 900 }));
}, 60_000);

afterAll(async () => {
  if (!hasChromium) return;
  await browser?.close();
  await gateway?.stop();
  await database?.destroy();
});

describe.skipIf(!hasChromium)('the console while storage is away', () => {
  it('shows a banner saying changes cannot be saved while PostgreSQL is down, and drops it once it is back', async () => {
    await page.goto(`${gateway.url}/ui/`);
    await page.fill('input[name=key]', adminKey);
    await page.click('button[type=submit]');
    await page.getByRole('heading', { name: 'No model servers yet' }).waitFor();
    expect(await page.getByTestId('status-banner').count()).toBe(0);

    await database.stop('immediate');
    const banner = page.getByTestId('status-banner');
    await banner.waitFor({ timeout: 20_000 });
    expect(await banner.textContent()).toContain('Storage is unavailable: changes cannot be saved right now');
    await shot('storage-unavailable-banner');

    await database.start();
    await banner.waitFor({ state: 'detached', timeout: 20_000 });
  });
});
