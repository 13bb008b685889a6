import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyWebhook } from '../../src/control/webhooks/webhook-signature.ts';
import { hasChromium, openBrowser, signIn } from '../support/browser.ts';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';

interface Receiver {
  url: string;
  received: Array<{ headers: IncomingHttpHeaders; body: string }>;
  server: Server;
}

/** A webhook receiver on loopback that answers every delivery with `status`. */
async function startReceiver(status: number): Promise<Receiver> {
  const received: Receiver['received'] = [];
  const server = createServer((request, response) => {
    const parts: Buffer[] = [];
    request.on('data', (part: Buffer) => parts.push(part));
    request.on('end', () => {
      received.push({ headers: request.headers, body: Buffer.concat(parts).toString('utf8') });
      response.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hooks`, received, server };
}

/** Page updates wait on the gateway and the browser, both slow on a loaded machine: a generous cap, not an expectation. */
const settles = { timeout: 15_000 };

let gateway: TestGateway;
let accepting: Receiver;
let refusing: Receiver;
let browser: Browser;
let page: Page;
let shot: (name: string) => Promise<Buffer>;
/** The secret the page showed for the accepting receiver's webhook. */
let shownSecret: string;

beforeAll(async () => {
  if (!hasChromium) return;
  // One attempt per delivery: a refused test is final at once, so its row reads "failed".
  [gateway, accepting, refusing] = await Promise.all([startTestGateway({ env: { SWITCHYARD_WEBHOOK_MAX_ATTEMPTS: '1' } }), startReceiver(204), startReceiver(500)]);
  ({ browser, page, shot } = await openBrowser({ width: 1280, height: 900 }));
  await signIn(page, gateway.url, adminKey, '#/webhooks');
}, 60_000);

afterAll(async () => {
  if (!hasChromium) return;
  await browser?.close();
  for (const receiver of [accepting, refusing]) {
    receiver?.server.closeAllConnections();
    receiver?.server.close();
  }
  await gateway?.stop();
});

async function createWebhook(url: string): Promise<string> {
  await page.fill('input[name=webhook-url]', url);
  await page.getByRole('button', { name: 'Create webhook' }).click();
  const secret = page.getByTestId('new-webhook-secret');
  await secret.waitFor();
  return (await secret.textContent()) ?? '';
}

describe.skipIf(!hasChromium)('the webhooks page', () => {
  it('creates a webhook with a generated secret shown once, and says what is wrong with a bad URL', async () => {
    await page.getByText('No webhooks yet').waitFor();
    await page.fill('input[name=webhook-url]', 'ftp://hooks.internal/x');
    await page.getByRole('button', { name: 'Create webhook' }).click();
    await page.getByText('url must use http or https.').waitFor();

    await page.check('input[name="event-model.added"]');
    const secret = await createWebhook(accepting.url);
    shownSecret = secret;
    expect(secret).toMatch(/^whsec_[0-9a-f]{64}$/);
    const card = page.getByTestId(`webhook-${accepting.url}`);
    await card.waitFor();
    expect(await card.textContent()).toMatch(/server\.down.*server\.up.*model\.added/);
    const [stored] = (await gateway.api('GET', '/api/v1/webhooks')).body.data;
    expect(stored).toMatchObject({ url: accepting.url, events: ['server.down', 'server.up', 'model.added'], has_secret: true });
    expect(JSON.stringify(stored)).not.toContain(secret);
    // The form has a fresh secret for the next webhook, not the one just shown.
    expect(await page.inputValue('input[name=webhook-secret]')).not.toBe(secret);
    await shot('webhooks-01-created');

    await page.getByRole('button', { name: 'Done' }).click();
    await page.getByTestId('new-webhook-secret').waitFor({ state: 'detached' });
  });

  it('sends a test event signed with the secret it showed, and lists the delivery', async () => {
    const card = page.getByTestId(`webhook-${accepting.url}`);
    await card.getByRole('button', { name: 'Send test event' }).click();
    await expect.poll(async () => (await page.getByTestId('webhook-notice').textContent()) ?? '', settles).toBe(`Test event to ${accepting.url}: receiver answered HTTP 204.`);
    expect(accepting.received).toHaveLength(1);
    const [delivery] = accepting.received;
    expect(JSON.parse(delivery?.body ?? '{}')).toMatchObject({ type: 'webhook.test' });
    expect(verifyWebhook(shownSecret, delivery?.headers['x-switchyard-signature'] as string, delivery?.body ?? '')).toBe(true);
    const row = card.getByTestId('delivery-row').first();
    await expect.poll(() => row.getAttribute('data-status'), settles).toBe('delivered');
    expect((await row.locator('td').allTextContents()).slice(1)).toEqual(['webhook.test', 'delivered', '204', '1', 'receiver answered HTTP 204']);
    await shot('webhooks-02-test-delivered');
  });

  it('says at once when a receiver refuses the test event, and lists the failed delivery', async () => {
    await createWebhook(refusing.url);
    await page.getByRole('button', { name: 'Done' }).click();
    const card = page.getByTestId(`webhook-${refusing.url}`);
    await card.getByRole('button', { name: 'Send test event' }).click();
    await expect.poll(async () => (await page.getByTestId('webhook-notice').textContent()) ?? '', settles).toBe(`Test event to ${refusing.url}: HTTP 500; gave up.`);
    expect(refusing.received).toHaveLength(1);
    const row = card.getByTestId('delivery-row').first();
    await expect.poll(() => row.getAttribute('data-status'), settles).toBe('failed');
    expect((await row.locator('td').allTextContents()).slice(1)).toEqual(['webhook.test', 'failed', '500', '1', 'HTTP 500; gave up']);
  });

  it('deletes a webhook after asking', async () => {
    const card = page.getByTestId(`webhook-${refusing.url}`);
    await card.getByRole('button', { name: 'Delete' }).click();
    await card.getByRole('button', { name: 'Delete this webhook?' }).click();
    await card.waitFor({ state: 'detached' });
    expect((await gateway.api('GET', '/api/v1/webhooks')).body.data.map((hook: { url: string }) => hook.url)).toEqual([accepting.url]);
  });
});
