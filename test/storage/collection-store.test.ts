import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VectorCollection } from '../../src/collections/vector-collection.ts';
import { CollectionStore } from '../../src/storage/collection-store.ts';
import { openDatabase, type Database } from '../../src/storage/open-database.ts';
import { dropSchema, postgresAvailable, postgresUrl, uniqueSchema } from '../support/postgres.ts';

const hasPostgres = await postgresAvailable();
const dialects = [
  { name: 'sqlite', enabled: true },
  { name: 'postgres', enabled: hasPostgres },
] as const;

function collection(overrides: Partial<VectorCollection> = {}): VectorCollection {
  const now = new Date().toISOString();
  return {
    name: 'mixtral',
    model: 'mixtral',
    vectorSize: 4096,
    distance: 'cosine',
    backend: 'embedded',
    physicalName: 'mixtral',
    status: 'ready',
    modelDigest: 'sha-old',
    staleDigest: null,
    reembedTarget: null,
    reembed: null,
    managedBy: 'fleet',
    createdAt: now,
    updatedAt: now,
    ...overrides,
  };
}

describe.each(dialects)('the collection registry on $name', ({ name, enabled }) => {
  let database: Database;
  let store: CollectionStore;
  const schema = uniqueSchema('sy_collections');

  beforeAll(async () => {
    if (!enabled) return;
    database =
      name === 'sqlite'
        ? await openDatabase({ dataDir: mkdtempSync(join(tmpdir(), 'sy-collections-')) })
        : await openDatabase({ dataDir: '/nonexistent', databaseUrl: postgresUrl, postgresSchema: schema });
    store = new CollectionStore(database.db);
  });

  afterAll(async () => {
    if (!enabled) return;
    await database?.close();
    if (name === 'postgres') await dropSchema(schema);
  });

  it.skipIf(!enabled)('stores a collection and reads it back with its numbers as numbers', async () => {
    await store.insert(collection());
    await store.insert(collection({ name: 'org/general:v1', model: 'org/general:v1', vectorSize: 384, distance: 'dot', physicalName: 'org_general_v1', managedBy: 'api', modelDigest: null }));
    const listed = await store.list();
    expect(listed.map((entry) => entry.name)).toEqual(['mixtral', 'org/general:v1']);
    expect(listed[0]).toEqual(collection({ createdAt: listed[0]?.createdAt, updatedAt: listed[0]?.updatedAt }));
    expect(listed[1]?.vectorSize).toBe(384);
    expect(listed[1]?.distance).toBe('dot');
  });

  it.skipIf(!enabled)('keeps a stale digest and re-embed progress, and clears them on the swap', async () => {
    const stale = collection({ status: 'reembedding', staleDigest: 'sha-new', reembedTarget: 'mixtral_1a2b', reembed: { done: 256, total: 1000, skipped: 3, dropped: 0, error: null } });
    await store.update(stale);
    expect((await store.list())[0]).toMatchObject({ status: 'reembedding', staleDigest: 'sha-new', reembedTarget: 'mixtral_1a2b', reembed: { done: 256, total: 1000, skipped: 3, dropped: 0, error: null } });
    await store.update(collection({ physicalName: 'mixtral_1a2b', modelDigest: 'sha-new', reembed: { done: 1000, total: 1000, skipped: 3, dropped: 0, error: null } }));
    expect((await store.list())[0]).toMatchObject({ status: 'ready', physicalName: 'mixtral_1a2b', modelDigest: 'sha-new', staleDigest: null, reembedTarget: null });
  });

  it.skipIf(!enabled)('refuses a second collection of the same name or physical name', async () => {
    await expect(store.insert(collection({ physicalName: 'other' }))).rejects.toThrow();
    await expect(store.insert(collection({ name: 'other', physicalName: 'mixtral_1a2b' }))).rejects.toThrow();
  });

  it.skipIf(!enabled)('deletes a collection', async () => {
    await store.delete('mixtral');
    expect((await store.list()).map((entry) => entry.name)).toEqual(['org/general:v1']);
  });
});
