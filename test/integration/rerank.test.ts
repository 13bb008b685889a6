// POST /v1/rerank answers one shape whatever server reranks and however it was
// registered: every rerank-capable kind × registration (reranker, embedding,
// auto, and the kind's own type) against its fake, through the gateway. The
// stock `openai` client has no rerank, so plain fetch.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAIFake, startRerankerFake, startTeiFake, type FakeServer } from '../fakes/index.ts';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';

interface RerankCase {
  name: string;
  model: string;
  /** Undefined: auto-detection. */
  register: string | undefined;
  /** What detection must settle on for `auto`, or the type given. */
  kind: string;
  /** The path the server must have been asked on. */
  path: string;
  start: (model: string) => Promise<FakeServer>;
}

const teiReranker = (model: string) => startTeiFake({ kind: 'reranker', modelId: model });
const infinity = (model: string) => startRerankerFake({ style: 'infinity', models: [{ id: model, capabilities: ['rerank'] }] });
const cohere = (model: string) => startRerankerFake({ style: 'cohere', models: [{ id: model, capabilities: ['rerank'] }] });
const vllm = (model: string) => startOpenAIFake({ flavor: 'vllm', models: [{ id: model, capabilities: ['rerank'] }] });
const vllmBefore07 = (model: string) => startOpenAIFake({ flavor: 'vllm', vllmRerank: false, models: [{ id: model, capabilities: ['rerank'] }] });

const cases: RerankCase[] = [
  { name: 'TEI registered as reranker', model: 'tei-rerank-typed', register: 'reranker', kind: 'reranker', path: '/rerank', start: teiReranker },
  { name: 'TEI registered as embedding', model: 'tei-rerank-embedding', register: 'embedding', kind: 'embedding', path: '/rerank', start: teiReranker },
  { name: 'TEI detected', model: 'tei-rerank-auto', register: undefined, kind: 'reranker', path: '/rerank', start: teiReranker },
  { name: 'Infinity registered as reranker', model: 'infinity-rerank-typed', register: 'reranker', kind: 'reranker', path: '/v1/rerank', start: infinity },
  { name: 'Infinity registered as embedding', model: 'infinity-rerank-embedding', register: 'embedding', kind: 'embedding', path: '/v1/rerank', start: infinity },
  { name: 'Infinity detected', model: 'infinity-rerank-auto', register: undefined, kind: 'reranker', path: '/v1/rerank', start: infinity },
  { name: 'Cohere-style registered as reranker', model: 'cohere-rerank-typed', register: 'reranker', kind: 'reranker', path: '/v1/rerank', start: cohere },
  { name: 'Cohere-style registered as openai', model: 'cohere-rerank-openai', register: 'openai', kind: 'openai', path: '/v1/rerank', start: cohere },
  { name: 'Cohere-style detected', model: 'cohere-rerank-auto', register: undefined, kind: 'reranker', path: '/v1/rerank', start: cohere },
  { name: 'vLLM registered as vllm', model: 'vllm-rerank-typed', register: 'vllm', kind: 'vllm', path: '/v1/rerank', start: vllm },
  { name: 'vLLM detected', model: 'vllm-rerank-auto', register: undefined, kind: 'vllm', path: '/v1/rerank', start: vllm },
  { name: 'vLLM before 0.7 (score only)', model: 'vllm-rerank-score', register: 'vllm', kind: 'vllm', path: '/v1/score', start: vllmBefore07 },
];

const query = 'capital of France';
// Strings and Cohere/Jina `{text}` objects mixed; by word overlap the order is 1, 3, 2, 0.
const documents = ['bananas are yellow', { text: 'the capital of France is Paris' }, 'Paris France', 'Berlin is the capital of Germany'];
const texts = documents.map((document) => (typeof document === 'string' ? document : document.text));

let gateway: TestGateway;
const fakes = new Map<string, FakeServer>();
const kinds = new Map<string, string>();

beforeAll(async () => {
  gateway = await startTestGateway();
  for (const entry of cases) {
    const fake = await entry.start(entry.model);
    fakes.set(entry.model, fake);
    const created = await gateway.api('POST', '/api/v1/model-servers', { name: entry.model, base_url: fake.url, ...(entry.register === undefined ? {} : { server_type: entry.register }) });
    expect(created.status, created.text).toBe(201);
    kinds.set(entry.model, created.body.server_type);
  }
  await gateway.api('POST', '/api/v1/model-servers/health-check-all');
}, 60_000);

afterAll(async () => {
  await gateway.stop();
  await Promise.all([...fakes.values()].map((fake) => fake.stop()));
});

async function rerank(body: Record<string, unknown>): Promise<{ status: number; body: any }> {
  const response = await fetch(`${gateway.url}/v1/rerank`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

describe.each(cases)('rerank on $name', (entry) => {
  it('is registered as the kind the case names', () => {
    expect(kinds.get(entry.model)).toBe(entry.kind);
  });

  it('answers every document best first without their texts, asking the server on its own API', async () => {
    const fake = fakes.get(entry.model) as FakeServer;
    fake.resetRequests();
    const { status, body } = await rerank({ model: entry.model, query, documents });
    expect(status, JSON.stringify(body)).toBe(200);
    expect(body).toMatchObject({ object: 'list', model: entry.model, usage: { total_tokens: expect.any(Number) } });
    expect(body.results.map((result: { index: number }) => result.index)).toEqual([1, 3, 2, 0]);
    const scores = body.results.map((result: { relevance_score: number }) => result.relevance_score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    for (const result of body.results) expect(Object.keys(result).sort()).toEqual(['index', 'relevance_score']);
    expect(fake.requests.map((request) => `${request.method} ${new URL(request.path, 'http://fake').pathname}`)).toEqual([`POST ${entry.path}`]);
  });

  it('cuts to top_n and returns each document as {text} when return_documents is true', async () => {
    const { status, body } = await rerank({ model: entry.model, query, documents, top_n: 2, return_documents: true });
    expect(status, JSON.stringify(body)).toBe(200);
    expect(body.results).toEqual([
      { index: 1, relevance_score: expect.any(Number), document: { text: texts[1] } },
      { index: 3, relevance_score: expect.any(Number), document: { text: texts[3] } },
    ]);
    expect(body.results[0].relevance_score).toBeGreaterThan(body.results[1].relevance_score);
  });

  it('leaves documents out when return_documents is false, even where the server always echoes them', async () => {
    const { body } = await rerank({ model: entry.model, query, documents, top_n: 3, return_documents: false });
    expect(body.results).toHaveLength(3);
    for (const result of body.results) expect(result).not.toHaveProperty('document');
  });
});

describe('bad rerank input', () => {
  const model = 'tei-rerank-typed';
  it.each([
    ['no query', { model, documents: texts }, 'query'],
    ['an empty query', { model, query: '', documents: texts }, 'query'],
    ['no documents', { model, query }, 'documents'],
    ['empty documents', { model, query, documents: [] }, 'documents'],
    ['a document that is neither a string nor {text}', { model, query, documents: [{ title: 'x' }] }, 'documents'],
    ['top_n of 0', { model, query, documents: texts, top_n: 0 }, 'top_n'],
  ])('answers %s with a 400 in OpenAI’s error shape, asking no server', async (_, body, field) => {
    const fake = fakes.get(model) as FakeServer;
    fake.resetRequests();
    const response = await rerank(body);
    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({ type: 'invalid_request_error', message: expect.stringContaining(field) });
    expect(fake.requests).toEqual([]);
  });
});
