import pg from 'pg';
import { postgresMetadataCondition } from './postgres-metadata-filter.ts';
import { prepareVectorBatch, vectorNorm } from './prepare-vector-batch.ts';
import {
  VectorCollectionConflict,
  VectorCollectionNotFound,
  VectorSizeMismatch,
  type CollectionSpec,
  type MetadataFilter,
  type VectorDistance,
  type VectorHit,
  type VectorRecord,
  type VectorStore,
} from './vector-store.ts';

/**
 * PostgreSQL with pgvector: the store several replicas share. One table per
 * collection (an HNSW index needs one dimension), named after its row in a
 * catalogue table, with an HNSW index of the distance's operator class and a
 * GIN index on the jsonb metadata.
 *
 * HNSW indexes `vector` up to 2,000 dimensions and `halfvec` up to 4,000:
 * larger collections (4,096-dimensional models) get an HNSW index on the
 * vectors cast to halfvec, and beyond 4,000 none (exact scans). A search reads
 * the index with ef_search ≥ top_k and, when filtered, pgvector's iterative
 * scan; should that answer fewer than top_k hits, it runs again exactly
 * (index scans off: the metadata index, then exact distances), so a selective
 * filter never loses matches. Scores are always exact distances.
 */
export interface PgvectorStoreOptions {
  url: string;
  /** A schema of its own (tests); the extension's schema `public` stays on the search path. */
  schema?: string;
  /** Connections in the pool; PGlite, one session for all, needs 1. */
  poolSize?: number;
  /** A pooled connection that fails outside a query (logged by the caller, never a crash). */
  onConnectionError?: (error: Error) => void;
}

export class PgvectorUnavailable extends Error {
  constructor(detail: string) {
    super(
      `The pgvector vector backend needs the PostgreSQL extension "vector" (pgvector), and CREATE EXTENSION IF NOT EXISTS vector failed: ${detail}. ` +
        'Install pgvector on that server (or have an administrator create the extension), or choose another backend with SWITCHYARD_VECTOR_BACKEND.',
    );
    this.name = 'PgvectorUnavailable';
  }
}

interface CollectionRow {
  number: number;
  vector_size: number;
  distance: VectorDistance;
}

interface RecordRow {
  id: string;
  text: string | null;
  metadata: Record<string, unknown>;
}

const catalogue = 'switchyard_vector_collections';
const maxVectorSize = 16_000; // pgvector's limit for the vector type
const operators: Record<VectorDistance, { operator: string; opclass: string }> = {
  cosine: { operator: '<=>', opclass: 'cosine_ops' },
  dot: { operator: '<#>', opclass: 'ip_ops' },
  euclid: { operator: '<->', opclass: 'l2_ops' },
};
const upsertChunk = 256;

export async function openPgvectorStore(options: PgvectorStoreOptions): Promise<PgvectorVectorStore> {
  if (options.schema !== undefined && !/^[a-z_][a-z0-9_]*$/.test(options.schema)) throw new RangeError(`Unusable schema name ${options.schema}.`);
  // The startup `options` string splits on spaces: no space after the comma.
  const searchPath = options.schema === undefined ? undefined : `${options.schema},public`;
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: 5_000,
    query_timeout: 30_000,
    ...(searchPath === undefined ? {} : { options: `-c search_path=${searchPath}` }),
  });
  const onConnectionError = options.onConnectionError ?? (() => undefined);
  pool.on('error', onConnectionError);
  pool.on('connect', (client) => client.on('error', onConnectionError));
  try {
    if (options.schema !== undefined) await pool.query(`CREATE SCHEMA IF NOT EXISTS ${pg.escapeIdentifier(options.schema)}`);
    await createExtension(pool);
    await inTransaction(pool, async (client) => {
      await lockCatalogue(client);
      await client.query(`CREATE TABLE IF NOT EXISTS ${catalogue} (
        name text PRIMARY KEY, number serial UNIQUE, vector_size integer NOT NULL, distance text NOT NULL)`);
    });
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw error;
  }
  return new PgvectorVectorStore(pool);
}

async function createExtension(pool: pg.Pool): Promise<void> {
  try {
    await pool.query('CREATE EXTENSION IF NOT EXISTS vector');
  } catch (error) {
    const code = (error as { code?: string }).code;
    // Two replicas creating it at once: the loser sees a unique violation, and the extension is there.
    if (code === '23505') return;
    throw new PgvectorUnavailable(`${(error as Error).message}${code === undefined ? '' : ` (${code})`}`);
  }
}

export class PgvectorVectorStore implements VectorStore {
  readonly backend = 'pgvector';
  readonly #pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  async ensureCollection(spec: CollectionSpec): Promise<void> {
    if (!Number.isInteger(spec.vectorSize) || spec.vectorSize < 1 || spec.vectorSize > maxVectorSize) {
      throw new RangeError(`Vector size must be an integer from 1 to ${maxVectorSize}, not ${spec.vectorSize}.`);
    }
    await inTransaction(this.#pool, async (client) => {
      await lockCatalogue(client);
      const existing = await findCollection(client, spec.name);
      if (existing !== null) {
        if (existing.vector_size === spec.vectorSize && existing.distance === spec.distance) return;
        throw new VectorCollectionConflict(spec.name, { vectorSize: existing.vector_size, distance: existing.distance }, spec);
      }
      const { rows } = await client.query<{ number: number }>(
        `INSERT INTO ${catalogue} (name, vector_size, distance) VALUES ($1, $2, $3) RETURNING number`,
        [spec.name, spec.vectorSize, spec.distance],
      );
      const table = tableName(rows[0]!.number);
      await client.query(`CREATE TABLE ${table} (
        id text COLLATE "C" PRIMARY KEY, embedding vector(${spec.vectorSize}) NOT NULL, text text, metadata jsonb NOT NULL DEFAULT '{}')`);
      const indexed = indexedExpression(spec.vectorSize);
      if (indexed !== null) {
        const opclass = `${indexed.type}_${operators[spec.distance].opclass}`;
        await client.query(`CREATE INDEX ${table}_hnsw ON ${table} USING hnsw ((${indexed.expression}) ${opclass})`);
      }
      await client.query(`CREATE INDEX ${table}_metadata ON ${table} USING gin (metadata jsonb_path_ops)`);
    });
  }

  async dropCollection(name: string): Promise<void> {
    await inTransaction(this.#pool, async (client) => {
      await lockCatalogue(client);
      const existing = await findCollection(client, name);
      if (existing === null) return;
      await client.query(`DROP TABLE IF EXISTS ${tableName(existing.number)}`);
      await client.query(`DELETE FROM ${catalogue} WHERE name = $1`, [name]);
    });
  }

  async upsert(collection: string, records: readonly VectorRecord[]): Promise<void> {
    await inTransaction(this.#pool, async (client) => {
      const found = await requireCollection(client, collection);
      const batch = prepareVectorBatch(records, found.vector_size);
      const table = tableName(found.number);
      for (let start = 0; start < batch.length; start += upsertChunk) {
        const chunk = batch.slice(start, start + upsertChunk);
        await client.query(
          `INSERT INTO ${table} (id, embedding, text, metadata)
           SELECT * FROM unnest($1::text[], $2::vector[], $3::text[], $4::jsonb[])
           ON CONFLICT (id) DO UPDATE SET embedding = excluded.embedding, text = excluded.text, metadata = excluded.metadata`,
          [
            chunk.map((record) => record.id),
            chunk.map((record) => vectorLiteral(record.vector)),
            chunk.map((record) => record.text),
            chunk.map((record) => JSON.stringify(record.metadata ?? {})),
          ],
        );
      }
    });
  }

  async search(collection: string, query: { vector: readonly number[]; topK: number; filter?: MetadataFilter }): Promise<VectorHit[]> {
    let distance: VectorDistance = 'cosine';
    const rows = await inTransaction(this.#pool, async (client) => {
      const found = await requireCollection(client, collection);
      distance = found.distance;
      if (query.vector.length !== found.vector_size) throw new VectorSizeMismatch(found.vector_size, query.vector.length);
      if (found.distance === 'cosine' && vectorNorm(query.vector) === 0) return [];
      const table = tableName(found.number);
      const { operator } = operators[found.distance];
      const indexed = indexedExpression(found.vector_size);
      const filter = postgresMetadataCondition('metadata', query.filter, 3);
      const order = indexed === null ? `embedding ${operator} $1::vector` : `${indexed.expression} ${operator} $1::${indexed.type}(${found.vector_size})`;
      const text = `SELECT id, text, metadata, embedding ${operator} $1::vector AS distance FROM ${table} WHERE ${filter.sql} ORDER BY ${order} LIMIT $2`;
      const params = [vectorLiteral(query.vector), query.topK, ...filter.params];
      if (indexed !== null) {
        await client.query(`SELECT set_config('hnsw.ef_search', $1, true)`, [String(Math.min(1_000, Math.max(100, query.topK)))]);
        if (query.filter !== undefined) await client.query(`SELECT set_config('hnsw.iterative_scan', 'strict_order', true)`);
        const approximate = await client.query<RecordRow & { distance: number }>(text, params);
        if (approximate.rows.length >= query.topK) return approximate.rows;
        await client.query(`SELECT set_config('enable_indexscan', 'off', true)`);
      }
      return (await client.query<RecordRow & { distance: number }>(text, params)).rows;
    });
    // The halfvec index orders by half-precision distances: put the exact ones in order.
    // A zero vector's cosine distance is NaN (no direction), and it sorts last: it matches nothing.
    return rows
      .filter((row) => !Number.isNaN(row.distance))
      .sort((left, right) => left.distance - right.distance || (left.id < right.id ? -1 : 1))
      .map((row) => ({ id: row.id, score: scoreOf(distance, row.distance), text: row.text, metadata: row.metadata }));
  }

  async get(collection: string, id: string): Promise<VectorRecord | null> {
    return inTransaction(this.#pool, async (client) => {
      const found = await requireCollection(client, collection);
      const { rows } = await client.query<RecordRow & { embedding: string }>(
        `SELECT id, embedding::text AS embedding, text, metadata FROM ${tableName(found.number)} WHERE id = $1`,
        [id],
      );
      return rows[0] === undefined ? null : toRecord(rows[0]);
    });
  }

  async delete(collection: string, selector: { ids?: readonly string[]; filter?: MetadataFilter }): Promise<number> {
    if (selector.ids === undefined && selector.filter === undefined) return 0;
    return inTransaction(this.#pool, async (client) => {
      const found = await requireCollection(client, collection);
      const filter = postgresMetadataCondition('metadata', selector.filter, 2);
      const result = await client.query(`DELETE FROM ${tableName(found.number)} WHERE ($1::text[] IS NULL OR id = ANY($1::text[])) AND ${filter.sql}`, [
        selector.ids === undefined ? null : [...selector.ids],
        ...filter.params,
      ]);
      return result.rowCount ?? 0;
    });
  }

  async count(collection: string): Promise<number> {
    return inTransaction(this.#pool, async (client) => {
      const found = await requireCollection(client, collection);
      const { rows } = await client.query<{ total: number }>(`SELECT count(*)::integer AS total FROM ${tableName(found.number)}`);
      return rows[0]?.total ?? 0;
    });
  }

  async scan(collection: string, afterId: string | null, limit: number): Promise<VectorRecord[]> {
    return inTransaction(this.#pool, async (client) => {
      const found = await requireCollection(client, collection);
      const { rows } = await client.query<RecordRow & { embedding: string }>(
        `SELECT id, embedding::text AS embedding, text, metadata FROM ${tableName(found.number)}
         WHERE ($1::text IS NULL OR id > $1::text) ORDER BY id LIMIT $2`,
        [afterId, limit],
      );
      return rows.map(toRecord);
    });
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }
}

/** What the HNSW index covers, by size: the vectors themselves, their halfvec cast, or nothing. */
function indexedExpression(vectorSize: number): { expression: string; type: 'vector' | 'halfvec' } | null {
  if (vectorSize <= 2_000) return { expression: 'embedding', type: 'vector' };
  if (vectorSize <= 4_000) return { expression: `(embedding::halfvec(${vectorSize}))`, type: 'halfvec' };
  return null;
}

/** pgvector answers distances: cosine distance is 1 − similarity, and `<#>` is the negative inner product. */
function scoreOf(distance: VectorDistance, value: number): number {
  if (distance === 'cosine') return 1 - value;
  return distance === 'dot' ? -value : value;
}

function tableName(number: number): string {
  return `switchyard_vectors_${number}`;
}

/** Serialises catalogue changes across replicas (CREATE TABLE IF NOT EXISTS races on its own). */
async function lockCatalogue(client: pg.PoolClient): Promise<void> {
  await client.query(`SELECT pg_advisory_xact_lock(hashtext('${catalogue}'))`);
}

async function findCollection(client: pg.PoolClient, name: string): Promise<CollectionRow | null> {
  const { rows } = await client.query<CollectionRow>(`SELECT number, vector_size, distance FROM ${catalogue} WHERE name = $1`, [name]);
  return rows[0] ?? null;
}

async function requireCollection(client: pg.PoolClient, name: string): Promise<CollectionRow> {
  const found = await findCollection(client, name);
  if (found === null) throw new VectorCollectionNotFound(name);
  return found;
}

async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

function vectorLiteral(vector: readonly number[]): string {
  return `[${vector.join(',')}]`;
}

function toRecord(row: RecordRow & { embedding: string }): VectorRecord {
  return { id: row.id, vector: JSON.parse(row.embedding) as number[], text: row.text, metadata: row.metadata };
}
