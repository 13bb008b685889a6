import { VectorSizeMismatch, type VectorRecord } from './vector-store.ts';

/**
 * What every backend does to a batch before writing it: refuse it whole when
 * one vector has another size (nothing is written), keep the later of two
 * records with one id (a single SQL statement cannot update a row twice), and
 * sort by id so that concurrent batches lock rows in the same order (no
 * deadlock between two upserts that share ids).
 */
export function prepareVectorBatch(records: readonly VectorRecord[], vectorSize: number): VectorRecord[] {
  for (const record of records) {
    if (record.vector.length !== vectorSize) throw new VectorSizeMismatch(vectorSize, record.vector.length);
  }
  const byId = new Map<string, VectorRecord>();
  for (const record of records) byId.set(record.id, record);
  return [...byId.values()].sort((left, right) => compareIds(left.id, right.id));
}

/** Byte order of the UTF-8 encoding, which is SQLite's and PostgreSQL's `COLLATE "C"` order for text. */
export function compareIds(left: string, right: string): number {
  return Buffer.compare(Buffer.from(left, 'utf8'), Buffer.from(right, 'utf8'));
}

export function vectorNorm(vector: readonly number[]): number {
  let sum = 0;
  for (const value of vector) sum += value * value;
  return Math.sqrt(sum);
}
