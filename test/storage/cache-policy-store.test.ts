import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CachePolicyRegistry } from '../../src/control/cache/cache-policy-registry.ts';
import { CachePolicyStore } from '../../src/storage/cache-policy-store.ts';
import { openDatabase, type Database } from '../../src/storage/open-database.ts';
import { dropSchema, postgresAvailable, postgresUrl, uniqueSchema } from '../support/postgres.ts';

const hasPostgres = await postgresAvailable();

describe.each([
  { name: 'sqlite', enabled: true },
  { name: 'postgres', enabled: hasPostgres },
] as const)('cache policies on $name', ({ name, enabled }) => {
  let database: Database;
  const schema = uniqueSchema('sy_cache_policies');

  beforeAll(async () => {
    if (!enabled) return;
    database =
      name === 'sqlite'
        ? await openDatabase({ dataDir: mkdtempSync(join(tmpdir(), 'sy-cache-policies-')) })
        : await openDatabase({ dataDir: '/nonexistent', databaseUrl: postgresUrl, postgresSchema: schema });
  });

  afterAll(async () => {
    if (!enabled) return;
    await database?.close();
    if (name === 'postgres') await dropSchema(schema);
  });

  it.skipIf(!enabled)('keeps a policy exactly as written (similarity 0.95 reads back 0.95), replaces and deletes it', async () => {
    const registry = new CachePolicyRegistry(new CachePolicyStore(database.db));
    await registry.load();
    await registry.put('mixtral', { mode: 'semantic', ttl_s: 3600, embedding_model: 'general' });
    await registry.put('org/phi3', { mode: 'exact', ttl_s: 5, scope: 'global' }, { managedBy: 'fleet' });
    const reloaded = new CachePolicyRegistry(new CachePolicyStore(database.db));
    await reloaded.load();
    expect(reloaded.byName('mixtral')).toMatchObject({ mode: 'semantic', ttlS: 3600, scope: 'key', similarity: 0.95, embeddingModel: 'general', managedBy: 'api' });
    expect(reloaded.byName('org/phi3')).toMatchObject({ mode: 'exact', ttlS: 5, scope: 'global', embeddingModel: null, managedBy: 'fleet' });
    await reloaded.put('mixtral', { mode: 'exact', ttl_s: 10 });
    await reloaded.remove('org/phi3');
    const last = new CachePolicyRegistry(new CachePolicyStore(database.db));
    await last.load();
    expect(last.list().map((policy) => [policy.name, policy.mode, policy.ttlS])).toEqual([['mixtral', 'exact', 10]]);
  });
});
