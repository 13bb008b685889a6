import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOllamaFake, type OllamaFake } from '../fakes/index.ts';
import { hasChromium, openBrowser, signIn } from '../support/browser.ts';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';
import { dropSchema, postgresAvailable, uniqueSchema } from '../support/postgres.ts';
import { waitUntil } from '../support/wait-until.ts';

// A pull started through one replica, followed and cancelled in the console of
// another (decision 0033): the Models page's recent operations follow a running
// one live, whichever replica runs it.
const settles = { timeout: 15_000 };
const available = hasChromium && (await postgresAvailable());
if (hasChromium && !available && process.env['CI'] === 'true') throw new Error('PostgreSQL must be reachable in CI');

const schema = uniqueSchema('sy_replica_ops_ui');
const env = { SWITCHYARD_SECRET_KEY: 'replica-operations-secret-key-0123456789ab' };
let first: TestGateway;
let second: TestGateway;
let gpu: OllamaFake;
let browser: Browser;
let page: Page;
let shot: (name: string) => Promise<Buffer>;
let serverId: string;

beforeAll(async () => {
  if (!available) return;
  gpu = await startOllamaFake({ models: [{ id: 'phi3', sizeBytes: 2176178913 }] });
  first = await startTestGateway({ postgresSchema: schema, env });
  second = await startTestGateway({ postgresSchema: schema, env });
  const created = await first.api('POST', '/api/v1/model-servers', { name: 'gpu-1', server_type: 'ollama', base_url: gpu.url });
  serverId = created.body.id as string;
  await first.api('POST', '/api/v1/model-servers/health-check-all');
  await waitUntil(async () => (await second.api('GET', `/api/v1/model-servers/${serverId}`)).status === 200, { what: 'the server on the second replica' });
  ({ browser, page, shot } = await openBrowser({ width: 1280, height: 900 }));
}, 60_000);

afterAll(async () => {
  if (!available) return;
  await browser?.close();
  await Promise.all([first?.stop(), second?.stop(), gpu?.stop()]);
  await dropSchema(schema);
});

describe.skipIf(!available)('an operation another replica runs, in the console', () => {
  it('is followed live on the Models page and cancelled from there', async () => {
    gpu.setPullScript({ steps: 400, stepMs: 25 });
    const started = await first.api('POST', '/api/v1/models/pull', { model: 'qwen2.5:7b', servers: [serverId] });
    expect(started.status, started.text).toBe(202);
    const id = started.body.operation_id as string;
    await signIn(page, second.url, adminKey, '#/models');

    const operation = page.getByTestId(`operation-${id}`);
    await operation.waitFor(settles);
    expect(await page.getByTestId('recent-operations').getAttribute('open')).not.toBeNull();
    const bar = operation.getByTestId('progress-gpu-1').locator('progress');
    const value = async () => Number((await bar.getAttribute('value')) ?? 0);
    const seen = await expect.poll(value, settles).toBeGreaterThan(0).then(value);
    // Progress stored by the first replica arrives without a reload.
    await expect.poll(value, settles).toBeGreaterThan(seen);
    await shot('replica-operation-live');

    await operation.getByRole('button', { name: 'Cancel' }).click();
    await page.locator(`[data-testid="operation-${id}"][data-status="cancelled"]`).waitFor(settles);
    gpu.setPullScript({});
    await waitUntil(() => gpu.requests.find((request) => request.path === '/api/pull')?.aborted === true, { what: 'the first replica to abort the upstream pull' });
  });
});
