import { mkdtempSync } from 'node:fs';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium, openBrowser } from '../support/browser.ts';
import { spawnGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { freePort } from '../support/own-postgres.ts';
import { adminQuery, postgresAvailable, postgresUrl } from '../support/postgres.ts';
import { relayPostgres } from '../support/postgres-relay.ts';

// A gateway started while its PostgreSQL is unreachable (decision 0034): whoever
// opens the console is told it is waiting for its database, and the same page
// becomes the console once the database answers.
const available = hasChromium && (await postgresAvailable());
if (hasChromium && !available && process.env['CI'] === 'true') throw new Error('PostgreSQL must be reachable in CI');

const adminKey = 'sk-sy-starting-page-admin-key-00000';
const databaseName = `sy_starting_page_${process.pid}`;
let relay: Server | null = null;
let gateway: GatewayProcess | null = null;
let browser: Browser;
let page: Page;
let shot: (name: string) => Promise<Buffer>;

let databasePort = 0;

beforeAll(async () => {
  if (!available) return;
  await adminQuery(`create database ${databaseName}`);
  databasePort = await freePort();
  const url = new URL(postgresUrl);
  url.port = String(databasePort);
  url.pathname = `/${databaseName}`;
  gateway = await spawnGateway(
    { DATABASE_URL: url.toString(), SWITCHYARD_ADMIN_KEY: adminKey, SWITCHYARD_DATA_DIR: mkdtempSync(join(tmpdir(), 'sy-starting-page-')) },
    [],
    { until: 'waiting-for-database' },
  );
  ({ browser, page, shot } = await openBrowser({ width: 1100, height: 700 }));
}, 60_000);

afterAll(async () => {
  if (!available) return;
  await browser?.close();
  await gateway?.kill('SIGKILL');
  relay?.close();
  await adminQuery(`drop database if exists ${databaseName} with (force)`);
});

describe.skipIf(!available)('the console while the gateway waits for its database', () => {
  it('says the gateway is starting and why, then becomes the console once the database answers', async () => {
    const response = await page.goto(`${(gateway as GatewayProcess).url}/ui/`);
    expect(response?.status()).toBe(503);
    await page.getByTestId('starting').waitFor();
    expect(await page.getByRole('heading').textContent()).toBe('Switchyard is starting');
    expect(await page.getByTestId('starting-storage').textContent()).toBe('unreachable');
    await shot('starting-page');

    relay = await relayPostgres(databasePort);
    // The page reloads itself every few seconds: the sign-in form appears without anyone touching it.
    await page.locator('input[name=key]').waitFor({ timeout: 30_000 });
    await page.fill('input[name=key]', adminKey);
    await page.click('button[type=submit]');
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
  });
});
