import type BetterSqlite3 from 'better-sqlite3';
import { vectorNorm } from './prepare-vector-batch.ts';
import { sqliteMetadataCondition, type SqlCondition } from './sqlite-metadata-filter.ts';
import { VectorCollectionNotFound, VectorSizeMismatch, type MetadataFilter, type VectorDistance, type VectorHit } from './vector-store.ts';

/**
 * The embedded backend's search (see embedded-vector-store.ts for the
 * layout), on any connection to vectors.db: the store's own, or the search
 * worker's. Synchronous, as better-sqlite3 is.
 */
export interface SearchQuery {
  vector: readonly number[];
  topK: number;
  filter?: MetadataFilter;
}

interface HitRow {
  id: string;
  text: string | null;
  metadata: string;
}

export function searchEmbedded(db: BetterSqlite3.Database, collection: string, query: SearchQuery): VectorHit[] {
  const found = db
    .prepare<[string], { number: number; vector_size: number; distance: VectorDistance }>('SELECT number, vector_size, distance FROM vector_collections WHERE name = ?')
    .get(collection);
  if (found === undefined) throw new VectorCollectionNotFound(collection);
  if (query.vector.length !== found.vector_size) throw new VectorSizeMismatch(found.vector_size, query.vector.length);
  const filter = sqliteMetadataCondition('metadata', query.filter);
  const blob = float32Blob(query.vector);
  if (found.distance === 'dot') return searchByDot(db, found.number, query, blob, filter);
  // A zero vector has no direction: it is kept out of vec0, and a zero query finds nothing.
  if (found.distance === 'cosine' && vectorNorm(query.vector) === 0) return [];
  const filterClause = query.filter === undefined ? '' : `AND rowid IN (SELECT rowid FROM records_${found.number} WHERE ${filter.sql})`;
  const rows = db
    .prepare<unknown[], HitRow & { distance: number }>(
      `SELECT r.id, r.text, r.metadata, knn.distance FROM (
         SELECT rowid, distance FROM vectors_${found.number} WHERE embedding MATCH ? AND k = ? ${filterClause}
       ) AS knn JOIN records_${found.number} AS r ON r.rowid = knn.rowid
       ORDER BY knn.distance, r.id`,
    )
    .all(blob, query.topK, ...(query.filter === undefined ? [] : filter.params));
  return rows.map((row) => ({
    id: row.id,
    score: found.distance === 'cosine' ? 1 - row.distance : row.distance,
    text: row.text,
    metadata: parseMetadata(row.metadata),
  }));
}

/** vec0 has no inner product: dot(a, b) = cos(a, b)·|a|·|b| over the records table, norms stored at write time. */
function searchByDot(db: BetterSqlite3.Database, number: number, query: SearchQuery, blob: Buffer, filter: SqlCondition): VectorHit[] {
  const queryNorm = vectorNorm(query.vector);
  // A zero vector has no cosine, and its dot product is 0.
  const score = queryNorm === 0 ? '0.0' : 'CASE WHEN norm = 0 THEN 0.0 ELSE (1.0 - vec_distance_cosine(vector, ?)) * norm END';
  const rows = db
    .prepare<unknown[], HitRow & { score: number }>(`SELECT id, text, metadata, ${score} AS score FROM records_${number} WHERE ${filter.sql} ORDER BY score DESC, id LIMIT ?`)
    .all(...(queryNorm === 0 ? [] : [blob]), ...filter.params, query.topK);
  return rows.map((row) => ({ id: row.id, score: row.score * queryNorm, text: row.text, metadata: parseMetadata(row.metadata) }));
}

export function float32Blob(vector: readonly number[]): Buffer {
  const values = Float32Array.from(vector);
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
}

export function parseMetadata(text: string): Record<string, unknown> {
  return JSON.parse(text) as Record<string, unknown>;
}
