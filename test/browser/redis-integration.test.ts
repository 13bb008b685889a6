import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium, openBrowser, signIn } from '../support/browser.ts';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';
import { startSentinelSet, type RedisTopology } from '../support/redis-topologies.ts';

// The Servers page says where REDIS_URL points (a Sentinel set here, with no
// credentials shown) and what limits do while Redis is unreachable (decision 0032).
const settles = { timeout: 15_000 };
let sentinels: RedisTopology;
let gateway: TestGateway;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  if (!hasChromium) return;
  sentinels = await startSentinelSet();
  const withPassword = sentinels.url.replace('redis+sentinel://', 'redis+sentinel://:not-a-real-password@');
  gateway = await startTestGateway({ env: { REDIS_URL: withPassword, SWITCHYARD_REDIS_FAILURE_MODE: 'closed' } });
  ({ browser, page } = await openBrowser({ width: 1280, height: 900 }));
  await signIn(page, gateway.url, adminKey, '#/servers');
}, 60_000);

afterAll(async () => {
  if (!hasChromium) return;
  await browser?.close();
  await gateway?.stop();
  await sentinels?.stop();
});

describe.skipIf(!hasChromium)('Redis on the Servers page', () => {
  it('shows the Sentinel set it uses and the failure mode, never the password', async () => {
    const detail = page.getByTestId('redis-detail');
    await detail.waitFor(settles);
    const text = (await detail.textContent()) ?? '';
    expect(text).toContain('sentinel 127.0.0.1:');
    expect(text).toContain('primary switchyard');
    expect(text).toContain('limits fail closed');
    expect(await page.content()).not.toContain('not-a-real-password');
  });
});
