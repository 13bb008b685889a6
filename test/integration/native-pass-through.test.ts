import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAIFake, type OpenAIFake } from '../fakes/index.ts';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';
import { askUntil } from '../support/ask-until.ts';

// A server stated to serve Anthropic's Messages and OpenAI's Responses itself
// (kind_config.native_apis) gets those requests untouched; the others their
// Chat Completions translation, and a request fails over from one to the other.
let gateway: TestGateway;
let speaks: OpenAIFake;
let plain: OpenAIFake;
let anthropic: Anthropic;
let openai: OpenAI;

beforeAll(async () => {
  [gateway, speaks, plain] = await Promise.all([
    // Failover here is shown by asking one prompt until it reaches a given server: routed by least in-flight, not by prefix.
    startTestGateway({ env: { SWITCHYARD_ROUTING_STRATEGY: 'least-inflight' } }),
    startOpenAIFake({ flavor: 'vllm', models: [{ id: 'native-only', capabilities: ['completion'], contextLength: 8192 }, { id: 'both', capabilities: ['completion'], contextLength: 8192 }] }),
    startOpenAIFake({ flavor: 'vllm', models: [{ id: 'both', capabilities: ['completion'], contextLength: 8192 }] }),
  ]);
  expect((await gateway.api('POST', '/api/v1/model-servers', { name: 'speaks', server_type: 'vllm', base_url: speaks.url, kind_config: { native_apis: ['anthropic', 'responses'] } })).status).toBe(201);
  expect((await gateway.api('POST', '/api/v1/model-servers', { name: 'plain', server_type: 'vllm', base_url: plain.url })).status).toBe(201);
  await gateway.api('POST', '/api/v1/model-servers/health-check-all');
  anthropic = new Anthropic({ baseURL: gateway.url, apiKey: adminKey, maxRetries: 0 });
  openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: adminKey, maxRetries: 0 });
});

afterAll(async () => {
  await Promise.all([gateway.stop(), speaks.stop(), plain.stop()]);
});

const pathsSince = (fake: OpenAIFake, from: number) => fake.requests.slice(from).map((request) => request.path).filter((path) => path.startsWith('/v1/') && path !== '/v1/models');

describe('stating what a server serves', () => {
  it('keeps native_apis on the server record and refuses names it does not know', async () => {
    const servers = (await gateway.api('GET', '/api/v1/model-servers')).body.data as Array<{ name: string; kind_config: unknown }>;
    expect(servers.find((server) => server.name === 'speaks')?.kind_config).toEqual({ native_apis: ['anthropic', 'responses'] });
    expect(servers.find((server) => server.name === 'plain')?.kind_config).toBeNull();
    const bad = await gateway.api('POST', '/api/v1/model-servers', { name: 'bad', server_type: 'vllm', base_url: plain.url, kind_config: { native_apis: ['grpc'] } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.param).toBe('kind_config.native_apis');
  });
});

describe('Anthropic Messages, natively', () => {
  it('passes a message untouched to a server that serves /v1/messages, streamed and not', async () => {
    const before = speaks.requests.length;
    const message = await anthropic.messages.create({ model: 'native-only', max_tokens: 32, system: 'terse', messages: [{ role: 'user', content: 'hello' }], metadata: { user_id: 'u-1' } });
    expect((message.content[0] as { text: string }).text).toContain('Hello from native-only');
    expect(message.usage.input_tokens).toBeGreaterThan(0);
    const sent = speaks.requests.slice(before).find((request) => request.path === '/v1/messages')?.body;
    expect(sent).toEqual({ model: 'native-only', max_tokens: 32, system: 'terse', messages: [{ role: 'user', content: 'hello' }], metadata: { user_id: 'u-1' } });
    const stream = anthropic.messages.stream({ model: 'native-only', max_tokens: 32, messages: [{ role: 'user', content: 'stream it' }] });
    let text = '';
    stream.on('text', (delta) => (text += delta));
    const final = await stream.finalMessage();
    expect(text).toContain('Hello from native-only');
    expect(final.stop_reason).toBe('end_turn');
    expect(pathsSince(speaks, before)).toEqual(['/v1/messages', '/v1/messages']);
  });

  it('records the tokens the server reported in its own events', async () => {
    await gateway.gateway.usage.flush();
    const rows = await gateway.gateway.database.db.selectFrom('usage_records').select(['prompt_tokens', 'completion_tokens', 'streamed']).where('api', '=', 'anthropic').where('requested_model', '=', 'native-only').execute();
    const streamed = rows.find((row) => row.streamed === 1);
    expect(Number(streamed?.prompt_tokens)).toBeGreaterThan(0);
    expect(Number(streamed?.completion_tokens)).toBeGreaterThan(1);
  });

  it('fails over from a native server to a translated one before the first byte', async () => {
    await speaks.setFault({ kind: 'status', status: 503 });
    try {
      const asked = () => speaks.requests.some((request) => request.path === '/v1/messages' && (request.body as { model?: string }).model === 'both');
      await askUntil(asked, async () => {
        const message = await anthropic.messages.create({ model: 'both', max_tokens: 16, messages: [{ role: 'user', content: 'anyone?' }] });
        expect((message.content[0] as { text: string }).text).toContain('Hello from both');
      });
      expect(plain.requests.some((request) => request.path === '/v1/chat/completions')).toBe(true);
    } finally {
      await speaks.clearFault();
    }
  });
});

describe('OpenAI Responses, natively', () => {
  it('passes a request that stores nothing untouched; a stored one is translated so previous_response_id works', async () => {
    const before = speaks.requests.length;
    const unstored = await openai.responses.create({ model: 'native-only', input: 'hello', store: false });
    expect(unstored.output_text).toContain('Hello from native-only');
    const streamed = await openai.responses.stream({ model: 'native-only', input: 'stream it', store: false }).finalResponse();
    expect(streamed.output_text).toContain('Hello from native-only');
    const stored = await openai.responses.create({ model: 'native-only', input: 'keep this' });
    expect((await openai.responses.retrieve(stored.id)).output_text).toBe(stored.output_text);
    expect(pathsSince(speaks, before)).toEqual(['/v1/responses', '/v1/responses', '/v1/chat/completions']);
  });
});
