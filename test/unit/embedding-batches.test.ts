import { describe, expect, it } from 'vitest';
import { decodeVector, embeddingCacheKey, embeddingCacheScope, encodeVector, vectorBase64 } from '../../src/data/embeddings/embedding-cache-entry.ts';
import { estimatedTokens, splitIntoBatches } from '../../src/data/embeddings/embedding-candidates.ts';
import { LatencyWindow } from '../../src/data/embeddings/latency-window.ts';

describe('splitIntoBatches', () => {
  it('cuts by inputs, keeping every position once and in order', () => {
    const texts = Array.from({ length: 70 }, (_, index) => `t${index}`);
    const batches = splitIntoBatches(texts, { maxInputs: 32, maxTokens: null });
    expect(batches.map((batch) => batch.length)).toEqual([32, 32, 6]);
    expect(batches.flat()).toEqual(texts.map((_, index) => index));
  });

  it('keeps each sub-batch under max_batch_tokens (estimated), and sends a text larger than it alone', () => {
    const texts = ['a'.repeat(300), 'b'.repeat(300), 'c'.repeat(3000), 'd'.repeat(30)];
    const limit = estimatedTokens(texts[0] as string) * 2;
    const batches = splitIntoBatches(texts, { maxInputs: 100, maxTokens: limit });
    expect(batches).toEqual([[0, 1], [2], [3]]);
    for (const batch of batches.filter((batch) => batch.length > 1)) {
      expect(batch.reduce((sum, position) => sum + estimatedTokens(texts[position] as string), 0)).toBeLessThanOrEqual(limit);
    }
  });
});

describe('the cache entry', () => {
  it('keeps a vector as Float32 bytes and reads it back rounded to Float32', () => {
    const vector = [0.1, -0.25, 1 / 3];
    const bytes = encodeVector(vector);
    expect(bytes.length).toBe(12);
    expect(decodeVector(bytes)).toEqual(vector.map((value) => Math.fround(value)));
    expect(Buffer.from(vectorBase64(vector), 'base64')).toEqual(bytes);
  });

  it('keys on the served model, the dimension asked for and other fields, never on the text itself', () => {
    const native = embeddingCacheScope('general', undefined, {});
    expect(embeddingCacheScope('general', 256, {})).not.toBe(native);
    expect(embeddingCacheScope('other', undefined, {})).not.toBe(native);
    expect(embeddingCacheScope('general', undefined, { truncate: true })).not.toBe(native);
    expect(embeddingCacheScope('general', undefined, { a: 1, b: 2 })).toBe(embeddingCacheScope('general', undefined, { b: 2, a: 1 }));
    const key = embeddingCacheKey(native, 'a secret prompt');
    expect(key).not.toContain('secret');
    expect(embeddingCacheKey(native, 'a secret prompt')).toBe(key);
  });
});

describe('LatencyWindow', () => {
  it('answers the p95 of its last samples', () => {
    const window = new LatencyWindow(100);
    expect(window.quantile(0.95)).toBeNull();
    for (let sample = 1; sample <= 100; sample++) window.record(sample);
    expect(window.quantile(0.95)).toBe(95);
    // Older samples roll off.
    for (let sample = 0; sample < 100; sample++) window.record(1000);
    expect(window.quantile(0.95)).toBe(1000);
    expect(window.count).toBe(100);
  });
});
