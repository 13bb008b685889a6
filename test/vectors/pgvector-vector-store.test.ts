import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPgvectorStore, PgvectorUnavailable } from '../../src/vectors/pgvector-vector-store.ts';
import { startPgliteServer, type PgliteServer } from '../support/pglite-server.ts';
import { dropSchema, postgresAvailable, postgresUrl, uniqueSchema } from '../support/postgres.ts';
import { describeVectorStoreConformance } from './vector-store-conformance.ts';

/*
 * The pgvector backend against real pgvector code: PGlite (PostgreSQL in
 * WASM) with the pgvector extension over the wire protocol, always; and the
 * machine's PostgreSQL when that server has the extension (it is skipped,
 * loudly, when it has not: a missing extension is not a failure here).
 */
let pglite: PgliteServer | null = null;
beforeAll(async () => {
  pglite = await startPgliteServer();
});
afterAll(async () => {
  await pglite?.stop();
});

describeVectorStoreConformance('pgvector (PGlite with pgvector)', async () =>
  openPgvectorStore({ url: pglite!.url, poolSize: 1 }),
);

describe('pgvector collections too large for an HNSW index on vector', () => {
  it('search exactly at 3,000 dimensions (halfvec index) and 4,096 (no index), scores from the full vectors', async () => {
    const store = await openPgvectorStore({ url: pglite!.url, poolSize: 1 });
    try {
      for (const vectorSize of [3_000, 4_096]) {
        const name = `large_${vectorSize}`;
        await store.ensureCollection({ name, vectorSize, distance: 'cosine' });
        const axis = (index: number, weight = 1) => Array.from({ length: vectorSize }, (_, position) => (position === index ? weight : position === 0 ? 1 : 0));
        await store.upsert(name, [
          { id: 'x', vector: axis(0, 1), text: null, metadata: {} },
          { id: 'y', vector: axis(vectorSize - 1, 1), text: null, metadata: { tail: true } },
          { id: 'z', vector: axis(5, 3), text: null, metadata: { tail: true } },
        ]);
        const hits = await store.search(name, { vector: axis(vectorSize - 1, 1), topK: 3 });
        expect(hits.map((hit) => hit.id)).toEqual(['y', 'x', 'z']);
        expect(hits[1]?.score).toBeCloseTo(Math.SQRT1_2, 5);
        expect(hits[2]?.score).toBeCloseTo(1 / Math.sqrt(2 * 10), 5);
        expect((await store.search(name, { vector: axis(0), topK: 5, filter: { tail: true } })).map((hit) => hit.id)).toEqual(['y', 'z']);
        await store.dropCollection(name);
      }
    } finally {
      await store.close();
    }
  });
});

const schema = uniqueSchema('vectors');
let createdSchema = false;
afterAll(async () => {
  if (createdSchema) await dropSchema(schema);
});

describeVectorStoreConformance('pgvector (PostgreSQL at DATABASE_URL)', async () => {
  if (!(await postgresAvailable())) return null;
  createdSchema = true;
  try {
    return await openPgvectorStore({ url: postgresUrl, schema });
  } catch (error) {
    if (!(error instanceof PgvectorUnavailable)) throw error;
    process.stderr.write(`\n*** PostgreSQL at ${postgresUrl} has no pgvector: its pgvector conformance tests are SKIPPED (PGlite's ran) ***\n\n`);
    return null;
  }
});

describe('the pgvector backend on a PostgreSQL without the extension', () => {
  it('refuses to start with an error that names pgvector and what to do', async (context) => {
    if (!(await postgresAvailable())) return context.skip();
    const own = uniqueSchema('novector');
    try {
      const store = await openPgvectorStore({ url: postgresUrl, schema: own }).catch((error: unknown) => error);
      if (!(store instanceof Error)) {
        await (store as { close(): Promise<void> }).close();
        process.stderr.write(`\n*** PostgreSQL at ${postgresUrl} has pgvector: the missing-extension test is SKIPPED ***\n\n`);
        return context.skip();
      }
      expect(store).toBeInstanceOf(PgvectorUnavailable);
      expect(store.message).toMatch(/CREATE EXTENSION IF NOT EXISTS vector failed: .*extension "vector"/);
      expect(store.message).toContain('SWITCHYARD_VECTOR_BACKEND');
    } finally {
      await dropSchema(own);
    }
  });
});
