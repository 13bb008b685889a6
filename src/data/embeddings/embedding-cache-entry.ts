import { createHash } from 'node:crypto';

/**
 * How one embedding is kept in the cache: its Float32 bytes, little-endian
 * (1.5 KiB for 384 dimensions, against ~8 KiB as JSON text). Answers are
 * rounded to Float32 whether they came from the cache or not, so a hit and a
 * miss answer the same numbers (servers compute in float32 or less anyway).
 */
export function encodeVector(vector: readonly number[]): Buffer {
  const bytes = Buffer.allocUnsafe(vector.length * 4);
  for (let index = 0; index < vector.length; index++) bytes.writeFloatLE(vector[index] as number, index * 4);
  return bytes;
}

export function decodeVector(bytes: Buffer): number[] {
  const vector: number[] = new Array(bytes.length >> 2);
  for (let index = 0; index < vector.length; index++) vector[index] = bytes.readFloatLE(index * 4);
  return vector;
}

export function toFloat32(vector: readonly number[]): number[] {
  return vector.map((value) => Math.fround(value));
}

/** OpenAI's `encoding_format: "base64"`: the Float32 little-endian bytes, base64. */
export function vectorBase64(vector: readonly number[]): string {
  return encodeVector(vector).toString('base64');
}

/**
 * What a cached vector depends on: the model id the servers serve (not the
 * name asked for: two routes to one model share entries), the dimension asked
 * for (`native` when none), the other fields that change the output, and the
 * text. The text is hashed so no prompt is kept in a key.
 */
export function embeddingCacheKey(scope: string, text: string): string {
  return `emb:v1:${scope}:${createHash('sha256').update(text).digest('base64url')}`;
}

/** The part of the key shared by every text of one request. */
export function embeddingCacheScope(servedModel: string, dimensions: number | undefined, options: Readonly<Record<string, unknown>>): string {
  const extra = Object.keys(options).length === 0 ? '' : `:${createHash('sha256').update(stableJson(options)).digest('base64url').slice(0, 16)}`;
  return `${createHash('sha256').update(servedModel).digest('base64url').slice(0, 22)}:${dimensions ?? 'native'}${extra}`;
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    return `{${Object.keys(record).sort().map((key) => `${JSON.stringify(key)}:${stableJson(record[key])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
