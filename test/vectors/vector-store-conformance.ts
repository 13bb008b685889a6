import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  VectorCollectionConflict,
  VectorCollectionNotFound,
  VectorSizeMismatch,
  type VectorDistance,
  type VectorRecord,
  type VectorStore,
} from '../../src/vectors/vector-store.ts';

/**
 * What every vector backend must do, run against each one (embedded,
 * pgvector, qdrant). `open` answers a store, or null when the backend is not
 * reachable here (the caller has said so loudly); each test uses collections
 * of its own, so the suite can share one server with other runs.
 */
export function describeVectorStoreConformance(backend: string, open: () => Promise<VectorStore | null>): void {
  describe(`VectorStore conformance: ${backend}`, () => {
    let store: VectorStore | null = null;
    const created: string[] = [];

    beforeAll(async () => {
      store = await open();
    });
    afterAll(async () => {
      if (store === null) return;
      for (const name of created) await store.dropCollection(name).catch(() => undefined);
      await store.close();
    });

    async function collection(distance: VectorDistance = 'cosine', vectorSize = 3): Promise<{ store: VectorStore; name: string }> {
      const name = `conformance_${randomUUID().slice(0, 8)}`;
      created.push(name);
      await store!.ensureCollection({ name, vectorSize, distance });
      return { store: store!, name };
    }

    const record = (id: string, vector: number[], metadata: Record<string, unknown> = {}, text: string | null = `text of ${id}`): VectorRecord => ({
      id,
      vector,
      text,
      metadata,
    });

    it('ensures a collection idempotently, refuses another size or distance, and drops it', async (context) => {
      if (store === null) return context.skip();
      const { name } = await collection('cosine', 3);
      await store.ensureCollection({ name, vectorSize: 3, distance: 'cosine' });
      await expect(store.ensureCollection({ name, vectorSize: 4, distance: 'cosine' })).rejects.toBeInstanceOf(VectorCollectionConflict);
      await expect(store.ensureCollection({ name, vectorSize: 3, distance: 'euclid' })).rejects.toBeInstanceOf(VectorCollectionConflict);
      await store.upsert(name, [record('a', [1, 0, 0])]);
      expect(await store.count(name)).toBe(1);
      await store.dropCollection(name);
      await expect(store.count(name)).rejects.toBeInstanceOf(VectorCollectionNotFound);
      await expect(store.search(name, { vector: [1, 0, 0], topK: 1 })).rejects.toBeInstanceOf(VectorCollectionNotFound);
      await store.dropCollection(name); // dropping a missing collection is not an error
      await store.ensureCollection({ name, vectorSize: 4, distance: 'dot' });
      expect(await store.count(name)).toBe(0);
    });

    it('upserts records, and a record with an existing id replaces it', async (context) => {
      if (store === null) return context.skip();
      const { name } = await collection('euclid', 3);
      await store.upsert(name, [record('a', [1, 2, 3], { lang: 'en' }), record('b', [4, 5, 6])]);
      await store.upsert(name, [record('a', [0.5, 0.25, -1], { lang: 'de', page: 2 }, 'replaced')]);
      expect(await store.count(name)).toBe(2);
      const stored = await store.get(name, 'a');
      expect(stored?.id).toBe('a');
      expect(stored?.text).toBe('replaced');
      expect(stored?.metadata).toEqual({ lang: 'de', page: 2 });
      expect(stored?.vector).toEqual([0.5, 0.25, -1]); // exactly representable in float32
      expect(await store.get(name, 'missing')).toBeNull();
      const [hit] = await store.search(name, { vector: [0.5, 0.25, -1], topK: 1 });
      expect(hit).toMatchObject({ id: 'a', text: 'replaced', metadata: { lang: 'de', page: 2 } });
    });

    it('keeps the later of two records with one id in a batch, and keeps a null text', async (context) => {
      if (store === null) return context.skip();
      const { name } = await collection('euclid', 2);
      await store.upsert(name, [record('x', [1, 1], { v: 1 }), record('x', [2, 2], { v: 2 }, null)]);
      expect(await store.count(name)).toBe(1);
      expect(await store.get(name, 'x')).toEqual({ id: 'x', vector: [2, 2], text: null, metadata: { v: 2 } });
    });

    it('answers cosine similarity, best first, matching a hand-computed value', async (context) => {
      if (store === null) return context.skip();
      const { name } = await collection('cosine', 3);
      await store.upsert(name, [record('same', [2, 0, 0]), record('near', [1, 1, 0]), record('far', [-1, 0, 0]), record('odd', [1, 2, 2])]);
      const hits = await store.search(name, { vector: [1, 0, 0], topK: 10 });
      expect(hits.map((hit) => hit.id)).toEqual(['same', 'near', 'odd', 'far']);
      expect(hits[0]?.score).toBeCloseTo(1, 5);
      expect(hits[1]?.score).toBeCloseTo(Math.SQRT1_2, 5); // (1·1 + 0·1) / (1 · √2)
      expect(hits[2]?.score).toBeCloseTo(1 / 3, 5); // 1 / (1 · 3)
      expect(hits[3]?.score).toBeCloseTo(-1, 5);
      expect(hits[0]).toMatchObject({ text: 'text of same', metadata: {} });
    });

    it('never ranks a zero vector (no direction) above a real match in a cosine collection', async (context) => {
      if (store === null) return context.skip();
      const { name } = await collection('cosine', 3);
      await store.upsert(name, [record('zero', [0, 0, 0]), record('near', [1, 0.1, 0]), record('opposite', [-1, 0, 0])]);
      const hits = await store.search(name, { vector: [1, 0, 0], topK: 3 });
      // embedded and pgvector never find it; Qdrant gives it similarity 0.
      expect(hits.map((hit) => hit.id).filter((id) => id !== 'zero')).toEqual(['near', 'opposite']);
      const zero = hits.find((hit) => hit.id === 'zero');
      if (zero !== undefined) expect(hits.map((hit) => hit.id)).toEqual(['near', 'zero', 'opposite']);
      expect(await store.get(name, 'zero')).toMatchObject({ vector: [0, 0, 0] });
      for (const hit of await store.search(name, { vector: [0, 0, 0], topK: 3 })) expect(hit.score).toBe(0);
    });

    it('answers the inner product for dot, highest first', async (context) => {
      if (store === null) return context.skip();
      const { name } = await collection('dot', 3);
      await store.upsert(name, [record('long', [3, 0, 0]), record('short', [1, 0, 0]), record('diagonal', [2, 3, 1]), record('opposite', [-2, 0, 0])]);
      const hits = await store.search(name, { vector: [1, 0.5, 0], topK: 4 });
      expect(hits.map((hit) => hit.id)).toEqual(['diagonal', 'long', 'short', 'opposite']);
      expect(hits.map((hit) => hit.score)).toEqual([expect.closeTo(3.5, 4), expect.closeTo(3, 4), expect.closeTo(1, 4), expect.closeTo(-2, 4)]);
    });

    it('answers the euclidean distance for euclid, nearest (lowest) first', async (context) => {
      if (store === null) return context.skip();
      const { name } = await collection('euclid', 2);
      await store.upsert(name, [record('origin', [0, 0]), record('three-four', [3, 4]), record('one', [1, 0])]);
      const hits = await store.search(name, { vector: [0, 0], topK: 3 });
      expect(hits.map((hit) => hit.id)).toEqual(['origin', 'one', 'three-four']);
      expect(hits.map((hit) => hit.score)).toEqual([expect.closeTo(0, 5), expect.closeTo(1, 5), expect.closeTo(5, 5)]);
    });

    it('answers at most topK hits, the closest ones', async (context) => {
      if (store === null) return context.skip();
      const { name } = await collection('euclid', 1);
      await store.upsert(
        name,
        Array.from({ length: 50 }, (_, index) => record(`p${String(index).padStart(2, '0')}`, [index])),
      );
      const hits = await store.search(name, { vector: [10.2], topK: 5 });
      expect(hits.map((hit) => hit.id)).toEqual(['p10', 'p11', 'p09', 'p12', 'p08']);
      expect(await store.search(name, { vector: [0], topK: 100 })).toHaveLength(50);
    });

    it('filters on metadata: equality, membership, AND, no match — the top k of the matching records', async (context) => {
      if (store === null) return context.skip();
      const { name } = await collection('cosine', 2);
      // 200 records, 4 of them `rare`, all four far from the query: a search that
      // took the unfiltered nearest and filtered them afterwards would find none.
      const records = Array.from({ length: 200 }, (_, index) => {
        const rare = index % 50 === 7;
        const angle = rare ? Math.PI - index / 1_000 : index / 100;
        return record(`r${index}`, [Math.cos(angle), Math.sin(angle)], {
          kind: rare ? 'rare' : 'common',
          page: index % 3,
          published: index % 2 === 0,
        });
      });
      await store.upsert(name, records);
      const query = { vector: [1, 0], topK: 3 };
      const rare = await store.search(name, { ...query, filter: { kind: 'rare' } });
      expect(rare.map((hit) => hit.id)).toEqual(['r157', 'r107', 'r57']);
      expect(rare.every((hit) => hit.metadata['kind'] === 'rare')).toBe(true);
      const inPages = await store.search(name, { ...query, topK: 10, filter: { page: { in: [1, 2] } } });
      expect(inPages.map((hit) => hit.id)).toEqual(['r1', 'r2', 'r4', 'r5', 'r8', 'r10', 'r11', 'r13', 'r14', 'r16']);
      const both = await store.search(name, { ...query, filter: { kind: 'common', published: true, page: { in: [0] } } });
      expect(both.map((hit) => hit.id)).toEqual(['r0', 'r6', 'r12']);
      expect(await store.search(name, { ...query, filter: { kind: 'none' } })).toEqual([]);
      expect(await store.search(name, { ...query, filter: { missing: 'field' } })).toEqual([]);
      expect(await store.search(name, { ...query, filter: { page: { in: [] } } })).toEqual([]);
      // A boolean matches a boolean, never the number 1 or the string "true".
      expect((await store.search(name, { ...query, topK: 200, filter: { published: true } })).length).toBe(100);
      expect(await store.search(name, { ...query, filter: { page: true } })).toEqual([]);
      expect(await store.search(name, { ...query, filter: { kind: 1 } })).toEqual([]);
    });

    it('deletes by ids, by filter and by both, answering how many went', async (context) => {
      if (store === null) return context.skip();
      const { name } = await collection('cosine', 2);
      await store.upsert(
        name,
        Array.from({ length: 10 }, (_, index) => record(`d${index}`, [1, index], { group: index < 5 ? 'low' : 'high', even: index % 2 === 0 })),
      );
      expect(await store.delete(name, { ids: ['d0', 'd1', 'nope'] })).toBe(2);
      expect(await store.get(name, 'd0')).toBeNull();
      expect(await store.delete(name, { filter: { group: 'low' } })).toBe(3);
      expect(await store.delete(name, { ids: ['d5', 'd6', 'd7'], filter: { even: true } })).toBe(1);
      expect(await store.get(name, 'd6')).toBeNull();
      expect(await store.count(name)).toBe(4);
      expect(await store.delete(name, { filter: { group: 'none' } })).toBe(0);
      expect((await store.search(name, { vector: [1, 1], topK: 10 })).map((hit) => hit.id).sort()).toEqual(['d5', 'd7', 'd8', 'd9']);
    });

    it('scans every record once, page by page', async (context) => {
      if (store === null) return context.skip();
      const { name } = await collection('euclid', 2);
      const ids = Array.from({ length: 23 }, (_, index) => `s-${index}`);
      await store.upsert(
        name,
        ids.map((id, index) => record(id, [index, -index], { index })),
      );
      const seen: VectorRecord[] = [];
      let afterId: string | null = null;
      for (;;) {
        const page: VectorRecord[] = await store.scan(name, afterId, 5);
        expect(page.length).toBeLessThanOrEqual(5);
        if (page.length === 0) break;
        seen.push(...page);
        afterId = page[page.length - 1]!.id;
      }
      expect(seen.map((item) => item.id).sort()).toEqual([...ids].sort());
      const first = seen.find((item) => item.id === 's-7');
      expect(first).toEqual({ id: 's-7', vector: [7, -7], text: 'text of s-7', metadata: { index: 7 } });
    });

    it('refuses a vector of another size before writing anything, naming both sizes', async (context) => {
      if (store === null) return context.skip();
      const { name } = await collection('cosine', 3);
      await store.upsert(name, [record('kept', [1, 0, 0])]);
      const error = await store.upsert(name, [record('kept', [0, 1, 0], { changed: true }), record('new', [1, 2, 3]), record('wrong', [1, 2])]).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(VectorSizeMismatch);
      expect(error).toMatchObject({ expected: 3, actual: 2 });
      expect((error as Error).message).toMatch(/2.*3|3.*2/);
      expect(await store.count(name)).toBe(1);
      expect(await store.get(name, 'kept')).toMatchObject({ metadata: {} });
      await expect(store.search(name, { vector: [1, 0], topK: 1 })).rejects.toBeInstanceOf(VectorSizeMismatch);
    });

    it('leaves one consistent record when concurrent upserts write the same ids', async (context) => {
      if (store === null) return context.skip();
      const { name } = await collection('euclid', 4);
      const writers = Array.from({ length: 8 }, (_, writer) =>
        store!.upsert(
          name,
          ['shared-1', 'shared-2', `own-${writer}`].map((id) => record(id, [writer, writer, writer, writer], { writer }, `writer ${writer}`)),
        ),
      );
      await Promise.all(writers);
      expect(await store.count(name)).toBe(10);
      for (const id of ['shared-1', 'shared-2']) {
        const stored = await store.get(name, id);
        const writer = stored?.metadata['writer'] as number;
        // Vector, text and metadata all come from the same writer.
        expect(stored).toEqual({ id, vector: [writer, writer, writer, writer], text: `writer ${writer}`, metadata: { writer } });
      }
    });
  });
}
