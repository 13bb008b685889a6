import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';
import { startOwnPostgres, type OwnPostgres } from '../support/own-postgres.ts';

const chromiumPath = '/usr/bin/chromium';
const hasChromium = existsSync(chromiumPath);
if (!hasChromium) {
  if (process.env['CI'] === 'true') throw new Error('Chromium (/usr/bin/chromium) is missing and CI=true: .ci/run installs it');
  process.stderr.write('\n*** Chromium not installed (apt-get install chromium): browser tests are SKIPPED ***\n\n');
}
const shots = fileURLToPath(new URL('../../test-artifacts/screenshots/', import.meta.url));

let database: OwnPostgres;
let gateway: TestGateway;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  if (!hasChromium) return;
  mkdirSync(shots, { recursive: true });
  database = await startOwnPostgres();
  gateway = await startTestGateway({ env: { DATABASE_URL: database.url } });
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic'],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
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
    await page.screenshot({ path: `${shots}storage-unavailable-banner.png`, fullPage: true });

    await database.start();
    await banner.waitFor({ state: 'detached', timeout: 20_000 });
  });
});
