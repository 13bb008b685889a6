import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { embedText, startTeiFake, type TeiFake } from '../fakes/index.ts';
import { startPgliteServer, type PgliteServer } from '../support/pglite-server.ts';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.ts';
import { waitFor } from '../support/wait-for.ts';

// The collection service over the pgvector backend (real pgvector, in PGlite): the same
// store, search, filters, size refusal and re-embed swap as on the embedded backend.
let tei: TeiFake;
let pglite: PgliteServer;
let gateway: TestGateway;

beforeAll(async () => {
  [tei, pglite] = await Promise.all([startTeiFake({ modelId: 'general', dimension: 384 }), startPgliteServer()]);
  const dir = mkdtempSync(join(tmpdir(), 'sy-collections-pgvector-'));
  const file = join(dir, 'fleet.yaml');
  writeFileSync(file, `servers:\n  - { name: orchestration, server_type: embedding, base_url: "${tei.url}" }\ncollections:\n  general: { model: general, vector_size: 384 }\n`);
  gateway = await startTestGateway({ dataDir: join(dir, 'data'), configFile: file, env: { SWITCHYARD_VECTOR_BACKEND: 'pgvector', SWITCHYARD_VECTOR_DATABASE_URL: pglite.url } });
  await gateway.api('POST', '/api/v1/model-servers/health-check-all');
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  await Promise.all([tei?.stop(), pglite?.stop()]);
});

describe('collections on the pgvector backend', () => {
  it('stores texts, searches them best first with filters, refuses another size, and re-embeds with a swap', async () => {
    expect((await gateway.api('GET', '/api/v1/collections/general')).body).toMatchObject({ backend: 'pgvector', vector_size: 384, status: 'ready' });
    const stored = await gateway.api('POST', '/api/v1/models/general/vectors/store', {
      items: [
        { id: 'a', text: 'the cat sat on the mat', metadata: { lang: 'en' } },
        { id: 'b', text: 'a dog barked', metadata: { lang: 'en' } },
        { id: 'c', text: 'le chat', metadata: { lang: 'fr' } },
        { id: 'p', vector: embedText('precomputed', 384), metadata: { lang: 'xx' } },
      ],
    });
    expect(stored.body).toEqual({ ids: ['a', 'b', 'c', 'p'], dimension: 384, collection: 'general' });
    const hits = (await gateway.api('POST', '/api/v1/models/general/vectors/search', { query: 'the cat sat on the mat', top_k: 3 })).body.data as Array<{ id: string; score: number }>;
    expect(hits[0]?.id).toBe('a');
    expect(hits[0]?.score).toBeCloseTo(1, 4);
    expect(hits.map((hit) => hit.score)).toEqual([...hits.map((hit) => hit.score)].sort((x, y) => y - x));
    const filtered = (await gateway.api('POST', '/api/v1/models/general/vectors/search', { query: 'cat', filter: { lang: { in: ['fr'] } } })).body.data as Array<{ id: string }>;
    expect(filtered.map((hit) => hit.id)).toEqual(['c']);
    expect((await gateway.api('POST', '/api/v1/models/general/vectors/store', { items: [{ vector: [1, 2, 3] }] })).status).toBe(409);

    expect((await gateway.api('POST', '/api/v1/collections/general/reembed')).status).toBe(202);
    const ready = await waitFor(async () => {
      const current = (await gateway.api('GET', '/api/v1/collections/general')).body;
      return current.status === 'ready' && current.reembed?.done === 4 ? current : null;
    }, 'the re-embed');
    expect(ready).toMatchObject({ count: 4, reembed: { total: 4, skipped: 1, dropped: 0, error: null } });
    expect((await gateway.api('POST', '/api/v1/models/general/vectors/search', { query: 'a dog barked', top_k: 1 })).body.data[0].id).toBe('b');
    expect((await gateway.api('POST', '/api/v1/models/general/vectors/delete', { filter: { lang: 'en' } })).body).toEqual({ deleted: 2 });
  });
});
