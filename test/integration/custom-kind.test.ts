import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inhouseKindConfig, startInhouseFake, type InhouseFake } from '../fakes/index.ts';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';

let gateway: TestGateway;
let house: InhouseFake;
let client: OpenAI;

beforeAll(async () => {
  [gateway, house] = await Promise.all([
    startTestGateway({ env: { SWITCHYARD_USAGE_FLUSH_MS: '50' } }),
    startInhouseFake({ models: ['house-model', 'house/large'], apiKey: 'house-key' }),
  ]);
  client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: adminKey, maxRetries: 0 });
});

afterAll(async () => {
  await Promise.all([gateway.stop(), house.stop()]);
});

const create = (body: Record<string, unknown>) => gateway.api('POST', '/api/v1/model-servers', { name: 'house', base_url: house.url, server_type: 'custom', ...body });

describe('a custom (in-house REST) server', () => {
  it('refuses settings that cannot work with a 400 naming the field', async () => {
    const cases: Array<[Record<string, unknown>, string, RegExp]> = [
      [{}, 'kind_config', /generate_path and text_field/],
      [{ kind_config: { ...inhouseKindConfig, text_field: undefined } }, 'kind_config.text_field', /text_field is required/],
      [{ kind_config: { ...inhouseKindConfig, generate_path: 'http://elsewhere/generate' } }, 'kind_config.generate_path', /path on the server/],
      [{ kind_config: { ...inhouseKindConfig, generate_path: '/generate/{prompt}' } }, 'kind_config.generate_path', /only the \{model\} placeholder/],
      [{ kind_config: { ...inhouseKindConfig, request_template: { input: '{question}' } } }, 'kind_config.request_template', /\{question\}/],
      [{ kind_config: { ...inhouseKindConfig, auth_header: 'content-type' } }, 'kind_config.auth_header', /does not set itself/],
      [{ kind_config: { ...inhouseKindConfig, models_path: undefined, models: [] } }, 'kind_config.models', /models_path/],
      [{ kind_config: { ...inhouseKindConfig, colour: 'blue' } }, 'kind_config.colour', /not a setting/],
      [{ server_type: 'embedding', kind_config: inhouseKindConfig }, 'kind_config', /not taken by server_type embedding/],
      // Ollama takes one setting only (native_apis): another kind's settings are named as not its own.
      [{ server_type: 'ollama', kind_config: inhouseKindConfig }, 'kind_config.health_path', /not a setting of this kind; it takes native_apis only/],
      [{ server_type: 'bogus' }, 'server_type', /one of: auto, .*llamacpp.*custom/],
    ];
    for (const [body, param, message] of cases) {
      const response = await create(body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.body.error).toMatchObject({ code: 'SY_INVALID_REQUEST', param });
      expect(response.body.error.message).toMatch(message);
    }
    expect((await gateway.api('GET', '/api/v1/model-servers')).body.data).toEqual([]);
  });

  it('joins health checks with its own health path and model list', async () => {
    const created = await create({ api_key: 'house-key', kind_config: inhouseKindConfig });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ server_type: 'custom', kind_config: { ...inhouseKindConfig, capabilities: ['chat', 'completion'] } });
    const [check] = (await gateway.api('POST', '/api/v1/model-servers/health-check-all')).body.data;
    expect(check).toMatchObject({ name: 'house', health_status: 'online', models_found: 2 });
    const paths = house.requests.map((request) => `${request.method} ${request.path}`);
    expect(paths).toEqual(expect.arrayContaining(['GET /health', 'GET /api/v1/models']));
    const models = (await gateway.api('GET', `/api/v1/model-servers/${created.body.id}/models`)).body.data;
    expect(models.map((model: { id: string }) => model.id).sort()).toEqual(['house-model', 'house/large']);
  });

  it("answers chat through the official client, with the server's text and token counts", async () => {
    house.resetRequests();
    house.setReply('Hello from the house model');
    const answer = await client.chat.completions.create({ model: 'house-model', messages: [{ role: 'user', content: 'hello there' }], max_tokens: 3 });
    expect(answer.object).toBe('chat.completion');
    expect(answer.choices[0]?.message).toMatchObject({ role: 'assistant', content: 'Hello from the' });
    expect(answer.usage).toMatchObject({ prompt_tokens: 3, completion_tokens: 3, total_tokens: 6 });
    const [sent] = house.requests;
    expect(sent).toMatchObject({ method: 'POST', path: '/api/v1/models/house-model/generate', body: { prompt: 'hello there', max_new_tokens: 3 } });
    // The kind's own auth header, and no Bearer token (nor the caller's key).
    expect(sent?.headers['x-api-key']).toBe('house-key');
    expect(sent?.headers['authorization']).toBeUndefined();
  });

  it('puts a conversation into one prompt and encodes the model id into the path', async () => {
    house.resetRequests();
    await client.chat.completions.create({
      model: 'house/large',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'What is 2+2?' },
      ],
      temperature: 0.2,
    });
    expect(house.requests[0]).toMatchObject({
      path: '/api/v1/models/house%2Flarge/generate',
      body: { prompt: 'system: Be brief.\nuser: What is 2+2?\nassistant:', temperature: 0.2 },
    });
  });

  it('streams: a synthesized SSE stream the client reads, ending with one [DONE]', async () => {
    house.setReply('Streaming from a server that cannot');
    const stream = await client.chat.completions.create({ model: 'house-model', messages: [{ role: 'user', content: 'stream please' }], stream: true, stream_options: { include_usage: true } });
    let text = '';
    const finishes: Array<string | null> = [];
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.choices[0] !== undefined) finishes.push(chunk.choices[0].finish_reason);
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe('Streaming from a server that cannot');
    expect(finishes.at(-1)).toBe('stop');
    expect(finishes.filter((finish) => finish !== null)).toHaveLength(1);
    expect(usage).toMatchObject({ prompt_tokens: 4, completion_tokens: 6 });

    const raw = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'house-model', messages: [{ role: 'user', content: 'x' }], stream: true }),
    });
    expect(raw.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(raw.headers.get('x-switchyard-server')).toBe('house');
    const events = (await raw.text()).split('\n\n').filter((event) => event !== '');
    expect(events.filter((event) => event === 'data: [DONE]')).toHaveLength(1);
    expect(events.at(-1)).toBe('data: [DONE]');
  });

  it('serves plain completions as text_completion', async () => {
    house.setReply('forty-two');
    const answer = await client.completions.create({ model: 'house-model', prompt: 'The answer is' });
    expect(answer).toMatchObject({ object: 'text_completion', choices: [{ text: 'forty-two', finish_reason: 'stop' }] });
  });

  it('records usage with the tokens the server reported', async () => {
    await gateway.gateway.usage.flush();
    const byServer = (await gateway.api('GET', '/api/v1/analytics/usage?group_by=server')).body.data;
    const row = byServer.find((group: { group: string }) => group.group === 'house');
    expect(row).toMatchObject({ requests: 5, successes: 5 });
    expect(row.prompt_tokens).toBeGreaterThan(0);
    expect(row.completion_tokens).toBeGreaterThan(0);
  });

  it('counts a non-JSON or field-less answer as the server failing, not as a success', async () => {
    house.setReply(undefined);
    await house.setFault({ kind: 'status', status: 200, body: { result: 'no text field here' } }, ['/api/v1/models/']);
    try {
      const failure = await client.chat.completions.create({ model: 'house-model', messages: [{ role: 'user', content: 'x' }] }).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(OpenAI.APIError);
      expect((failure as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
    } finally {
      await house.clearFault();
    }
  });
});

describe('a custom server from the fleet file', () => {
  it('is created from server_type: custom and its kind_config, and routes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-fleet-custom-'));
    const file = join(dir, 'fleet.yaml');
    writeFileSync(
      file,
      `servers:
  - name: house-fleet
    server_type: custom
    base_url: ${house.url}
    api_key: house-key
    kind_config:
      generate_path: /api/v1/models/{model}/generate
      request_template: {prompt: "{prompt}"}
      text_field: output.text
      completion_tokens_field: usage.output_tokens
      models: [house-model]
      auth_header: x-api-key
      auth_scheme: ""
`,
    );
    const fleetGateway = await startTestGateway({ configFile: file, dataDir: join(dir, 'data') });
    try {
      expect(fleetGateway.gateway.fleetReport?.created).toEqual(['house-fleet']);
      await fleetGateway.api('POST', '/api/v1/model-servers/health-check-all');
      house.setReply('from the fleet');
      const fleetClient = new OpenAI({ baseURL: `${fleetGateway.url}/v1`, apiKey: adminKey, maxRetries: 0 });
      const answer = await fleetClient.chat.completions.create({ model: 'house-model', messages: [{ role: 'user', content: 'hi' }] });
      expect(answer.choices[0]?.message.content).toBe('from the fleet');
    } finally {
      await fleetGateway.stop();
    }
    // The same file again changes nothing (defaults filled in are not a difference).
    const again = await startTestGateway({ configFile: file, dataDir: join(dir, 'data') });
    try {
      expect(again.gateway.fleetReport).toMatchObject({ created: [], updated: [], unchanged: ['house-fleet'] });
    } finally {
      await again.stop();
    }
  });

  it('fails start-up naming the bad key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-fleet-custom-bad-'));
    const file = join(dir, 'fleet.yaml');
    writeFileSync(file, `servers:\n  - name: broken\n    server_type: custom\n    base_url: ${house.url}\n    kind_config: {generate_path: /g, models: [m]}\n`);
    await expect(startTestGateway({ configFile: file })).rejects.toThrow(/servers\.0\.kind_config\.text_field: kind_config\.text_field is required/);
  });
});
