// Every built-in server kind's module against its fake: detection finds it,
// its probe lists the fake's models, its plan is a request the fake accepts
// (translated into OpenAI's shape where the kind translates), and a stream
// through the gateway ends with exactly one terminal event.
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Operation } from '../../src/data/adapters/inference-mapping.ts';
import { joinUrl } from '../../src/data/adapters/server-adapter.ts';
import { findServerKind, serverKindModules } from '../../src/data/adapters/server-kinds.ts';
import { UpstreamHttp } from '../../src/data/upstream/upstream-http.ts';
import { modelMatches, type ModelServer } from '../../src/domain/model-server.ts';
import {
  inhouseKindConfig,
  startInhouseFake,
  startOllamaFake,
  startOpenAIFake,
  startTeiFake,
  type FakeServer,
} from '../fakes/index.ts';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';

interface KindCase {
  kind: string;
  model: string;
  start: () => Promise<FakeServer>;
  operations: Operation[];
  /** Added to the registration: none means auto-detection must find `kind`. */
  register?: Record<string, unknown>;
}

const chat = { messages: [{ role: 'user', content: 'conformance' }], max_tokens: 8 };
const bodies: Record<Operation, Record<string, unknown>> = {
  chat,
  completion: { prompt: 'conformance', max_tokens: 8 },
  embeddings: { input: ['conformance'] },
  rerank: { query: 'conformance', documents: ['a conformance test', 'something else'] },
};

const cases: KindCase[] = [
  { kind: 'ollama', model: 'conf-ollama', start: () => startOllamaFake({ models: [{ id: 'conf-ollama', capabilities: ['completion'] }] }), operations: ['chat', 'completion'] },
  { kind: 'vllm', model: 'conf-vllm', start: () => startOpenAIFake({ flavor: 'vllm', models: [{ id: 'conf-vllm' }] }), operations: ['chat', 'completion'] },
  { kind: 'llamacpp', model: 'conf-llama', start: () => startOpenAIFake({ flavor: 'llamacpp', models: [{ id: 'conf-llama' }] }), operations: ['chat', 'completion'] },
  { kind: 'openai', model: 'conf-openai', start: () => startOpenAIFake({ flavor: 'generic', models: [{ id: 'conf-openai' }] }), operations: ['chat', 'completion'] },
  { kind: 'embedding', model: 'conf-embed', start: () => startTeiFake({ kind: 'embedding', modelId: 'conf-embed' }), operations: ['embeddings'] },
  { kind: 'reranker', model: 'conf-rerank', start: () => startTeiFake({ kind: 'reranker', modelId: 'conf-rerank' }), operations: ['rerank'] },
  {
    kind: 'custom',
    model: 'conf-house',
    start: () => startInhouseFake({ models: ['conf-house'], apiKey: 'house-key' }),
    operations: ['chat', 'completion'],
    register: { server_type: 'custom', api_key: 'house-key', kind_config: inhouseKindConfig },
  },
];

const streamPaths: Partial<Record<Operation, string>> = { chat: '/v1/chat/completions', completion: '/v1/completions' };

let gateway: TestGateway;
const fakes = new Map<string, FakeServer>();
const servers = new Map<string, ModelServer>();
const http = new UpstreamHttp();

beforeAll(async () => {
  gateway = await startTestGateway();
  for (const entry of cases) {
    const fake = await entry.start();
    fakes.set(entry.kind, fake);
    const created = await gateway.api('POST', '/api/v1/model-servers', { name: `conf-${entry.kind}`, base_url: fake.url, ...entry.register });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    servers.set(entry.kind, gateway.gateway.registry.require(created.body.id));
  }
  await gateway.api('POST', '/api/v1/model-servers/health-check-all');
}, 60_000);

afterAll(async () => {
  await gateway.stop();
  await http.close();
  await Promise.all([...fakes.values()].map((fake) => fake.stop()));
});

function shapeOf(operation: Operation, answer: unknown): unknown {
  const record = answer as Record<string, any>;
  switch (operation) {
    case 'chat':
      return record['choices']?.[0]?.message?.content;
    case 'completion':
      return record['choices']?.[0]?.text;
    case 'embeddings':
      return record['data']?.[0]?.embedding?.length;
    case 'rerank':
      return record['results']?.[0]?.relevance_score;
  }
}

describe('every built-in kind passes the conformance suite', () => {
  it('has a case here for every kind in the registry', () => {
    expect(serverKindModules().map((module) => module.id).sort()).toEqual(cases.map((entry) => entry.kind).sort());
  });

  describe.each(cases)('$kind', (entry) => {
    it('is what detection finds (or is chosen by hand when it cannot be detected)', () => {
      const server = servers.get(entry.kind) as ModelServer;
      expect(server.serverType).toBe(entry.kind);
      expect(findServerKind(entry.kind)?.detection.length === 0).toBe(entry.register !== undefined);
    });

    it('probes the models the fake serves', async () => {
      const server = servers.get(entry.kind) as ModelServer;
      const module = findServerKind(entry.kind);
      const apiKey = server.apiKey?.reveal() ?? null;
      const result = await module?.probe(
        { baseUrl: server.baseUrl, apiKey, http, timeoutMs: 5_000, flavor: server.detection?.flavor ?? null, authHeaders: module.authHeaders(apiKey, server), kindConfig: server.kindConfig },
        new Map(),
      );
      expect(result?.models.some((model) => modelMatches(model.id, entry.model))).toBe(true);
      expect(gateway.gateway.registry.get(server.id)?.healthStatus).toBe('online');
    });

    it.each(entry.operations)('plans a %s request the fake accepts and the kind reads back', async (operation) => {
      const server = servers.get(entry.kind) as ModelServer;
      // The id the server itself uses (Ollama's `name:latest`), as routing passes it.
      const served = gateway.gateway.registry.modelsOf(server.id).find((model) => modelMatches(model.modelId, entry.model))?.modelId ?? entry.model;
      const plan = findServerKind(entry.kind)?.plan(operation, { ...bodies[operation], model: entry.model }, served, server);
      expect(plan).toBeTruthy();
      if (plan === null || plan === undefined) return;
      const response = await request(joinUrl(server.baseUrl, plan.path), {
        method: plan.method ?? 'POST',
        headers: { ...plan.headers, 'content-type': 'application/json' },
        body: JSON.stringify(plan.body),
      });
      const answer: unknown = await response.body.json();
      expect(response.statusCode, JSON.stringify(answer)).toBe(200);
      const translated = plan.translate === undefined ? answer : plan.translate(answer);
      expect(shapeOf(operation, translated)).toBeTruthy();
    });

    it.each(entry.operations.filter((operation) => streamPaths[operation] !== undefined))('streams %s through the gateway, ending with exactly one terminal event', async (operation) => {
      const response = await fetch(`${gateway.url}${streamPaths[operation]}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ ...bodies[operation], model: entry.model, stream: true }),
      });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const events = (await response.text()).split('\n\n').filter((event) => event.trim() !== '');
      const terminal = events.filter((event) => event === 'data: [DONE]' || event.startsWith('data: {"error"'));
      expect(terminal).toEqual(['data: [DONE]']);
      expect(events.at(-1)).toBe('data: [DONE]');
      for (const event of events.slice(0, -1)) expect(() => JSON.parse(event.replace(/^data: /, ''))).not.toThrow();
    });
  });
});
