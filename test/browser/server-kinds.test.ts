import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInhouseFake, type InhouseFake } from '../fakes/index.ts';
import { hasChromium, openBrowser } from '../support/browser.ts';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';


let gateway: TestGateway;
let house: InhouseFake;
let browser: Browser;
let page: Page;
let shot: (name: string) => Promise<Buffer>;

beforeAll(async () => {
  if (!hasChromium) return;
  [gateway, house] = await Promise.all([startTestGateway({ startScheduler: true, env: { SWITCHYARD_HEALTH_TIMEOUT_MS: '300' } }), startInhouseFake({ models: ['house-model'] })]);
  ({ browser, page, shot } = await openBrowser({ width: 1280, height: 1100 }));
}, 60_000);

afterAll(async () => {
  if (!hasChromium) return;
  await browser?.close();
  await Promise.all([gateway?.stop(), house?.stop()]);
});


describe.skipIf(!hasChromium)('server kinds in the console', () => {
  it('lists the kinds the gateway reports, and shows a kind’s own settings only when it is chosen', async () => {
    await page.goto(`${gateway.url}/ui/`);
    await page.fill('input[name=key]', adminKey);
    await page.click('button[type=submit]');
    await page.getByRole('button', { name: 'Add your first server' }).click();
    const kinds = (await gateway.api('GET', '/api/v1/server-kinds')).body.data as Array<{ id: string }>;
    const select = page.locator('select[name=server_type]');
    await expect.poll(() => select.locator('option').count()).toBe(kinds.length + 1);
    const values = await select.locator('option').evaluateAll((options) => options.map((option) => option.getAttribute('value')));
    expect(values).toEqual(['auto', ...kinds.map((kind) => kind.id)]);
    expect(await page.getByTestId('kind-settings').count()).toBe(0);
    await page.selectOption('select[name=server_type]', 'custom');
    await page.getByTestId('kind-settings').waitFor();
    await shot('20-custom-kind-form');
  });

  it('adds a custom server, showing bad settings next to the field they concern', async () => {
    await page.fill('input[name=name]', 'in-house');
    await page.fill('input[name=base_url]', house.url);
    await page.fill('input[name=interval]', '1');
    await page.fill('input[name="kind_config.generate_path"]', '/api/v1/models/{model}/generate');
    await page.fill('input[name="kind_config.text_field"]', 'output.text');
    await page.fill('textarea[name="kind_config.request_template"]', '{"prompt": "{prompt}",');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('label', { has: page.locator('textarea[name="kind_config.request_template"]') }).getByText('This is not valid JSON.').waitFor();
    await page.fill('textarea[name="kind_config.request_template"]', '{"prompt": "{prompt}", "max_new_tokens": "{max_tokens}"}');
    await page.getByRole('button', { name: 'Save' }).click();
    // Neither a model list nor where to find one: the API's 400 lands beside the models field.
    await page.locator('label', { has: page.locator('input[name="kind_config.models"]') }).getByText(/Set kind_config\.models/).waitFor();
    await page.fill('input[name="kind_config.models_path"]', '/api/v1/models');
    await page.getByRole('button', { name: 'Save' }).click();
    const card = page.getByTestId('server-card-in-house');
    await expect.poll(() => card.getAttribute('data-status'), { timeout: 10_000 }).toBe('online');
    const [record] = (await gateway.api('GET', '/api/v1/model-servers')).body.data;
    expect(record).toMatchObject({ server_type: 'custom', models_count: 1, kind_config: { models_path: '/api/v1/models', request_template: { prompt: '{prompt}', max_new_tokens: '{max_tokens}' } } });
    await shot('21-custom-server-online');
  });

  it('edits the custom settings of a stored server', async () => {
    const card = page.getByTestId('server-card-in-house');
    await card.getByRole('button', { name: 'Edit' }).click();
    const textField = page.locator('input[name="kind_config.text_field"]');
    await expect.poll(() => textField.inputValue()).toBe('output.text');
    expect(await page.locator('select[name=server_type]').inputValue()).toBe('custom');
    await page.fill('input[name="kind_config.models"]', 'house-model, house-extra');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect
      .poll(async () => (await gateway.api('GET', '/api/v1/model-servers')).body.data[0].kind_config.models)
      .toEqual(['house-model', 'house-extra']);
  });

  it('states that a vLLM server serves Anthropic\'s Messages and OpenAI\'s Responses itself, refusing an API it does not know', async () => {
    await page.getByRole('button', { name: 'Add server' }).click();
    await page.fill('input[name=name]', 'gpu-native');
    await page.fill('input[name=base_url]', 'http://127.0.0.1:9');
    await page.selectOption('select[name=server_type]', 'vllm');
    const apis = page.locator('input[name="kind_config.native_apis"]');
    await apis.waitFor();
    await apis.fill('anthropic, grpc');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('label', { has: apis }).getByText(/native_apis must be a list of: anthropic, responses/).waitFor();
    await apis.fill('anthropic, responses');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect
      .poll(async () => ((await gateway.api('GET', '/api/v1/model-servers')).body.data as Array<{ name: string; kind_config: unknown }>).find((server) => server.name === 'gpu-native')?.kind_config)
      .toEqual({ native_apis: ['anthropic', 'responses'] });
    await shot('22-native-apis');
  });
});
