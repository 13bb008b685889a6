import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import * as sqliteVec from 'sqlite-vec';
import { prepareVectorBatch, vectorNorm } from './prepare-vector-batch.ts';
import { float32Blob, parseMetadata, searchEmbedded } from './embedded-search.ts';
import { EmbeddedSearchThread } from './embedded-search-thread.ts';
import { sqliteMetadataCondition } from './sqlite-metadata-filter.ts';
import {
  VectorCollectionConflict,
  VectorCollectionNotFound,
  type CollectionSpec,
  type MetadataFilter,
  type VectorDistance,
  type VectorHit,
  type VectorRecord,
  type VectorStore,
} from './vector-store.ts';

/**
 * The default backend: sqlite-vec in `<data_dir>/vectors.db`, no server to run.
 * Search is exact (brute force). Each collection is a row in the catalogue,
 * a table of records (id, text, JSON metadata) and, for cosine and euclid, a
 * vec0 table with the vectors under the same rowid: vec0 scans its vectors in
 * contiguous chunks, several times faster than reading one blob per row, and
 * takes a `rowid IN (...)` constraint, so a filtered search is the exact top k
 * of the matching rows. vec0 has no inner-product metric: dot collections keep
 * their vectors in the records table and are scanned with vec_distance_cosine
 * times the stored norms (slower, still exact).
 *
 * A zero vector has no direction: sqlite-vec would give it cosine distance 0
 * to everything (a perfect match). In a cosine collection it stays out of
 * vec0 — stored, never found — and a zero query finds nothing.
 */
export interface EmbeddedVectorStoreOptions {
  dataDir: string;
  /** Default vectors.db. */
  fileName?: string;
  /** Searches on a worker thread (default), so a scan of a large collection never holds the event loop. */
  searchInWorker?: boolean;
}

interface CollectionRow {
  number: number;
  vector_size: number;
  distance: VectorDistance;
}

interface RecordRow {
  rowid: number | bigint;
  id: string;
  text: string | null;
  metadata: string;
  vector?: Buffer | null;
  norm?: number;
}

const maxVectorSize = 8_192; // sqlite-vec's limit for float vectors

export function openEmbeddedVectorStore(options: EmbeddedVectorStoreOptions): EmbeddedVectorStore {
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  const file = resolve(join(options.dataDir, options.fileName ?? 'vectors.db'));
  const connection = new BetterSqlite3(file);
  try {
    sqliteVec.load(connection);
    connection.pragma('journal_mode = WAL');
    connection.pragma('synchronous = FULL');
    // Synchronous driver: a lock held elsewhere stalls the event loop, so give up soon.
    connection.pragma('busy_timeout = 1000');
    // Search reads every vector of a collection: mapped pages spare a copy per page.
    connection.pragma('mmap_size = 4294967296');
    connection.exec(`CREATE TABLE IF NOT EXISTS vector_collections (
      number INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, vector_size INTEGER NOT NULL, distance TEXT NOT NULL)`);
  } catch (error) {
    connection.close();
    throw error;
  }
  return new EmbeddedVectorStore(connection, options.searchInWorker === false ? null : new EmbeddedSearchThread(file));
}

export class EmbeddedVectorStore implements VectorStore {
  readonly backend = 'embedded';
  readonly #db: BetterSqlite3.Database;
  readonly #findCollection: BetterSqlite3.Statement<[string], CollectionRow>;
  readonly #searchThread: EmbeddedSearchThread | null;

  constructor(connection: BetterSqlite3.Database, searchThread: EmbeddedSearchThread | null = null) {
    this.#db = connection;
    this.#searchThread = searchThread;
    this.#findCollection = connection.prepare('SELECT number, vector_size, distance FROM vector_collections WHERE name = ?');
  }

  async ensureCollection(spec: CollectionSpec): Promise<void> {
    if (!Number.isInteger(spec.vectorSize) || spec.vectorSize < 1 || spec.vectorSize > maxVectorSize) {
      throw new RangeError(`Vector size must be an integer from 1 to ${maxVectorSize}, not ${spec.vectorSize}.`);
    }
    this.#db.transaction(() => {
      const existing = this.#findCollection.get(spec.name);
      if (existing !== undefined) {
        if (existing.vector_size === spec.vectorSize && existing.distance === spec.distance) return;
        throw new VectorCollectionConflict(spec.name, { vectorSize: existing.vector_size, distance: existing.distance }, spec);
      }
      const { lastInsertRowid } = this.#db
        .prepare('INSERT INTO vector_collections (name, vector_size, distance) VALUES (?, ?, ?)')
        .run(spec.name, spec.vectorSize, spec.distance);
      const number = Number(lastInsertRowid);
      this.#db.exec(`CREATE TABLE records_${number} (
        rowid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, text TEXT, metadata TEXT NOT NULL, norm REAL NOT NULL, vector BLOB)`);
      if (spec.distance !== 'dot') {
        const metric = spec.distance === 'cosine' ? 'cosine' : 'l2';
        this.#db.exec(`CREATE VIRTUAL TABLE vectors_${number} USING vec0(embedding float[${spec.vectorSize}] distance_metric=${metric})`);
      }
    })();
  }

  async dropCollection(name: string): Promise<void> {
    this.#db.transaction(() => {
      const existing = this.#findCollection.get(name);
      if (existing === undefined) return;
      this.#db.exec(`DROP TABLE IF EXISTS vectors_${existing.number}; DROP TABLE records_${existing.number}`);
      this.#db.prepare('DELETE FROM vector_collections WHERE number = ?').run(existing.number);
    })();
  }

  async upsert(collection: string, records: readonly VectorRecord[]): Promise<void> {
    const found = this.#collection(collection);
    const batch = prepareVectorBatch(records, found.vector_size);
    const { number } = found;
    const inVec0 = found.distance !== 'dot';
    const findRowid = this.#db.prepare<[string], { rowid: number | bigint }>(`SELECT rowid FROM records_${number} WHERE id = ?`).safeIntegers(true);
    const insertRecord = this.#db.prepare(`INSERT INTO records_${number} (id, text, metadata, norm, vector) VALUES (?, ?, ?, ?, ?)`);
    const updateRecord = this.#db.prepare(`UPDATE records_${number} SET text = ?, metadata = ?, norm = ?, vector = ? WHERE rowid = ?`);
    const deleteVector = inVec0 ? this.#db.prepare(`DELETE FROM vectors_${number} WHERE rowid = ?`) : null;
    const insertVector = inVec0 ? this.#db.prepare(`INSERT INTO vectors_${number} (rowid, embedding) VALUES (?, ?)`) : null;
    this.#db.transaction(() => {
      for (const record of batch) {
        const blob = float32Blob(record.vector);
        const metadata = JSON.stringify(record.metadata ?? {});
        const norm = vectorNorm(record.vector);
        const ownVector = inVec0 ? null : blob;
        const indexed = inVec0 && !(found.distance === 'cosine' && norm === 0);
        let rowid = findRowid.get(record.id)?.rowid;
        if (rowid === undefined) {
          rowid = BigInt(insertRecord.run(record.id, record.text, metadata, norm, ownVector).lastInsertRowid);
        } else {
          updateRecord.run(record.text, metadata, norm, ownVector, rowid);
          deleteVector?.run(rowid);
        }
        // vec0 wants an integer rowid; better-sqlite3 binds a BigInt as one.
        if (indexed) insertVector?.run(BigInt(rowid), blob);
      }
    })();
  }

  async search(collection: string, query: { vector: readonly number[]; topK: number; filter?: MetadataFilter }): Promise<VectorHit[]> {
    return this.#searchThread === null ? searchEmbedded(this.#db, collection, query) : this.#searchThread.search(collection, query);
  }

  async get(collection: string, id: string): Promise<VectorRecord | null> {
    const found = this.#collection(collection);
    const row = this.#db.prepare<[string], RecordRow>(`SELECT rowid, id, text, metadata, vector, norm FROM records_${found.number} WHERE id = ?`).safeIntegers(true).get(id);
    return row === undefined ? null : this.#withVectors(found, [row])[0] ?? null;
  }

  async delete(collection: string, selector: { ids?: readonly string[]; filter?: MetadataFilter }): Promise<number> {
    const found = this.#collection(collection);
    if (selector.ids === undefined && selector.filter === undefined) return 0;
    const conditions: string[] = [];
    const params: unknown[] = [];
    if (selector.ids !== undefined) {
      conditions.push('id IN (SELECT value FROM json_each(?))');
      params.push(JSON.stringify(selector.ids));
    }
    if (selector.filter !== undefined) {
      const filter = sqliteMetadataCondition('metadata', selector.filter);
      conditions.push(filter.sql);
      params.push(...filter.params);
    }
    const where = conditions.join(' AND ');
    return this.#db.transaction(() => {
      if (found.distance !== 'dot') {
        this.#db.prepare(`DELETE FROM vectors_${found.number} WHERE rowid IN (SELECT rowid FROM records_${found.number} WHERE ${where})`).run(...params);
      }
      return this.#db.prepare(`DELETE FROM records_${found.number} WHERE ${where}`).run(...params).changes;
    })();
  }

  async count(collection: string): Promise<number> {
    const found = this.#collection(collection);
    return this.#db.prepare<[], { total: number }>(`SELECT count(*) AS total FROM records_${found.number}`).get()?.total ?? 0;
  }

  async scan(collection: string, afterId: string | null, limit: number): Promise<VectorRecord[]> {
    const found = this.#collection(collection);
    const rows = this.#db
      .prepare<[string | null, string | null, number], RecordRow>(
        `SELECT rowid, id, text, metadata, vector, norm FROM records_${found.number} WHERE (? IS NULL OR id > ?) ORDER BY id LIMIT ?`,
      )
      .safeIntegers(true)
      .all(afterId, afterId, limit);
    return this.#withVectors(found, rows);
  }

  async close(): Promise<void> {
    await this.#searchThread?.close();
    if (this.#db.open) this.#db.close();
  }

  #collection(name: string): CollectionRow {
    const found = this.#findCollection.get(name);
    if (found === undefined) throw new VectorCollectionNotFound(name);
    return found;
  }

  #withVectors(found: CollectionRow, rows: RecordRow[]): VectorRecord[] {
    const readVector =
      found.distance === 'dot' ? null : this.#db.prepare<[bigint], { embedding: Buffer }>(`SELECT embedding FROM vectors_${found.number} WHERE rowid = ?`);
    return rows.map((row) => {
      const blob = readVector === null ? row.vector : readVector.get(BigInt(row.rowid))?.embedding;
      // A cosine collection's zero vectors are not in vec0 (see above).
      const vector = blob === undefined || blob === null ? new Array<number>(found.vector_size).fill(0) : float32Values(blob);
      return { id: row.id, vector, text: row.text, metadata: parseMetadata(row.metadata) };
    });
  }
}

function float32Values(blob: Buffer): number[] {
  const copy = new Uint8Array(blob); // the blob's offset need not be 4-byte aligned
  return Array.from(new Float32Array(copy.buffer, 0, copy.byteLength / 4));
}
