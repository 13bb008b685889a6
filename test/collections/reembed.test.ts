import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CollectionService, type Caller } from '../../src/collections/collection-service.ts';
import { ReembedRunner } from '../../src/collections/reembed-runner.ts';
import { VectorService } from '../../src/collections/vector-service.ts';
import type { EmbedRequest, EmbedResult, Embedder } from '../../src/data/embeddings/embedder.ts';
import { CollectionStore } from '../../src/storage/collection-store.ts';
import { openDatabase, type Database } from '../../src/storage/open-database.ts';
import { embedText } from '../fakes/index.ts';
import { MemoryVectorStore } from '../support/memory-vector-store.ts';
import { waitFor } from '../support/wait-for.ts';

/**
 * The re-embed's hard cases, where timing matters: writes made while it runs,
 * failures, restarts. Against an in-memory VectorStore and an in-process
 * Embedder whose "model version" and vector size a test changes, and whose
 * calls a test can hold until it lets them go.
 */
class VersionedEmbedder implements Embedder {
  version = 'v1';
  dimension = 8;
  failWhen: ((inputs: readonly string[]) => boolean) | null = null;
  #held: Array<() => void> = [];
  holding = false;
  /** Holds only the calls this picks (all while `holding`). */
  holdWhen: ((inputs: readonly string[]) => boolean) | null = null;

  async embed(request: EmbedRequest): Promise<EmbedResult> {
    if (this.holding || this.holdWhen?.(request.inputs) === true) await new Promise<void>((resolve) => this.#held.push(resolve));
    if (this.failWhen?.(request.inputs) === true) throw new Error('the model server went away');
    const vectors = request.inputs.map((text) => embedText(`${this.version}:${text}`, this.dimension));
    return { vectors, dimension: this.dimension, servedModel: 'general', serverName: 'fake', promptTokens: request.inputs.length, cachedCount: 0, hedged: false };
  }

  release(): void {
    this.holding = false;
    this.holdWhen = null;
    for (const resolve of this.#held.splice(0)) resolve();
  }

  async waitHeld(count: number): Promise<void> {
    await waitFor(() => this.#held.length >= count, `${count} held embed calls`);
  }
}

const caller: Caller = { requestId: 'test', keyId: null, isAllowed: () => true };
let database: Database;
let vectors: MemoryVectorStore;
let embedder: VersionedEmbedder;
let collections: CollectionService;
let reembeds: ReembedRunner;
let service: VectorService;

async function build(): Promise<void> {
  collections = new CollectionService({
    store: new CollectionStore(database.db),
    vectors,
    embedder,
    models: { isKnown: () => true, deploymentsOf: () => [], suggest: () => [] },
    log: pino({ level: 'silent' }),
  });
  await collections.load();
  reembeds = new ReembedRunner({ collections, pageSize: 2 });
  service = new VectorService({ collections, reembeds, metrics: null, maxItems: 100 });
}

beforeEach(async () => {
  database = await openDatabase({ dataDir: mkdtempSync(join(tmpdir(), 'sy-reembed-')) });
  vectors = new MemoryVectorStore();
  embedder = new VersionedEmbedder();
  await build();
  await service.store('general', { items: ['alpha', 'beta', 'gamma', 'delta', 'epsilon'].map((text) => ({ id: text, text })) }, caller);
});

afterEach(async () => {
  embedder.release();
  await reembeds.close();
  await database.close();
});

const physical = () => collections.get('general')?.physicalName as string;
const vectorOf = async (id: string) => (await vectors.get(physical(), id))?.vector;

describe('re-embedding a collection', () => {
  it('writes stores and deletes made while it runs to both collections, and never brings back what they changed', async () => {
    embedder.version = 'v2';
    // The first page (alpha, beta) is read and held while being embedded.
    embedder.holdWhen = (inputs) => inputs.includes('alpha');
    await reembeds.start(collections.get('general')!, caller);
    await embedder.waitHeld(1);
    expect(collections.get('general')?.status).toBe('reembedding');
    // Meanwhile: alpha is rewritten, beta deleted (both already read by the job), zeta added.
    await service.store('general', { items: [{ id: 'alpha', text: 'alpha, rewritten' }, { id: 'zeta', text: 'zeta' }] }, caller);
    await service.delete('general', { ids: ['beta'] }, caller);
    // Searches still answer from the old vectors.
    expect((await service.search('general', { vector: embedText('v1:gamma', 8), top_k: 1 }, caller)).data[0]?.id).toBe('gamma');
    embedder.release();
    await waitFor(() => collections.get('general')?.status === 'ready', 'the swap');
    const after = collections.get('general')!;
    expect(after.reembed).toMatchObject({ error: null });
    expect(await vectors.get(after.physicalName, 'alpha')).toMatchObject({ text: 'alpha, rewritten', vector: embedText('v2:alpha, rewritten', 8) });
    expect(await vectors.get(after.physicalName, 'beta')).toBeNull();
    expect(await vectors.get(after.physicalName, 'zeta')).not.toBeNull();
    expect(await vectorOf('gamma')).toEqual(embedText('v2:gamma', 8));
    expect(await vectors.count(after.physicalName)).toBe(5);
    expect(vectors.collections.size).toBe(1);
  });

  it('keeps the old vectors serving and returns to its status when it fails, dropping the half-filled collection', async () => {
    const before = physical();
    embedder.version = 'v2';
    embedder.failWhen = (inputs) => inputs.includes('delta');
    await reembeds.start(collections.get('general')!, caller);
    const failed = await waitFor(() => {
      const current = collections.get('general')!;
      return current.status === 'ready' && current.reembed?.error !== null ? current : null;
    }, 'the re-embed to fail');
    expect(failed.reembed?.error).toMatch(/went away/);
    expect(failed.physicalName).toBe(before);
    expect(vectors.collections.size).toBe(1);
    embedder.failWhen = null;
    expect((await service.search('general', { vector: embedText('v1:beta', 8), top_k: 1 }, caller)).data[0]?.id).toBe('beta');
  });

  it('copies precomputed vectors unchanged, and leaves them out when the model changed its vector size', async () => {
    await service.store('general', { items: [{ id: 'pre', vector: embedText('caller', 8) }] }, caller);
    await reembeds.start(collections.get('general')!, caller);
    await waitFor(() => collections.get('general')?.status === 'ready' && collections.get('general')?.reembed?.done === 6, 'the first re-embed');
    expect(collections.get('general')!.reembed).toMatchObject({ skipped: 1, dropped: 0 });
    expect(await vectorOf('pre')).toEqual(embedText('caller', 8));

    embedder.dimension = 16;
    await reembeds.start(collections.get('general')!, caller);
    await waitFor(() => collections.get('general')?.vectorSize === 16, 'the second re-embed');
    expect(collections.get('general')!.reembed).toMatchObject({ done: 6, skipped: 1, dropped: 1 });
    expect(await vectorOf('pre')).toBeUndefined();
    expect(await vectorOf('alpha')).toHaveLength(16);
  });

  it('after a restart mid-way, drops the half-filled collection and serves the old one with the reason', async () => {
    embedder.holding = true;
    const start = reembeds.start(collections.get('general')!, caller);
    await embedder.waitHeld(1);
    embedder.release();
    await start;
    // A stop that never finished the job: the process is gone, the row says reembedding.
    embedder.holding = true;
    await embedder.waitHeld(1);
    const before = collections.get('general')!;
    expect(before.status).toBe('reembedding');
    await build();
    const after = collections.get('general')!;
    expect(after).toMatchObject({ status: 'ready', reembedTarget: null, physicalName: before.physicalName });
    expect(after.reembed?.error).toMatch(/restart/);
    expect(vectors.collections.has(before.reembedTarget as string)).toBe(false);
  });

  it('creates a model collection once when first stores race', async () => {
    await Promise.all(Array.from({ length: 5 }, (_, i) => service.store('other-model', { texts: [`text ${i}`] }, caller)));
    expect(collections.list().map((collection) => collection.name)).toEqual(['general', 'other-model']);
    expect(await vectors.count(collections.get('other-model')!.physicalName)).toBe(5);
  });
});
