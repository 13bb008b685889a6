import Anthropic from '@anthropic-ai/sdk';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOllamaFake, startOpenAIFake, type OllamaFake, type OpenAIFake } from '../fakes/index.ts';
import { hasChromium, openBrowser, signIn } from '../support/browser.ts';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';

const settles = { timeout: 15_000 };

let gateway: TestGateway;
let ollama: OllamaFake;
let vllm: OpenAIFake;
let browser: Browser;
let page: Page;
let shot: (name: string) => Promise<Buffer>;

beforeAll(async () => {
  if (!hasChromium) return;
  [gateway, ollama, vllm] = await Promise.all([startTestGateway(), startOllamaFake(), startOpenAIFake({ flavor: 'vllm' })]);
  for (const body of [{ name: 'ollama-1', base_url: ollama.url }, { name: 'vllm-1', base_url: vllm.url }]) expect((await gateway.api('POST', '/api/v1/model-servers', body)).status).toBe(201);
  await gateway.api('POST', '/api/v1/model-servers/health-check-all');
  // Two requests through Ollama's API, three through Anthropic's, one through OpenAI's.
  const ollamaClient = new Ollama({ host: gateway.url, headers: { Authorization: `Bearer ${adminKey}` } });
  await ollamaClient.chat({ model: 'mixtral', messages: [{ role: 'user', content: 'hi' }], stream: false });
  await ollamaClient.generate({ model: 'yi34b', prompt: 'hi', stream: false });
  const anthropic = new Anthropic({ baseURL: gateway.url, apiKey: adminKey, maxRetries: 0 });
  for (let round = 0; round < 3; round++) await anthropic.messages.create({ model: 'yi34b', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] });
  await new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: adminKey, maxRetries: 0 }).chat.completions.create({ model: 'deepseek', messages: [{ role: 'user', content: 'hi' }] });
  await gateway.gateway.usage.flush();
  ({ browser, page, shot } = await openBrowser({ width: 1280, height: 900 }));
  await signIn(page, gateway.url, adminKey, '#/usage');
}, 60_000);

afterAll(async () => {
  if (!hasChromium) return;
  await browser?.close();
  await Promise.all([gateway?.stop(), ollama?.stop(), vllm?.stop()]);
});

describe.skipIf(!hasChromium)('the usage page by API', () => {
  it('shows how many requests came in on each client API', async () => {
    await page.selectOption('select[name=group-by]', 'api');
    const table = page.getByRole('table', { name: 'Usage by group' });
    await table.getByTestId('api-anthropic').waitFor(settles);
    const requestsOf = async (api: string) => table.locator('tr', { has: page.getByTestId(`api-${api}`) }).locator('td').nth(1).textContent();
    expect(await table.getByTestId('api-anthropic').textContent()).toBe('Anthropic Messages (/v1/messages)');
    expect(await requestsOf('anthropic')).toBe('3');
    expect(await requestsOf('ollama')).toBe('2');
    expect(await requestsOf('openai')).toBe('1');
    expect(await table.getByRole('columnheader').first().textContent()).toBe('API');
    await shot('usage-by-api');
  });
});
