import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startRerankerFake } from './reranker-fake.ts';
import type { RerankerFake } from './reranker-fake.ts';
import { postJson } from './wire-readers.ts';

let fake: RerankerFake;
beforeEach(async () => {
  fake = await startRerankerFake();
});
afterEach(async () => {
  await fake.stop();
});

const documents = ['Carson City is the capital of Nevada.', 'Washington, D.C. is the capital of the United States.', 'Capital punishment exists in the United States.'];
type Rerank = { id: string; model: string; results: { index: number; relevance_score: number; document?: { text: string } }[]; usage: { total_tokens: number }; meta: Record<string, unknown> };

describe('reranker fake', () => {
  it.each(['/rerank', '/v1/rerank'])('POST %s returns Cohere/Jina-shaped results sorted by relevance', async (path) => {
    const body = (await (await postJson(`${fake.url}${path}`, { model: 'bge-reranker-v2-m3', query: 'What is the capital of the United States?', documents })).json()) as Rerank;
    expect(typeof body.id).toBe('string');
    expect(body.model).toBe('bge-reranker-v2-m3');
    expect(body.meta).toMatchObject({ billed_units: { search_units: 1 } });
    expect(body.usage.total_tokens).toBeGreaterThan(0);
    expect(body.results.map((r) => r.index)).toEqual([1, 0, 2]); // 0 and 2 tie: input order kept
    const scores = body.results.map((r) => r.relevance_score);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
    expect(body.results[0]).not.toHaveProperty('document');
  });

  it('is deterministic, honours top_n and return_documents, and accepts {text} documents', async () => {
    const request = { model: 'bge-reranker-v2-m3', query: 'capital of Nevada', documents: documents.map((text) => ({ text })), top_n: 2, return_documents: true };
    const a = (await (await postJson(`${fake.url}/v1/rerank`, request)).json()) as Rerank;
    const b = (await (await postJson(`${fake.url}/v1/rerank`, request)).json()) as Rerank;
    expect(a.results).toEqual(b.results);
    expect(a.results).toHaveLength(2);
    expect(a.results[0]).toMatchObject({ index: 0, document: { text: documents[0] } });
  });

  it('unknown model → 404; bad documents → 400', async () => {
    expect((await postJson(`${fake.url}/rerank`, { model: 'nope', query: 'q', documents })).status).toBe(404);
    expect((await postJson(`${fake.url}/rerank`, { model: 'bge-reranker-v2-m3', query: 'q', documents: [1] })).status).toBe(400);
  });

  it('GET /v1/models and /health; setModels changes the list', async () => {
    expect((await fetch(`${fake.url}/health`)).status).toBe(200);
    const list = (await (await fetch(`${fake.url}/v1/models`)).json()) as { object: string; data: { id: string; object: string }[] };
    expect(list.object).toBe('list');
    expect(list.data.map((m) => m.id)).toEqual(['bge-reranker-v2-m3']);
    fake.setModels([{ id: 'jina-reranker-v2', capabilities: ['rerank'] }]);
    const after = (await (await fetch(`${fake.url}/v1/models`)).json()) as { data: { id: string }[] };
    expect(after.data.map((m) => m.id)).toEqual(['jina-reranker-v2']);
  });

  it('enforces the API key when set', async () => {
    fake.setApiKey('secret');
    const denied = await postJson(`${fake.url}/rerank`, { query: 'q', documents });
    expect(denied.status).toBe(401);
    expect(await denied.json()).toHaveProperty('message');
    const ok = await postJson(`${fake.url}/rerank`, { query: 'q', documents }, { headers: { authorization: 'Bearer secret' } });
    expect(ok.status).toBe(200);
    expect((await fetch(`${fake.url}/health`)).status).toBe(200);
  });
});
