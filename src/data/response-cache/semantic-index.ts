/**
 * The semantic index of one prefix (everything before the last user message):
 * the vectors of the last user messages answered under it, each with the
 * exact key of its stored answer. Kept in the ByteCache beside the answers,
 * bounded (the newest `maxEntries` kept), vectors as float32.
 */
export interface IndexEntry {
  /** The answer's exact key. */
  key: string;
  vector: Float32Array;
}

export const maxIndexEntries = 256;

export function encodeIndex(entries: readonly IndexEntry[]): Buffer {
  return Buffer.from(JSON.stringify(entries.map((entry) => ({ k: entry.key, v: Buffer.from(entry.vector.buffer, entry.vector.byteOffset, entry.vector.byteLength).toString('base64') }))));
}

/** An index that does not parse (another version wrote it) is an empty one. */
export function decodeIndex(bytes: Buffer | null): IndexEntry[] {
  if (bytes === null) return [];
  try {
    const raw: unknown = JSON.parse(bytes.toString('utf8'));
    if (!Array.isArray(raw)) return [];
    const entries: IndexEntry[] = [];
    for (const item of raw) {
      const { k, v } = (item ?? {}) as { k?: unknown; v?: unknown };
      if (typeof k !== 'string' || typeof v !== 'string') continue;
      const buffer = Buffer.from(v, 'base64');
      entries.push({ key: k, vector: new Float32Array(buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength)) });
    }
    return entries;
  } catch {
    return [];
  }
}

/** Adds (or moves to newest) one entry, keeping at most `maxIndexEntries`. */
export function withEntry(entries: readonly IndexEntry[], added: IndexEntry): IndexEntry[] {
  const kept = entries.filter((entry) => entry.key !== added.key);
  kept.push(added);
  return kept.slice(-maxIndexEntries);
}

/** Unit length, so a dot product is the cosine similarity. */
export function normalized(vector: readonly number[]): Float32Array {
  let norm = 0;
  for (const value of vector) norm += value * value;
  const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
  return Float32Array.from(vector, (value) => value * scale);
}

/** The nearest entry at or above `threshold`, with its similarity; null when none is that close. */
export function nearest(entries: readonly IndexEntry[], query: Float32Array, threshold: number): { entry: IndexEntry; similarity: number } | null {
  let best: { entry: IndexEntry; similarity: number } | null = null;
  for (const entry of entries) {
    if (entry.vector.length !== query.length) continue;
    let dot = 0;
    for (let index = 0; index < query.length; index++) dot += (query[index] as number) * (entry.vector[index] as number);
    // float32 rounding: identical texts score 0.9999999, which must still pass `similarity: 1`.
    if (dot >= threshold - 1e-6 && (best === null || dot > best.similarity)) best = { entry, similarity: dot };
  }
  return best;
}
