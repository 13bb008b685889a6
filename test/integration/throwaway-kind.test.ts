import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerServerKind } from '../../src/data/adapters/server-kinds.ts';
import { startEchoFake, type EchoFake } from '../fixtures/kinds/echo/echo-fake.ts';
import { echoKind } from '../fixtures/kinds/echo/echo-kind.ts';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';

// The whole of adding a kind: its folder (test/fixtures/kinds/echo) and this one call.
const unregister = registerServerKind(echoKind);

let gateway: TestGateway;
let echo: EchoFake;
let client: OpenAI;

beforeAll(async () => {
  [gateway, echo] = await Promise.all([startTestGateway({ env: { SWITCHYARD_USAGE_FLUSH_MS: '50' } }), startEchoFake('echo-secret')]);
  client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: adminKey, maxRetries: 0 });
});

afterAll(async () => {
  await Promise.all([gateway.stop(), echo.stop()]);
  unregister();
});

describe('a kind registered from a test-only folder', () => {
  it('is listed by the API the console and CLI read', async () => {
    const kinds = (await gateway.api('GET', '/api/v1/server-kinds')).body.data;
    expect(kinds.find((kind: { id: string }) => kind.id === 'echo')).toEqual({ id: 'echo', label: 'Echo server', description: 'A test-only kind with its own protocol.', detectable: true, config_fields: [] });
  });

  it('is found by auto-detection and probed by the health checker', async () => {
    const created = await gateway.api('POST', '/api/v1/model-servers', { name: 'echoes', base_url: echo.url, api_key: 'echo-secret' });
    expect(created.body).toMatchObject({ server_type: 'echo', detection: { detected_by: 'GET /echo/hello' } });
    const [check] = (await gateway.api('POST', '/api/v1/model-servers/health-check-all')).body.data;
    expect(check).toMatchObject({ health_status: 'online', models_found: 1 });
  });

  it('is routed to, with its own auth header and answer translation', async () => {
    const answer = await client.chat.completions.create({ model: 'parrot', messages: [{ role: 'user', content: 'polly wants' }] });
    expect(answer.choices[0]?.message.content).toBe('echo: polly wants');
    expect(answer.usage).toMatchObject({ prompt_tokens: 2, completion_tokens: 3 });
    expect(echo.requests.at(-1)).toMatchObject({ path: '/echo/say', headers: { 'x-echo-token': 'echo-secret' }, body: { words: 'polly wants', stream: false } });
  });

  it('streams through its own per-event hook', async () => {
    const stream = await client.chat.completions.create({ model: 'parrot', messages: [{ role: 'user', content: 'a cracker' }], stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('echo: a cracker');
  });

  it('records the tokens its own protocol reported', async () => {
    await gateway.gateway.usage.flush();
    const [row] = (await gateway.api('GET', '/api/v1/analytics/usage?group_by=server')).body.data;
    expect(row).toMatchObject({ group: 'echoes', requests: 2, successes: 2, prompt_tokens: 4, completion_tokens: 6 });
  });
});
