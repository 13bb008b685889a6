import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteQueryNode, InsertQueryNode, sql, TableNode, type KyselyPlugin, type OperationNode, type PluginTransformQueryArgs, type PluginTransformResultArgs, type QueryResult, type RootOperationNode, type UnknownRow } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerModel } from '../../src/domain/model-server.ts';
import { HistoryStore } from '../../src/storage/history-store.ts';
import { openDatabase, type Database } from '../../src/storage/open-database.ts';
import type { StoredServer } from '../../src/storage/server-rows.ts';
import { ServerStore } from '../../src/storage/server-store.ts';
import { dropSchema, postgresAvailable, postgresUrl, uniqueSchema } from '../support/postgres.ts';

const hasPostgres = await postgresAvailable();

function server(overrides: Partial<StoredServer> = {}): StoredServer {
  const now = new Date().toISOString();
  return {
    id: randomUUID(),
    name: `server-${Math.random().toString(36).slice(2, 8)}`,
    serverType: 'ollama',
    kindConfig: null,
    baseUrl: 'http://10.0.0.1:11434',
    apiKeyCiphertext: 'v1.sealed',
    isActive: true,
    healthStatus: 'unknown',
    statusReason: null,
    statusMessage: null,
    consecutiveFailures: 0,
    capabilities: [],
    metadata: { rack: 'a1' },
    expectedModels: [{ name: 'mixtral', embedding_dimension: 4096 }],
    detection: null,
    healthCheckIntervalS: 30,
    maxConcurrency: null,
    managedBy: 'api',
    lastHealthCheck: null,
    lastLatencyMs: null,
    createdAt: now,
    updatedAt: now,
    ...overrides,
  };
}

function model(serverId: string, modelId: string): ServerModel {
  const now = new Date().toISOString();
  return {
    serverId,
    modelId,
    capabilities: ['chat', 'completion'],
    embeddingDimension: 4096,
    contextLength: 32768,
    status: 'available',
    details: { family: 'llama' },
    firstSeenAt: now,
    lastSeenAt: now,
  };
}

const dialects = [
  { name: 'sqlite', enabled: true },
  { name: 'postgres', enabled: hasPostgres },
] as const;

describe.skipIf(!hasPostgres)('one schema for both dialects', () => {
  it('gives SQLite and PostgreSQL the same tables and columns from the same migrations', async () => {
    const schema = uniqueSchema('sy_parity');
    const sqlite = await openDatabase({ dataDir: mkdtempSync(join(tmpdir(), 'sy-parity-')) });
    const postgres = await openDatabase({ dataDir: '/nonexistent', databaseUrl: postgresUrl, postgresSchema: schema });
    try {
      const shape = async (database: Database) =>
        Object.fromEntries(
          (await database.db.introspection.getTables())
            .filter((table) => !table.name.startsWith('kysely_') && (database.dialect === 'sqlite' || table.schema === schema))
            .map((table) => [table.name, table.columns.map((column) => `${column.name}${column.isNullable ? '?' : ''}`).sort()]),
        );
      expect(await shape(postgres)).toEqual(await shape(sqlite));
    } finally {
      await sqlite.close();
      await postgres.close();
      await dropSchema(schema);
    }
  });
});

describe.each(dialects)('storage on $name', ({ name, enabled }) => {
  let database: Database;
  let store: ServerStore;
  let history: HistoryStore;
  const schema = uniqueSchema('sy_store');

  beforeAll(async () => {
    if (!enabled) return;
    database =
      name === 'sqlite'
        ? await openDatabase({ dataDir: mkdtempSync(join(tmpdir(), 'sy-store-')) })
        : await openDatabase({ dataDir: '/nonexistent', databaseUrl: postgresUrl, postgresSchema: schema });
    store = new ServerStore(database.db);
    history = new HistoryStore(database.db);
  });

  afterAll(async () => {
    if (!enabled) return;
    await database?.close();
    if (name === 'postgres') await dropSchema(schema);
  });

  it.skipIf(!enabled)('migrates an empty database to every table', async () => {
    // PostgreSQL introspection sees every schema in the database (parallel runs have their own): keep ours.
    const tables = (await database.db.introspection.getTables()).filter((table) => name === 'sqlite' || table.schema === schema);
    const names = tables.map((table) => table.name).filter((table) => !table.startsWith('kysely_'));
    expect(names.sort()).toEqual(
      ['api_keys', 'audit_log', 'health_checks', 'model_events', 'model_servers', 'routes', 'server_metrics', 'server_models', 'settings', 'usage_records', 'webhook_deliveries', 'webhooks', 'model_benchmarks', 'cache_policies', 'vector_collections', 'operations', 'placements', 'model_versions', 'model_version_daily', 'model_thresholds', 'model_states', 'model_prices', 'stored_responses', 'usage_rollups'].sort(),
    );
    expect(database.dialect).toBe(name);
    expect(await database.isReachable()).toBe(true);
  });

  it.skipIf(!enabled)('stores and reads back a server with JSON fields and booleans intact', async () => {
    const record = server({ isActive: false });
    await store.insertServer(record);
    const found = (await store.listServers()).find((candidate) => candidate.id === record.id);
    expect(found).toEqual(record);
  });

  it.skipIf(!enabled)('refuses a duplicate name with a unique violation', async () => {
    const first = server();
    await store.insertServer(first);
    await expect(store.insertServer(server({ name: first.name }))).rejects.toMatchObject({ code: expect.stringMatching(/SQLITE_CONSTRAINT_UNIQUE|23505/) });
  });

  it.skipIf(!enabled)('records a check with its model changes and load sample in one transaction', async () => {
    const record = server();
    await store.insertServer(record);
    const now = new Date().toISOString();
    await store.recordCheck({
      server: { ...record, healthStatus: 'online', capabilities: ['chat', 'completion'], lastHealthCheck: now, lastLatencyMs: 12.5 },
      check: { id: randomUUID(), server_id: record.id, checked_at: now, outcome: 'success', health_status: 'online', previous_status: 'unknown', status_reason: null, latency_ms: 12.5, error_message: null, models_found: 2 },
      upsertModels: [model(record.id, 'mixtral:latest'), model(record.id, 'phi3:latest')],
      removedModelIds: [],
      modelEvents: [{ id: randomUUID(), server_id: record.id, model_id: 'mixtral:latest', event: 'added', occurred_at: now }],
      metrics: { id: randomUUID(), server_id: record.id, recorded_at: now, running_requests: 2, waiting_requests: 1, kv_cache_usage: 0.5, loaded_models: '["mixtral:latest"]', memory_bytes: 5e9, details: '{}' },
    });
    const stored = (await store.listServers()).find((candidate) => candidate.id === record.id);
    expect(stored).toMatchObject({ healthStatus: 'online', lastLatencyMs: 12.5, capabilities: ['chat', 'completion'] });
    const models = (await store.listModels()).filter((candidate) => candidate.serverId === record.id);
    expect(models.map((candidate) => candidate.modelId)).toEqual(['mixtral:latest', 'phi3:latest']);
    expect(await history.recentTransitions(record.id, 10)).toHaveLength(1);
    expect((await history.recentMetrics(record.id, 10))[0]).toMatchObject({ running_requests: 2, memory_bytes: 5e9 });

    // A failing write inside the transaction leaves nothing half-written.
    await expect(
      store.recordCheck({
        server: { ...record, healthStatus: 'offline' },
        check: { id: randomUUID(), server_id: record.id, checked_at: now, outcome: 'failure', health_status: 'offline', previous_status: 'online', status_reason: 'timeout', latency_ms: 1, error_message: 'x', models_found: null },
        upsertModels: [],
        removedModelIds: ['mixtral:latest'],
        modelEvents: [{ id: 'duplicate', server_id: record.id, model_id: 'm', event: 'removed', occurred_at: now }, { id: 'duplicate', server_id: record.id, model_id: 'm', event: 'removed', occurred_at: now }],
        metrics: null,
      }),
    ).rejects.toThrow();
    expect((await store.listServers()).find((candidate) => candidate.id === record.id)?.healthStatus).toBe('online');
    expect((await store.listModels()).filter((candidate) => candidate.serverId === record.id)).toHaveLength(2);
  });

  it.skipIf(!enabled)('writes a check\'s model changes in batched statements: many models cost a few statements, first_seen_at is kept', async () => {
    const record = server();
    await store.insertServer(record);
    const counter = new StatementCounter();
    const counted = new ServerStore(database.db.withPlugin(counter));
    const first = new Date(Date.now() - 60_000).toISOString();
    const check = (modelsFound: number, at: string) => ({ id: randomUUID(), server_id: record.id, checked_at: at, outcome: 'success', health_status: 'online', previous_status: 'online', status_reason: null, latency_ms: 1, error_message: null, models_found: modelsFound });
    const many = Array.from({ length: 1_200 }, (_, index) => ({ ...model(record.id, `model-${String(index).padStart(4, '0')}`), firstSeenAt: first, lastSeenAt: first }));
    await counted.recordCheck({ server: record, check: check(1_200, first), upsertModels: many, removedModelIds: [], modelEvents: [], metrics: null });
    // 1,200 rows at up to 500 a statement.
    expect(counter.writesTo('server_models')).toBe(3);
    expect((await store.listModels()).filter((candidate) => candidate.serverId === record.id)).toHaveLength(1_200);

    counter.reset();
    const later = new Date().toISOString();
    const changed = many.slice(0, 700).map((entry) => ({ ...entry, status: 'loaded' as const, contextLength: 8192, firstSeenAt: later, lastSeenAt: later }));
    const removed = many.slice(1_000).map((entry) => entry.modelId);
    await counted.recordCheck({ server: record, check: check(1_000, later), upsertModels: changed, removedModelIds: removed, modelEvents: [], metrics: null });
    expect(counter.writesTo('server_models')).toBe(3);
    const stored = (await store.listModels()).filter((candidate) => candidate.serverId === record.id);
    expect(stored).toHaveLength(1_000);
    const updated = stored.find((candidate) => candidate.modelId === 'model-0001');
    // The upsert refreshes what a probe reports but never when the model was first seen.
    expect(updated).toMatchObject({ status: 'loaded', contextLength: 8192, firstSeenAt: first, lastSeenAt: later, capabilities: ['chat', 'completion'], details: { family: 'llama' } });
    expect(stored.find((candidate) => candidate.modelId === 'model-0900')).toMatchObject({ status: 'available', contextLength: 32768, lastSeenAt: first });
    expect(stored.some((candidate) => candidate.modelId === 'model-1000')).toBe(false);
  });

  it.skipIf(!enabled)('commits checks of several servers together, and a bad one fails alone', async () => {
    const records = [server(), server(), server()];
    for (const record of records) await store.insertServer(record);
    const now = new Date().toISOString();
    const write = (record: StoredServer, events: Array<{ id: string }>) => ({
      server: { ...record, healthStatus: 'online' as const, lastHealthCheck: now },
      check: { id: randomUUID(), server_id: record.id, checked_at: now, outcome: 'success', health_status: 'online', previous_status: 'unknown', status_reason: null, latency_ms: 1, error_message: null, models_found: 1 },
      upsertModels: [model(record.id, 'phi3')],
      removedModelIds: [],
      modelEvents: events.map((event) => ({ id: event.id, server_id: record.id, model_id: 'phi3', event: 'added', occurred_at: now })),
      metrics: null,
    });
    const [first, bad, third] = records as [StoredServer, StoredServer, StoredServer];
    const outcomes = await Promise.allSettled([
      store.recordCheck(write(first, [{ id: randomUUID() }])),
      store.recordCheck(write(bad, [{ id: 'twice' }, { id: 'twice' }])),
      store.recordCheck(write(third, [{ id: randomUUID() }])),
    ]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const stored = await store.listServers();
    expect(stored.find((candidate) => candidate.id === first.id)?.healthStatus).toBe('online');
    expect(stored.find((candidate) => candidate.id === third.id)?.healthStatus).toBe('online');
    // The bad write left nothing behind: not its status, not its model.
    expect(stored.find((candidate) => candidate.id === bad.id)?.healthStatus).toBe('unknown');
    expect((await store.listModels()).filter((candidate) => candidate.serverId === bad.id)).toEqual([]);
  });

  it.skipIf(!enabled)('deletes a server with its models, history and metrics', async () => {
    const record = server();
    await store.insertServer(record);
    const now = new Date().toISOString();
    await store.recordCheck({
      server: record,
      check: { id: randomUUID(), server_id: record.id, checked_at: now, outcome: 'success', health_status: 'online', previous_status: 'unknown', status_reason: null, latency_ms: 1, error_message: null, models_found: 1 },
      upsertModels: [model(record.id, 'hermes:latest')],
      removedModelIds: [],
      modelEvents: [{ id: randomUUID(), server_id: record.id, model_id: 'hermes:latest', event: 'added', occurred_at: now }],
      metrics: { id: randomUUID(), server_id: record.id, recorded_at: now, running_requests: null, waiting_requests: null, kv_cache_usage: null, loaded_models: '[]', memory_bytes: null, details: '{}' },
    });
    expect(await store.deleteServer(record.id)).toBe(true);
    for (const table of ['server_models', 'model_events', 'health_checks', 'server_metrics'] as const) {
      const rows = await database.db.selectFrom(table).select(sql<number>`count(*)`.as('count')).where('server_id', '=', record.id).executeTakeFirstOrThrow();
      expect(Number(rows.count)).toBe(0);
    }
    expect(await store.deleteServer(record.id)).toBe(false);
  });

  it.skipIf(!enabled)('prunes history older than the retention', async () => {
    const record = server();
    await store.insertServer(record);
    const old = new Date(Date.now() - 3 * 3_600_000).toISOString();
    const recent = new Date().toISOString();
    for (const checkedAt of [old, recent]) {
      await database.db.insertInto('health_checks').values({ id: randomUUID(), server_id: record.id, checked_at: checkedAt, outcome: 'success', health_status: 'online', previous_status: 'online', status_reason: null, latency_ms: 1, error_message: null, models_found: 1 }).execute();
    }
    await history.prune(new Date(Date.now() - 3_600_000).toISOString());
    const left = await history.recentChecks(record.id, 10);
    expect(left.map((check) => check.checked_at)).toEqual([recent]);
  });
});

/** Counts the INSERT and DELETE statements each table receives (batching is the behaviour under test). */
class StatementCounter implements KyselyPlugin {
  #writes = new Map<string, number>();

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    const table = tableWritten(args.node);
    if (table !== null) this.#writes.set(table, (this.#writes.get(table) ?? 0) + 1);
    return args.node;
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  }

  writesTo(table: string): number {
    return this.#writes.get(table) ?? 0;
  }

  reset(): void {
    this.#writes.clear();
  }
}

function tableWritten(node: OperationNode): string | null {
  if (InsertQueryNode.is(node)) return node.into === undefined ? null : node.into.table.identifier.name;
  if (DeleteQueryNode.is(node)) {
    const from = node.from.froms[0];
    return from !== undefined && TableNode.is(from) ? from.table.identifier.name : null;
  }
  return null;
}
