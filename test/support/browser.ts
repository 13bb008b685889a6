import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

// Debian's Chromium, driven by playwright-core (no browser download). CI installs it; elsewhere the
// browser tests skip, loudly.
const chromiumPath = '/usr/bin/chromium';
export const hasChromium = existsSync(chromiumPath);
if (!hasChromium) {
  if (process.env['CI'] === 'true') throw new Error('Chromium (/usr/bin/chromium) is missing and CI=true: .ci/run installs it');
  process.stderr.write('\n*** Chromium not installed (apt-get install chromium): browser tests are SKIPPED ***\n\n');
}

const shots = fileURLToPath(new URL('../../test-artifacts/screenshots/', import.meta.url));

/** A headless Chromium with one page; the flags keep it off this machine's closed network. */
export async function openBrowser(viewport: { width: number; height: number }): Promise<{ browser: Browser; page: Page; shot: (name: string) => Promise<Buffer> }> {
  mkdirSync(shots, { recursive: true });
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic'],
  });
  const page = await browser.newPage({ viewport });
  return { browser, page, shot: (name) => page.screenshot({ path: `${shots}${name}.png`, fullPage: true }) };
}

/** Opens the console at `hash` (e.g. `#/routes`) and signs in with `key`; resolves once the nav is shown. */
export async function signIn(page: Page, gatewayUrl: string, key: string, hash = ''): Promise<void> {
  await page.goto(`${gatewayUrl}/ui/${hash}`);
  await page.fill('input[name=key]', key);
  await page.click('button[type=submit]');
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}
