import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { embedText, startOllamaFake, startTeiFake, type OllamaFake, type TeiFake } from '../fakes/index.ts';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.ts';
import { postgresAvailable } from '../support/postgres.ts';
import { waitFor } from '../support/wait-for.ts';

// general: a TEI embedder (384); mixtral: an Ollama chat model that embeds through /api/embed (4096);
// reranker: a model that cannot embed; bge: a model whose name holds `/`, with no collection yet.
let tei: TeiFake;
let bge: TeiFake;
let reranker: TeiFake;
let ollama: OllamaFake;
let gateway: TestGateway;
const mixtralDigest = 'a'.repeat(64);

function fleetFile(dir: string): string {
  const file = join(dir, 'fleet.yaml');
  writeFileSync(
    file,
    `servers:
  - name: chat
    server_type: ollama
    base_url: "${ollama.url}"
    models:
      - { name: mixtral, capabilities: [chat, embedding], embedding_dimension: 4096 }
  - { name: orchestration, server_type: embedding, base_url: "${tei.url}" }
  - { name: bge, server_type: embedding, base_url: "${bge.url}" }
  - { name: reranking, server_type: reranker, base_url: "${reranker.url}" }
collections:
  mixtral: { model: mixtral, vector_size: 4096, distance: cosine }
  general: { model: general, vector_size: 384 }
`,
  );
  return file;
}

beforeAll(async () => {
  [tei, bge, reranker, ollama] = await Promise.all([
    startTeiFake({ modelId: 'general', dimension: 384 }),
    startTeiFake({ modelId: 'BAAI/bge-small-en-v1.5', dimension: 384 }),
    startTeiFake({ modelId: 'bge-reranker', kind: 'reranker' }),
    startOllamaFake({
      models: [
        { id: 'mixtral', capabilities: ['completion'], embeddingDimension: 4096, digest: mixtralDigest },
        { id: 'nomic-embed-text', capabilities: ['embedding'], embeddingDimension: 768, family: 'nomic-bert' },
      ],
    }),
  ]);
  const dir = mkdtempSync(join(tmpdir(), 'sy-collections-'));
  gateway = await startTestGateway({ dataDir: join(dir, 'data'), configFile: fleetFile(dir), env: { SWITCHYARD_VECTOR_MAX_ITEMS: '16' } });
  expect((await gateway.api('POST', '/api/v1/model-servers/health-check-all')).status).toBe(200);
});

afterAll(async () => {
  await Promise.all([gateway?.stop(), tei?.stop(), bge?.stop(), reranker?.stop(), ollama?.stop()]);
});

async function keyWith(scopes: string[], models?: string[]): Promise<Record<string, string>> {
  const created = await gateway.api('POST', '/api/v1/keys', { name: `key-${scopes.join('-')}-${Math.random().toString(36).slice(2, 6)}`, scopes, ...(models === undefined ? {} : { models }) });
  expect(created.status).toBe(201);
  return { authorization: `Bearer ${created.body.key as string}` };
}

async function collection(name: string) {
  return (await gateway.api('GET', `/api/v1/collections/${encodeURIComponent(name)}`)).body;
}

describe('collections from the fleet file', () => {
  it('are created as the file maps them, listed with model, size, distance, count, backend and status, and owned by the file', async () => {
    const list = await gateway.api('GET', '/api/v1/collections');
    expect(list.status).toBe(200);
    const byName = Object.fromEntries((list.body.data as Array<{ name: string }>).map((entry) => [entry.name, entry]));
    expect(byName['mixtral']).toMatchObject({ name: 'mixtral', model: 'mixtral', vector_size: 4096, distance: 'cosine', count: 0, backend: 'embedded', status: 'ready', managed_by: 'fleet_file', model_digest: mixtralDigest });
    expect(byName['general']).toMatchObject({ model: 'general', vector_size: 384, distance: 'cosine', backend: 'embedded', status: 'ready', managed_by: 'fleet_file' });
    const refused = await gateway.api('DELETE', '/api/v1/collections/general');
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('SY_MANAGED_BY_FLEET_FILE');
  });
});

describe('storing and searching texts per model', () => {
  it('embeds texts through the data plane, stores them in the model collection and answers ids and dimension', async () => {
    const stored = await gateway.api('POST', '/api/v1/models/general/vectors/store', {
      items: [
        { id: 'doc-1', text: 'the cat sat on the mat', metadata: { lang: 'en', year: 2024 } },
        { id: 'doc-2', text: 'a dog barked at the postman', metadata: { lang: 'en', year: 2023 } },
        { id: 'doc-3', text: 'le chat est sur le tapis', metadata: { lang: 'fr', year: 2024 } },
      ],
    });
    expect(stored.status).toBe(200);
    expect(stored.body).toEqual({ ids: ['doc-1', 'doc-2', 'doc-3'], dimension: 384, collection: 'general' });
    const texts = await gateway.api('POST', '/api/v1/models/general/vectors/store', { texts: ['plain text one', 'plain text two'] });
    expect(texts.status).toBe(200);
    expect(texts.body.ids).toHaveLength(2);
    expect((await collection('general')).count).toBe(5);
  });

  it('searches best first with cosine similarity, text and metadata, and filters by equality and membership', async () => {
    const search = await gateway.api('POST', '/api/v1/models/general/vectors/search', { query: 'the cat sat on the mat', top_k: 3 });
    expect(search.status).toBe(200);
    const hits = search.body.data as Array<{ id: string; score: number; text: string; metadata: Record<string, unknown> }>;
    expect(hits).toHaveLength(3);
    expect(hits[0]).toMatchObject({ id: 'doc-1', text: 'the cat sat on the mat', metadata: { lang: 'en', year: 2024 } });
    expect(hits[0]?.score).toBeCloseTo(1, 4);
    for (let i = 1; i < hits.length; i++) expect(hits[i - 1]!.score).toBeGreaterThanOrEqual(hits[i]!.score);
    const french = await gateway.api('POST', '/api/v1/models/general/vectors/search', { query: 'the cat sat on the mat', filter: { lang: 'fr' } });
    expect((french.body.data as Array<{ id: string }>).map((hit) => hit.id)).toEqual(['doc-3']);
    const years = await gateway.api('POST', '/api/v1/models/general/vectors/search', { vector: embedText('a dog barked at the postman', 384), filter: { lang: 'en', year: { in: [2023, 2022] } } });
    expect((years.body.data as Array<{ id: string }>).map((hit) => hit.id)).toEqual(['doc-2']);
  });

  it('reads one vector back, deletes it, and deletes by ids or filter answering how many', async () => {
    const read = await gateway.api('GET', '/api/v1/models/general/vectors/doc-2');
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ id: 'doc-2', text: 'a dog barked at the postman', metadata: { lang: 'en', year: 2023 } });
    expect(read.body.vector).toHaveLength(384);
    expect((await gateway.api('DELETE', '/api/v1/models/general/vectors/doc-2')).body).toEqual({ deleted: 1 });
    expect((await gateway.api('GET', '/api/v1/models/general/vectors/doc-2')).status).toBe(404);
    expect((await gateway.api('DELETE', '/api/v1/models/general/vectors/doc-2')).status).toBe(404);
    const byFilter = await gateway.api('POST', '/api/v1/models/general/vectors/delete', { filter: { lang: 'fr' } });
    expect(byFilter.body).toEqual({ deleted: 1 });
    const byIds = await gateway.api('POST', '/api/v1/models/general/vectors/delete', { ids: ['doc-1', 'no-such-id'] });
    expect(byIds.body).toEqual({ deleted: 1 });
    expect((await collection('general')).count).toBe(2);
  });

  it('stores precomputed vectors, and refuses one of another size with a 409 naming both sizes, storing nothing', async () => {
    const before = (await collection('general')).count as number;
    const good = await gateway.api('POST', '/api/v1/models/general/vectors/store', { items: [{ id: 'pre-1', vector: embedText('precomputed', 384), metadata: { source: 'caller' } }] });
    expect(good.status).toBe(200);
    expect(good.body).toEqual({ ids: ['pre-1'], dimension: 384, collection: 'general' });
    const bad = await gateway.api('POST', '/api/v1/models/general/vectors/store', { items: [{ id: 'pre-2', vector: embedText('x', 384) }, { id: 'pre-3', vector: [0.1, 0.2, 0.3] }] });
    expect(bad.status).toBe(409);
    expect(bad.body.error.code).toBe('SY_VECTOR_SIZE_MISMATCH');
    expect(bad.body.error.message).toMatch(/384/);
    expect(bad.body.error.message).toMatch(/size 3\b/);
    const badSearch = await gateway.api('POST', '/api/v1/models/general/vectors/search', { vector: [1, 0] });
    expect(badSearch.status).toBe(409);
    expect((await collection('general')).count).toBe(before + 1);
    expect((await gateway.api('GET', '/api/v1/models/general/vectors/pre-2')).status).toBe(404);
  });

  it('refuses a first store of vectors of mixed sizes with a 409 before creating the model a collection', async () => {
    const mixed = await gateway.api('POST', '/api/v1/models/nomic-embed-text/vectors/store', { items: [{ id: 'a', vector: [0.1, 0.2, 0.3] }, { id: 'b', vector: [0.1, 0.2] }] });
    expect(mixed.status).toBe(409);
    expect(mixed.body.error.code).toBe('SY_VECTOR_SIZE_MISMATCH');
    expect((await gateway.api('GET', '/api/v1/collections/nomic-embed-text')).status).toBe(404);
  });

  it('embeds with an Ollama chat model through /api/embed into its 4096-dimension collection', async () => {
    const stored = await gateway.api('POST', '/api/v1/models/mixtral/vectors/store', { items: [{ id: 'm-1', text: 'mixture of experts' }, { id: 'm-2', text: 'sparse routing' }, { id: 'm-pre', vector: embedText('caller vector', 4096) }] });
    expect(stored.status).toBe(200);
    expect(stored.body).toEqual({ ids: ['m-1', 'm-2', 'm-pre'], dimension: 4096, collection: 'mixtral' });
    expect(ollama.requests.some((request) => request.path === '/api/embed')).toBe(true);
    const hits = (await gateway.api('POST', '/api/v1/models/mixtral/vectors/search', { query: 'sparse routing', top_k: 1 })).body.data;
    expect(hits).toMatchObject([{ id: 'm-2', text: 'sparse routing' }]);
  });

  it('gives a model without a collection one named after it, sized to its vectors, on its first store (names with / work as written or encoded)', async () => {
    const stored = await gateway.api('POST', '/api/v1/models/BAAI/bge-small-en-v1.5/vectors/store', { texts: ['first text'] });
    expect(stored.status).toBe(200);
    expect(stored.body).toMatchObject({ dimension: 384, collection: 'BAAI/bge-small-en-v1.5' });
    expect(await collection('BAAI/bge-small-en-v1.5')).toMatchObject({ model: 'BAAI/bge-small-en-v1.5', vector_size: 384, count: 1, status: 'ready', managed_by: null });
    const encoded = await gateway.api('POST', '/api/v1/models/BAAI%2Fbge-small-en-v1.5/vectors/search', { query: 'first text', top_k: 1 });
    expect(encoded.body.data[0]).toMatchObject({ text: 'first text' });
    expect((await gateway.api('GET', '/api/v1/collections/BAAI/bge-small-en-v1.5')).body.name).toBe('BAAI/bge-small-en-v1.5');
  });

  it('leaves one consistent row when concurrent stores write the same id', async () => {
    const texts = Array.from({ length: 12 }, (_, i) => `version ${i}`);
    const answers = await Promise.all(texts.map((text) => gateway.api('POST', '/api/v1/models/general/vectors/store', { items: [{ id: 'contended', text, metadata: { text } }] })));
    expect(answers.map((answer) => answer.status)).toEqual(texts.map(() => 200));
    const row = (await gateway.api('GET', '/api/v1/models/general/vectors/contended')).body;
    expect(texts).toContain(row.text);
    expect(row.metadata).toEqual({ text: row.text });
    const expected = embedText(row.text as string, 384);
    (row.vector as number[]).forEach((value, i) => expect(value).toBeCloseTo(expected[i] as number, 5));
    const hits = (await gateway.api('POST', '/api/v1/models/general/vectors/search', { vector: expected, top_k: 20 })).body.data as Array<{ id: string }>;
    expect(hits.filter((hit) => hit.id === 'contended')).toHaveLength(1);
  });

  it('stores nothing when embedding fails', async () => {
    const before = (await collection('general')).count as number;
    await tei.setFault({ kind: 'status', status: 500 }, ['/embed', '/v1/embeddings']);
    try {
      const failed = await gateway.api('POST', '/api/v1/models/general/vectors/store', { items: [{ id: 'never-1', text: 'will not be stored' }, { id: 'never-2', text: 'nor this' }] });
      expect(failed.status).toBeGreaterThanOrEqual(500);
      expect(failed.body.error.code).toMatch(/^SY_UPSTREAM/);
    } finally {
      await tei.clearFault();
    }
    expect((await collection('general')).count).toBe(before);
    expect((await gateway.api('GET', '/api/v1/models/general/vectors/never-1')).status).toBe(404);
  });
});

describe('collections over REST', () => {
  it('creates a collection sized from what the server reports when vector_size is left out, and refuses duplicates', async () => {
    const created = await gateway.api('POST', '/api/v1/collections', { name: 'notes', model: 'nomic-embed-text' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'notes', model: 'nomic-embed-text', vector_size: 768, distance: 'cosine', count: 0, status: 'ready', managed_by: null });
    const stored = await gateway.api('POST', '/api/v1/models/nomic-embed-text/vectors/store', { texts: ['into notes'] });
    expect(stored.body).toMatchObject({ collection: 'notes', dimension: 768 });
    expect((await gateway.api('POST', '/api/v1/collections', { name: 'notes', model: 'general' })).status).toBe(409);
    expect((await gateway.api('POST', '/api/v1/collections', { name: 'general-2', model: 'general' })).body.error.message).toMatch(/already has a collection/);
  });

  it('deletes a collection with its vectors, and the audit log has who created and deleted it', async () => {
    expect((await gateway.api('DELETE', '/api/v1/collections/notes')).status).toBe(204);
    const audit = (await gateway.api('GET', '/api/v1/audit?target_type=collection&target_id=notes')).body.data as Array<{ action: string; actor: string | null; before: unknown; after: unknown }>;
    expect(audit.map((entry) => entry.action).sort()).toEqual(['collection.create', 'collection.delete']);
    expect(audit.find((entry) => entry.action === 'collection.create')?.after).toMatchObject({ name: 'notes', model: 'nomic-embed-text', vector_size: 768 });
    expect((await gateway.api('GET', '/api/v1/collections/notes')).status).toBe(404);
    expect((await gateway.api('POST', '/api/v1/models/nomic-embed-text/vectors/search', { query: 'into notes' })).status).toBe(404);
  });
});

describe('bad input', () => {
  it('answers unknown models and collections with 404 and a model that cannot embed with 400 naming what it serves', async () => {
    const unknown = await gateway.api('POST', '/api/v1/models/no-such-model/vectors/store', { texts: ['x'] });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('model_not_found');
    expect((await gateway.api('POST', '/api/v1/collections', { name: 'x', model: 'no-such-model', vector_size: 3 })).body.error.code).toBe('model_not_found');
    expect((await gateway.api('GET', '/api/v1/collections/no-such-collection')).body.error.code).toBe('SY_NOT_FOUND');
    expect((await gateway.api('POST', '/api/v1/collections/no-such-collection/reembed')).status).toBe(404);
    for (const response of [
      await gateway.api('POST', '/api/v1/models/bge-reranker/vectors/store', { texts: ['x'] }),
      await gateway.api('POST', '/api/v1/collections', { name: 'reranks', model: 'bge-reranker' }),
    ]) {
      expect(response.status).toBe(400);
      expect(response.body.error.code).toBe('SY_UNSUPPORTED_OPERATION');
      expect(response.body.error.message).toMatch(/serves rerank only/);
    }
  });

  it('refuses top_k out of range, filters of the wrong shape, empty texts and oversize batches, in the admin error shape', async () => {
    const cases: Array<[unknown, number, string | null]> = [
      [{ query: 'x', top_k: 0 }, 400, 'top_k'],
      [{ query: 'x', top_k: 1001 }, 400, 'top_k'],
      [{ query: 'x', top_k: 2.5 }, 400, 'top_k'],
      [{ query: 'x', filter: { year: { gt: 2000 } } }, 400, 'filter.year'],
      [{ query: 'x', filter: { lang: ['en'] } }, 400, 'filter.lang'],
      [{ query: 'x', filter: { lang: { in: [] } } }, 400, 'filter.lang'],
      [{ query: 'x', filter: 'lang=en' }, 400, 'filter'],
      [{ query: '' }, 400, 'query'],
      [{}, 400, 'query'],
    ];
    for (const [body, status, param] of cases) {
      const response = await gateway.api('POST', '/api/v1/models/general/vectors/search', body);
      expect(response.status, JSON.stringify(body)).toBe(status);
      expect(response.body.error).toMatchObject({ type: 'invalid_request_error', code: 'SY_INVALID_REQUEST', param });
    }
    expect((await gateway.api('POST', '/api/v1/models/general/vectors/store', { texts: [] })).body.error.param).toBe('texts');
    expect((await gateway.api('POST', '/api/v1/models/general/vectors/store', { texts: ['ok', '  '] })).body.error.param).toBe('texts.1');
    expect((await gateway.api('POST', '/api/v1/models/general/vectors/store', { items: [{ text: 'x', vector: [1] }] })).status).toBe(400);
    const oversize = await gateway.api('POST', '/api/v1/models/general/vectors/store', { texts: Array.from({ length: 17 }, (_, i) => `t${i}`) });
    expect(oversize.status).toBe(413);
    expect(oversize.body.error).toMatchObject({ code: 'SY_TOO_MANY_ITEMS', type: 'invalid_request_error' });
    expect(oversize.body.error.message).toMatch(/limit is 16/);
  });
});

describe('scopes, allow-lists and usage', () => {
  it('lets inference keys search but not write, vectors:write keys write but not search, read keys list but not change', async () => {
    const inference = await keyWith(['inference']);
    const writer = await keyWith(['vectors:write']);
    const reader = await keyWith(['read']);
    expect((await gateway.api('POST', '/api/v1/models/general/vectors/search', { query: 'x' }, inference)).status).toBe(200);
    expect((await gateway.api('GET', '/api/v1/models/general/vectors/pre-1', undefined, inference)).status).toBe(200);
    const refused = await gateway.api('POST', '/api/v1/models/general/vectors/store', { texts: ['x'] }, inference);
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toMatch(/vectors:write/);
    expect((await gateway.api('POST', '/api/v1/models/general/vectors/delete', { ids: ['x'] }, inference)).status).toBe(403);
    expect((await gateway.api('DELETE', '/api/v1/models/general/vectors/pre-1', undefined, inference)).status).toBe(403);
    expect((await gateway.api('POST', '/api/v1/collections', { name: 'x', model: 'general', vector_size: 384 }, inference)).status).toBe(403);
    expect((await gateway.api('POST', '/api/v1/models/general/vectors/store', { texts: ['written by the writer'] }, writer)).status).toBe(200);
    expect((await gateway.api('POST', '/api/v1/models/general/vectors/search', { query: 'x' }, writer)).status).toBe(403);
    expect((await gateway.api('GET', '/api/v1/collections', undefined, writer)).status).toBe(200);
    expect((await gateway.api('GET', '/api/v1/collections', undefined, reader)).status).toBe(200);
    expect((await gateway.api('POST', '/api/v1/collections', { name: 'x', model: 'general', vector_size: 384 }, reader)).status).toBe(403);
    expect((await gateway.api('POST', '/api/v1/models/general/vectors/search', { query: 'x' }, { authorization: 'Bearer sk-wrong' })).status).toBe(401);
  });

  it('answers a model outside the key allow-list as unknown, and lists only the collections it may see', async () => {
    const limited = await keyWith(['inference', 'vectors:write', 'read'], ['general']);
    const search = await gateway.api('POST', '/api/v1/models/mixtral/vectors/search', { query: 'x' }, limited);
    expect(search.status).toBe(404);
    expect(search.body.error.code).toBe('model_not_found');
    expect((await gateway.api('POST', '/api/v1/models/mixtral/vectors/store', { texts: ['x'] }, limited)).status).toBe(404);
    expect((await gateway.api('GET', '/api/v1/collections/mixtral', undefined, limited)).status).toBe(404);
    const names = ((await gateway.api('GET', '/api/v1/collections', undefined, limited)).body.data as Array<{ name: string }>).map((entry) => entry.name);
    expect(names).toEqual(['general']);
    expect((await gateway.api('POST', '/api/v1/models/general/vectors/search', { query: 'x' }, limited)).status).toBe(200);
  });

  it("applies the key's rate limits and token budget to the embeddings stores and searches make", async () => {
    const limited = (await gateway.api('POST', '/api/v1/keys', { name: 'rpm-key', scopes: ['inference', 'vectors:write'], rpm: 2 })).body;
    const headers = { authorization: `Bearer ${limited.key as string}` };
    expect((await gateway.api('POST', '/api/v1/models/general/vectors/search', { query: 'one' }, headers)).status).toBe(200);
    expect((await gateway.api('POST', '/api/v1/models/general/vectors/store', { texts: ['limited store'] }, headers)).status).toBe(200);
    const refused = await gateway.api('POST', '/api/v1/models/general/vectors/search', { query: 'three' }, headers);
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe('rate_limit_exceeded');
    expect(refused.headers.get('x-ratelimit-limit-requests')).toBe('2');
    const budgeted = (await gateway.api('POST', '/api/v1/keys', { name: 'budget-key', scopes: ['inference', 'vectors:write'], budget_tokens: 1 })).body;
    const spender = { authorization: `Bearer ${budgeted.key as string}` };
    await gateway.api('POST', '/api/v1/models/general/vectors/store', { texts: ['a text long enough to spend more than one token of the budget'] }, spender);
    const broke = await gateway.api('POST', '/api/v1/models/general/vectors/search', { query: 'anything at all' }, spender);
    expect(broke.status).toBe(429);
    expect(broke.body.error.code).toBe('insufficient_quota');
  });

  it('records the embeddings made for stores and searches as usage of the calling key', async () => {
    const created = await gateway.api('POST', '/api/v1/keys', { name: 'usage-key', scopes: ['inference', 'vectors:write'] });
    const headers = { authorization: `Bearer ${created.body.key as string}` };
    await gateway.api('POST', '/api/v1/models/general/vectors/store', { texts: ['usage one', 'usage two'] }, headers);
    await gateway.api('POST', '/api/v1/models/general/vectors/search', { query: 'usage one' }, headers);
    const rows = await waitFor(async () => {
      const found = await gateway.gateway.database.db.selectFrom('usage_records').selectAll().where('key_id', '=', created.body.id as string).orderBy('occurred_at').execute();
      return found.length >= 2 ? found : null;
    }, 'usage records of the key');
    expect(rows.map((row) => row.requested_model)).toEqual(['general', 'general']);
    expect(rows.every((row) => Number(row.status) === 200)).toBe(true);
    // The search's text was stored just before: the embedding cache answers it, with no upstream tokens.
    expect(Number(rows[0]?.prompt_tokens)).toBeGreaterThan(0);
  });
});

describe('metrics', () => {
  it('counts operations per model, times them, and shows vectors per collection', async () => {
    const count = (await collection('general')).count as number;
    // The gauge is refreshed after each write, off the request: wait for it rather than read it at once.
    const metrics = await waitFor(async () => {
      const text = (await gateway.api('GET', '/metrics')).text;
      return text.includes(`model_collection_vectors{collection="general"} ${count}`) && text.includes('model_collection_vectors{collection="mixtral"} 3') ? text : null;
    }, 'the collection gauges to show the stored counts');
    expect(metrics).toMatch(/model_vector_operations_total\{model="general",operation="store"\} \d+/);
    expect(metrics).toMatch(/model_vector_operations_total\{model="general",operation="search"\} \d+/);
    expect(metrics).toMatch(/model_vector_operation_duration_seconds_bucket\{le="[^"]+",operation="search"\} \d+/);
  });
});

describe('a model that changes under its collection', () => {
  it('marks the collection stale when the digest changes, re-embeds in the background while searches keep working, then serves the new vectors', async () => {
    const newDigest = 'b'.repeat(64);
    ollama.repull('mixtral', newDigest);
    await gateway.api('POST', '/api/v1/model-servers/health-check-all');
    const stale = await waitFor(async () => {
      const current = await collection('mixtral');
      return current.status === 'stale' ? current : null;
    }, 'the collection to turn stale');
    expect(stale).toMatchObject({ model_digest: mixtralDigest, stale_digest: newDigest });
    // The embedding cache holds 'sparse routing' from the old version: the new one is asked instead.
    const asked = () => ollama.requests.filter((request) => request.path === '/api/embed' && JSON.stringify(request.body).includes('sparse routing')).length;
    const before = asked();
    expect((await gateway.api('POST', '/api/v1/models/mixtral/vectors/search', { query: 'sparse routing', top_k: 1 })).body.data[0].id).toBe('m-2');
    expect(asked()).toBe(before + 1);

    // Slow embeddings: the re-embed is seen running, and searches by vector answer meanwhile (from the old vectors).
    await ollama.setBehaviour({ latencyMs: 200 });
    const started = await gateway.api('POST', '/api/v1/collections/mixtral/reembed');
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({ status: 'reembedding', reembed: { done: 0, total: 3 } });
    expect((await gateway.api('POST', '/api/v1/collections/mixtral/reembed')).status).toBe(409);
    const during = await gateway.api('POST', '/api/v1/models/mixtral/vectors/search', { vector: embedText('mixture of experts', 4096), top_k: 1 });
    expect(during.status).toBe(200);
    expect(during.body.data[0].id).toBe('m-1');
    await ollama.setBehaviour({ latencyMs: 0 });

    const ready = await waitFor(async () => {
      const current = await collection('mixtral');
      return current.status === 'ready' ? current : null;
    }, 'the re-embed to finish');
    expect(ready).toMatchObject({ model_digest: newDigest, stale_digest: null, count: 3, vector_size: 4096, reembed: { done: 3, total: 3, skipped: 1, dropped: 0, error: null } });
    const after = await gateway.api('POST', '/api/v1/models/mixtral/vectors/search', { query: 'sparse routing', top_k: 3 });
    expect(after.body.data[0]).toMatchObject({ id: 'm-2', text: 'sparse routing' });
    expect((await gateway.api('GET', '/api/v1/models/mixtral/vectors/m-pre')).status).toBe(200);
  });
});

describe('the fleet file at the next start', () => {
  it('keeps a collection it no longer lists (vectors and all, editable again), refuses to resize one holding vectors, and resizes an empty one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-collections-restart-'));
    const file = join(dir, 'fleet.yaml');
    const servers = `servers:\n  - { name: orchestration, server_type: embedding, base_url: "${tei.url}" }\n`;
    writeFileSync(file, `${servers}collections:\n  general: { model: general, vector_size: 384 }\n  spare: { model: general-spare, vector_size: 16 }\n  kept: { model: kept-model, vector_size: 8 }\n`);
    const first = await startTestGateway({ dataDir: join(dir, 'data'), configFile: file });
    try {
      await first.api('POST', '/api/v1/model-servers/health-check-all');
      expect((await first.api('POST', '/api/v1/models/general/vectors/store', { texts: ['kept across restarts'] })).status).toBe(200);
      expect(first.gateway.collections.fleetReport).toMatchObject({ created: ['general', 'spare', 'kept'] });
    } finally {
      await first.stop();
    }
    writeFileSync(file, `${servers}collections:\n  general: { model: general, vector_size: 768 }\n  spare: { model: general-spare, vector_size: 32, distance: dot }\n`);
    const second = await startTestGateway({ dataDir: join(dir, 'data'), configFile: file });
    try {
      const report = second.gateway.collections.fleetReport;
      expect(report?.failed.map((entry) => entry.name)).toEqual(['general']);
      expect(report?.failed[0]?.error).toMatch(/holds 1 vectors/);
      expect(report).toMatchObject({ created: ['spare'], released: ['kept'] });
      expect((await second.api('GET', '/api/v1/collections/general')).body).toMatchObject({ vector_size: 384, count: 1, managed_by: 'fleet_file' });
      expect((await second.api('GET', '/api/v1/collections/spare')).body).toMatchObject({ vector_size: 32, distance: 'dot', managed_by: 'fleet_file' });
      expect((await second.api('GET', '/api/v1/collections/kept')).body).toMatchObject({ vector_size: 8, managed_by: null });
      // Its model is served nowhere: precomputed vectors still go in and come out; a text cannot be embedded.
      expect((await second.api('POST', '/api/v1/models/kept-model/vectors/store', { items: [{ id: 'k', vector: [1, 0, 0, 0, 0, 0, 0, 0] }] })).status).toBe(200);
      expect((await second.api('POST', '/api/v1/models/kept-model/vectors/search', { vector: [1, 0, 0, 0, 0, 0, 0, 0] })).body.data[0]).toMatchObject({ id: 'k', score: 1 });
      expect((await second.api('POST', '/api/v1/models/kept-model/vectors/search', { query: 'text' })).body.error.code).toBe('model_not_found');
      expect((await second.api('DELETE', '/api/v1/collections/kept')).status).toBe(204);
    } finally {
      await second.stop();
    }
  });
});

const hasPostgres = await postgresAvailable();

describe.skipIf(!hasPostgres)('the registry on PostgreSQL', () => {
  it('keeps collections in PostgreSQL: created from the file and over REST, stored into and searched', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-collections-pg-'));
    const pg = await startTestGateway({ dataDir: join(dir, 'data'), configFile: fleetFile(dir), postgres: true });
    try {
      await pg.api('POST', '/api/v1/model-servers/health-check-all');
      expect((await pg.api('POST', '/api/v1/collections', { name: 'notes', model: 'nomic-embed-text' })).status).toBe(201);
      const rows = await pg.gateway.database.db.selectFrom('vector_collections').select(['name', 'model', 'vector_size', 'managed_by']).orderBy('name').execute();
      expect(rows.map((row) => ({ ...row, vector_size: Number(row.vector_size) }))).toEqual([
        { name: 'general', model: 'general', vector_size: 384, managed_by: 'fleet' },
        { name: 'mixtral', model: 'mixtral', vector_size: 4096, managed_by: 'fleet' },
        { name: 'notes', model: 'nomic-embed-text', vector_size: 768, managed_by: 'api' },
      ]);
      expect((await pg.api('POST', '/api/v1/models/general/vectors/store', { texts: ['on postgres'] })).status).toBe(200);
      expect((await pg.api('POST', '/api/v1/models/general/vectors/search', { query: 'on postgres', top_k: 1 })).body.data[0].text).toBe('on postgres');
    } finally {
      await pg.stop();
    }
  });
});
