import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startOllamaFake, startOpenAIFake, type OllamaFake, type OpenAIFake } from '../fakes/index.ts';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';

let gateway: TestGateway;
let ollama: OllamaFake;
let vllm: OpenAIFake;
let client: OpenAI;

beforeAll(async () => {
  [gateway, ollama, vllm] = await Promise.all([startTestGateway({ env: { SWITCHYARD_RETRY_BASE_DELAY_MS: '1' } }), startOllamaFake(), startOpenAIFake({ flavor: 'vllm' })]);
  await gateway.api('POST', '/api/v1/model-servers', { name: 'primary', server_type: 'ollama', base_url: ollama.url });
  await gateway.api('POST', '/api/v1/model-servers', { name: 'secondary', server_type: 'vllm', base_url: vllm.url });
  await gateway.api('POST', '/api/v1/model-servers/health-check-all');
  client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: adminKey, maxRetries: 0 });
});

afterAll(async () => {
  await Promise.all([gateway.stop(), ollama.stop(), vllm.stop()]);
});

beforeEach(async () => {
  for (const route of (await gateway.api('GET', '/api/v1/routes')).body.data) await gateway.api('DELETE', `/api/v1/routes/${route.id}`);
  await ollama.restart();
  await vllm.restart();
  await gateway.api('POST', '/api/v1/model-servers/health-check-all');
});

const chat = (model: string) => client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] }).withResponse();

describe('/api/v1/routes', () => {
  it('creates, lists, reads, updates and deletes a route; refuses duplicates and empty targets', async () => {
    const created = await gateway.api('POST', '/api/v1/routes', { name: 'gpt-4o', targets: ['mixtral'], fallbacks: ['yi34b'] });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'gpt-4o', strategy: null, targets: [{ model: 'mixtral', weight: 1, tier: 1 }], fallbacks: ['yi34b'], managed_by: null });
    expect((await gateway.api('GET', '/api/v1/routes')).body.data).toHaveLength(1);
    expect((await gateway.api('GET', `/api/v1/routes/${created.body.id}`)).body.name).toBe('gpt-4o');
    const updated = await gateway.api('PUT', `/api/v1/routes/${created.body.id}`, { strategy: 'priority' });
    expect(updated.body).toMatchObject({ strategy: 'priority', targets: [{ model: 'mixtral' }] });
    expect((await gateway.api('POST', '/api/v1/routes', { name: 'gpt-4o', targets: ['phi3'] })).status).toBe(409);
    expect((await gateway.api('POST', '/api/v1/routes', { name: 'empty', targets: [] })).status).toBe(400);
    expect((await gateway.api('POST', '/api/v1/routes', { name: 'loop', targets: ['x'], fallbacks: ['loop'] })).status).toBe(400);
    expect((await gateway.api('POST', '/api/v1/routes', { name: 'bad', targets: ['x'], strategy: 'fastest' })).status).toBe(400);
    expect((await gateway.api('DELETE', `/api/v1/routes/${created.body.id}`)).status).toBe(204);
    expect((await gateway.api('GET', `/api/v1/routes/${created.body.id}`)).status).toBe(404);
  });
});

describe('routing through routes', () => {
  it('serves an alias from its target and follows the fallback chain when the target is down', async () => {
    await gateway.api('POST', '/api/v1/routes', { name: 'gpt-4o', targets: ['mixtral'], fallbacks: ['yi34b'] });
    const first = await chat('gpt-4o');
    expect(first.response.headers.get('x-switchyard-route')).toBe('gpt-4o');
    expect(first.response.headers.get('x-switchyard-model')).toBe('mixtral:latest');

    await ollama.stop();
    const second = await chat('gpt-4o');
    expect(second.response.headers.get('x-switchyard-model')).toBe('yi34b');
    expect(second.data.choices[0]?.message.content).toContain('Hello from yi34b');

    await vllm.stop();
    const error = await chat('gpt-4o').catch((caught: unknown) => caught);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
  });

  it('uses tier 2 only when tier 1 has no healthy deployment', async () => {
    await gateway.api('POST', '/api/v1/routes', { name: 'chat', strategy: 'priority', targets: [{ model: 'yi34b', tier: 1 }, { model: 'mixtral', tier: 2 }] });
    for (let round = 0; round < 10; round++) expect((await chat('chat')).response.headers.get('x-switchyard-model')).toBe('yi34b');
    await vllm.stop();
    for (let round = 0; round < 3; round++) await gateway.api('POST', '/api/v1/model-servers/health-check-all');
    for (let round = 0; round < 5; round++) {
      const { response } = await chat('chat');
      expect(response.headers.get('x-switchyard-model')).toBe('mixtral:latest');
      expect(response.headers.get('x-switchyard-attempts')).toBe('1');
    }
  });

  it('splits traffic by weight', async () => {
    await gateway.api('POST', '/api/v1/routes', { name: 'split', strategy: 'weighted', targets: [{ model: 'yi34b', weight: 3 }, { model: 'deepseek', weight: 1 }] });
    const counts: Record<string, number> = {};
    for (let round = 0; round < 400; round++) {
      const model = (await chat('split')).response.headers.get('x-switchyard-model') as string;
      counts[model] = (counts[model] ?? 0) + 1;
    }
    expect(counts['yi34b']).toBeGreaterThan(240);
    expect(counts['yi34b']).toBeLessThan(360);
  });

  it("sets one model's strategy with a route of the model's own name", async () => {
    const created = await gateway.api('POST', '/api/v1/routes', { name: 'yi34b', strategy: 'round-robin', targets: ['yi34b'] });
    expect(created.status).toBe(201);
    const { response } = await chat('yi34b');
    expect(response.headers.get('x-switchyard-model')).toBe('yi34b');
    expect(response.headers.get('x-switchyard-route')).toBe('yi34b');
  });

  it('suggests route names for a mistyped model', async () => {
    await gateway.api('POST', '/api/v1/routes', { name: 'gpt-4o', targets: ['mixtral'] });
    const error = await chat('gpt-4').catch((caught: unknown) => caught);
    expect((error as Error).message).toMatch(/gpt-4o/);
  });
});

describe('routes in the fleet file', () => {
  it('creates the routes a fleet file declares', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-routes-'));
    const file = join(dir, 'fleet.yaml');
    writeFileSync(file, `servers:\n  - {name: primary, server_type: ollama, base_url: "${ollama.url}"}\nroutes:\n  - name: gpt-4o\n    targets: [mixtral]\n    fallbacks: [yi34b]\n  - name: tiers\n    strategy: priority\n    targets: [{model: mixtral, tier: 1}, {model: phi3, tier: 2}]\n`);
    const withRoutes = await startTestGateway({ dataDir: join(dir, 'data'), configFile: file });
    try {
      const routes = (await withRoutes.api('GET', '/api/v1/routes')).body.data;
      expect(routes.map((route: { name: string; managed_by: string }) => `${route.name}:${route.managed_by}`)).toEqual(['gpt-4o:fleet_file', 'tiers:fleet_file']);
    } finally {
      await withRoutes.stop();
    }
  });
});
