// `node bench/vector-bench.ts` (part of `npm run bench`): vector search.
// Seeded random vectors, cosine, 384 dimensions (the `general` model's size),
// go into
//   - the embedded backend (sqlite-vec, exact): 100,000 vectors uniform in
//     [-1, 1);
//   - the pgvector backend with its HNSW index, on PGlite (PostgreSQL in
//     WASM, single-threaded) with the real pgvector, over the wire protocol:
//     20,000 vectors (BENCH_PGVECTOR_N), because PGlite takes milliseconds a
//     row to parse and store them. They are loaded through the store with
//     its HNSW index dropped, and the index is then rebuilt from its own
//     definition (pg_get_indexdef): one bulk build, as after a restore.
//     By default the vectors are clustered like embeddings (200 centres,
//     noise around each); BENCH_PGVECTOR_DATA=uniform gives uniform random
//     vectors, HNSW's worst case: in 384 dimensions their nearest neighbours
//     are barely nearer than any other vector, and recall collapses.
// Each answers top-10 searches, timed (p50/p99), and their hits are compared
// with a brute-force top 10 in float64: recall@10. Prints a table for
// docs/benchmarks.md.
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { openEmbeddedVectorStore } from '../src/vectors/embedded-vector-store.ts';
import { openPgvectorStore } from '../src/vectors/pgvector-vector-store.ts';
import type { VectorRecord, VectorStore } from '../src/vectors/vector-store.ts';
import { startPgliteServer } from '../test/support/pglite-server.ts';

const dimensions = 384;
const embeddedCount = Number(process.env['BENCH_EMBEDDED_N'] ?? 100_000);
const pgvectorCount = Number(process.env['BENCH_PGVECTOR_N'] ?? 20_000);
const pgvectorData = process.env['BENCH_PGVECTOR_DATA'] === 'uniform' ? 'uniform' : 'clustered';
const queryCount = Number(process.env['BENCH_QUERIES'] ?? 100);
const recallQueries = Number(process.env['BENCH_RECALL_QUERIES'] ?? 30);
const topK = 10;

/** mulberry32: small, seeded, good enough for benchmark data. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4_294_967_296;
  };
}

type Shape = 'uniform' | 'clustered';

function vectors(count: number, seed: number, shape: Shape): Float32Array[] {
  const next = random(seed);
  const centres = vectorsOf(200, random(99));
  if (shape === 'uniform') return vectorsOf(count, next);
  return Array.from({ length: count }, () => {
    const centre = centres[Math.floor(next() * centres.length)] as Float32Array;
    return Float32Array.from(centre, (value) => value + (next() * 2 - 1) * 0.75);
  });
}

function vectorsOf(count: number, next: () => number): Float32Array[] {
  return Array.from({ length: count }, () => Float32Array.from({ length: dimensions }, () => next() * 2 - 1));
}

/** The exact top k by cosine similarity, in float64 over the stored (float32) values. */
function bruteForce(data: Float32Array[], query: Float32Array): string[] {
  let queryNorm = 0;
  for (const value of query) queryNorm += value * value;
  const scored = data.map((vector, index) => {
    let dot = 0;
    let norm = 0;
    for (let position = 0; position < dimensions; position++) {
      dot += (vector[position] as number) * (query[position] as number);
      norm += (vector[position] as number) ** 2;
    }
    return { id: `v${index}`, score: dot / Math.sqrt(norm * queryNorm) };
  });
  return scored
    .sort((left, right) => right.score - left.score)
    .slice(0, topK)
    .map((hit) => hit.id);
}

async function load(store: VectorStore, data: Float32Array[], batch: number, bulk?: BulkLoad): Promise<number> {
  await store.ensureCollection({ name: 'bench', vectorSize: dimensions, distance: 'cosine' });
  const started = performance.now();
  await bulk?.before();
  for (let start = 0; start < data.length; start += batch) {
    const records: VectorRecord[] = data.slice(start, start + batch).map((vector, offset) => ({
      id: `v${start + offset}`,
      vector: Array.from(vector),
      text: null,
      metadata: { shard: (start + offset) % 10 },
    }));
    await store.upsert('bench', records);
  }
  await bulk?.after();
  return performance.now() - started;
}

interface BulkLoad {
  before(): Promise<void>;
  after(): Promise<void>;
}

let hnswUsed: boolean | null = null;

/** Drops the pgvector collection's HNSW index for the load and rebuilds it from its own definition. */
function withoutHnswDuringLoad(url: string): BulkLoad {
  const client = new pg.Client(url);
  let definition = '';
  return {
    async before() {
      await client.connect();
      const { rows } = await client.query<{ name: string; definition: string }>(
        `SELECT indexname AS name, pg_get_indexdef(format('%I', indexname)::regclass) AS definition FROM pg_indexes WHERE indexname LIKE '%_hnsw'`,
      );
      const index = rows[0];
      if (index === undefined) throw new Error('The pgvector collection has no HNSW index.');
      definition = index.definition;
      await client.query(`DROP INDEX ${pg.escapeIdentifier(index.name)}`);
    },
    async after() {
      await client.query(definition);
      await client.query('ANALYZE');
      // The plan the store's search gets (ef_search as it sets it for top 10): is the HNSW index read?
      const table = /ON (?:\S+\.)?(\S+) USING/.exec(definition)?.[1] ?? '';
      await client.query('BEGIN');
      await client.query(`SELECT set_config('hnsw.ef_search', '100', true)`);
      const probe = `[${Array.from({ length: dimensions }, () => 0.1).join(',')}]`;
      const { rows } = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN SELECT id FROM ${table} ORDER BY embedding <=> $1::vector LIMIT 10`, [probe]);
      await client.query('COMMIT');
      hnswUsed = rows.some((row) => /Index Scan using \S+_hnsw/.test(row['QUERY PLAN']));
      await client.end();
    },
  };
}

interface Result {
  backend: string;
  count: number;
  loadS: number;
  p50: number;
  p99: number;
  filteredP50: number;
  recall: number;
}

async function measure(backend: string, store: VectorStore, data: Float32Array[], shape: Shape, batch: number, bulk?: BulkLoad): Promise<Result> {
  const loadMs = await load(store, data, batch, bulk);
  const queries = vectors(queryCount, 7, shape);
  await store.search('bench', { vector: Array.from(queries[0] as Float32Array), topK }); // warm up
  const times: number[] = [];
  const answers: string[][] = [];
  for (const query of queries) {
    const started = performance.now();
    const hits = await store.search('bench', { vector: Array.from(query), topK });
    times.push(performance.now() - started);
    answers.push(hits.map((hit) => hit.id));
  }
  const filtered: number[] = [];
  for (const query of queries.slice(0, 20)) {
    const started = performance.now();
    await store.search('bench', { vector: Array.from(query), topK, filter: { shard: 3 } });
    filtered.push(performance.now() - started);
  }
  let found = 0;
  for (let index = 0; index < recallQueries; index++) {
    const truth = new Set(bruteForce(data, queries[index] as Float32Array));
    found += (answers[index] ?? []).filter((id) => truth.has(id)).length;
  }
  return {
    backend,
    count: data.length,
    loadS: loadMs / 1_000,
    p50: percentile(times, 0.5),
    p99: percentile(times, 0.99),
    filteredP50: percentile(filtered, 0.5),
    recall: found / (recallQueries * topK),
  };
}

function percentile(values: number[], share: number): number {
  const sorted = [...values].sort((left, right) => left - right);
  return sorted[Math.min(sorted.length - 1, Math.floor(share * sorted.length))] as number;
}

async function measurePgvector(): Promise<Result> {
  const pglite = await startPgliteServer();
  try {
    const pgvector = await openPgvectorStore({ url: pglite.url, poolSize: 1 });
    const data = vectors(pgvectorCount, 1, pgvectorData);
    const result = await measure(`pgvector (HNSW, on PGlite), ${pgvectorData}`, pgvector, data, pgvectorData, 500, withoutHnswDuringLoad(pglite.url));
    await pgvector.close();
    return result;
  } finally {
    await pglite.stop();
  }
}

async function main(): Promise<void> {
  const benchStarted = performance.now();
  const results: Result[] = [];
  const dataDir = mkdtempSync(join(tmpdir(), 'switchyard-vector-bench-'));
  try {
    const embedded = openEmbeddedVectorStore({ dataDir });
    results.push(await measure('embedded (sqlite-vec, exact), uniform', embedded, vectors(embeddedCount, 1, 'uniform'), 'uniform', 1_000));
    await embedded.close();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
  if (pgvectorCount > 0) results.push(await measurePgvector());
  console.log(`\nVector search, ${dimensions} dimensions, cosine, top ${topK}; ${queryCount} queries, recall over ${recallQueries}`);
  console.log(`Node ${process.versions.node}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, load ${loadavg()[0]?.toFixed(2)}\n`);
  console.log('| backend, data | vectors | load (s) | search p50 (ms) | p99 (ms) | filtered p50 (ms, 1 in 10 match) | recall@10 |');
  console.log('|---|---|---|---|---|---|---|');
  for (const result of results) {
    console.log(
      `| ${result.backend} | ${result.count.toLocaleString('en')} | ${result.loadS.toFixed(1)} | ${result.p50.toFixed(1)} | ${result.p99.toFixed(1)} | ${result.filteredP50.toFixed(1)} | ${result.recall.toFixed(3)} |`,
    );
  }
  console.log(`\npgvector searches read the HNSW index: ${hnswUsed === null ? 'not measured' : hnswUsed ? 'yes' : 'NO (the planner chose a sequential scan)'}`);
  console.log(`bench ran ${((performance.now() - benchStarted) / 1_000).toFixed(0)} s`);
}

await main();
