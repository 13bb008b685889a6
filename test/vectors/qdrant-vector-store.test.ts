import { describe, expect, it } from 'vitest';
import { qdrantPointId } from '../../src/vectors/qdrant-point-id.ts';
import { openQdrantStore, payloadKey, qdrantFilter } from '../../src/vectors/qdrant-vector-store.ts';
import { describeVectorStoreConformance } from './vector-store-conformance.ts';

/*
 * The Qdrant backend runs the conformance suite only against a real Qdrant
 * (QDRANT_URL, and QDRANT_API_KEY if it wants one). None can run on the
 * machines this was written on, and a fake Qdrant would prove only that we
 * agree with ourselves: without QDRANT_URL the suite is skipped, loudly.
 */
const url = process.env['QDRANT_URL'];
if (url === undefined || url === '') {
  process.stderr.write('\n*** QDRANT_URL is not set: the Qdrant backend conformance tests are SKIPPED (the Qdrant backend is untested here) ***\n\n');
}

describeVectorStoreConformance('qdrant', async () =>
  url === undefined || url === '' ? null : openQdrantStore({ url, apiKey: process.env['QDRANT_API_KEY'] || undefined }),
);

describe('Qdrant point ids', () => {
  it('are the same UUID (version 5) for the same id, every time, and differ between ids', () => {
    const id = qdrantPointId('doc-1#chunk-3');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(qdrantPointId('doc-1#chunk-3')).toBe(id);
    expect(qdrantPointId('doc-1#chunk-4')).not.toBe(id);
    expect(qdrantPointId('')).not.toBe(qdrantPointId(' '));
  });
});

describe('metadata filters in Qdrant terms', () => {
  it('are a must of field conditions on the payload metadata, with in as a should of its values', () => {
    expect(qdrantFilter({ lang: 'en', page: { in: [1, 2] }, draft: false, score: 0.5, owner: null })).toEqual({
      must: [
        { key: 'metadata.lang', match: { value: 'en' } },
        { should: [{ key: 'metadata.page', match: { value: 1 } }, { key: 'metadata.page', match: { value: 2 } }] },
        { key: 'metadata.draft', match: { value: false } },
        { key: 'metadata.score', range: { gte: 0.5, lte: 0.5 } },
        { is_null: { key: 'metadata.owner' } },
      ],
    });
    expect(qdrantFilter(undefined)).toBeUndefined();
    expect(qdrantFilter({ page: { in: [] } })).toBe('nothing');
  });
});

describe('metadata field names as Qdrant payload keys', () => {
  it('are plain words as they are, quoted otherwise (a dot is not nesting), and refused when Qdrant cannot quote them', () => {
    expect(payloadKey('lang')).toBe('metadata.lang');
    expect(payloadKey('page-no_2')).toBe('metadata.page-no_2');
    expect(payloadKey('page.no')).toBe('metadata."page.no"');
    expect(payloadKey('2024')).toBe('metadata."2024"');
    expect(() => payloadKey('say "hi"')).toThrow(RangeError);
  });
});
