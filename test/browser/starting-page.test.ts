import { mkdtempSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium, openBrowser } from '../support/browser.ts';
import { spawnGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { postgresAvailable, postgresUrl } from '../support/postgres.ts';

// A gateway started while its PostgreSQL is unreachable (decision 0034): whoever
// opens the console is told it is waiting for its database, and the same page
// becomes the console once the database answers.
const available = hasChromium && (await postgresAvailable());
if (hasChromium && !available && process.env['CI'] === 'true') throw new Error('PostgreSQL must be reachable in CI');

const adminKey = 'sk-sy-starting-page-admin-key-00000';
const databaseName = `sy_starting_page_${process.pid}`;
const target = new URL(postgresUrl);
let relay: Server | null = null;
let gateway: GatewayProcess | null = null;
let browser: Browser;
let page: Page;
let shot: (name: string) => Promise<Buffer>;

async function adminQuery(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** The database "comes back": a TCP relay on the port the gateway was told, to the machine's PostgreSQL. */
async function relayPostgres(port: number): Promise<void> {
  relay = createServer((socket) => {
    const upstream = createConnection(Number(target.port || 5432), target.hostname);
    socket.pipe(upstream).pipe(socket);
    socket.on('error', () => upstream.destroy());
    upstream.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve) => (relay as Server).listen(port, '127.0.0.1', resolve));
}

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

    await relayPostgres(databasePort);
    // The page reloads itself every few seconds: the sign-in form appears without anyone touching it.
    await page.locator('input[name=key]').waitFor({ timeout: 30_000 });
    await page.fill('input[name=key]', adminKey);
    await page.click('button[type=submit]');
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
  });
});
