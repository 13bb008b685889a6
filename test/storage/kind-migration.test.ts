import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import { Migrator } from 'kysely/migration';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { migrationProvider } from '../../src/storage/migrations/migration-list.ts';
import { openDatabase, type Database } from '../../src/storage/open-database.ts';
import { serverToRow, type StoredServer } from '../../src/storage/server-rows.ts';
import { ServerStore } from '../../src/storage/server-store.ts';
import { dropSchema, postgresAvailable, postgresUrl, uniqueSchema } from '../support/postgres.ts';

const hasPostgres = await postgresAvailable();

function stored(name: string, serverType: string, detection: StoredServer['detection']): StoredServer {
  const now = new Date().toISOString();
  return {
    id: randomUUID(),
    name,
    serverType,
    kindConfig: null,
    baseUrl: `http://10.0.0.9:${8000 + name.length}`,
    apiKeyCiphertext: null,
    isActive: true,
    healthStatus: 'online',
    statusReason: null,
    statusMessage: null,
    consecutiveFailures: 0,
    capabilities: ['chat'],
    metadata: {},
    expectedModels: [],
    detection,
    healthCheckIntervalS: 30,
    maxConcurrency: null,
    managedBy: 'api',
    lastHealthCheck: null,
    lastLatencyMs: null,
    createdAt: now,
    updatedAt: now,
  };
}

// As the gateway stored them before llama.cpp was its own kind.
const before = [
  stored('laptop', 'openai', { requested: 'auto', detected_by: 'GET /props', flavor: 'llamacpp', version: null }),
  stored('hosted', 'openai', { requested: 'auto', detected_by: 'GET /v1/models', flavor: null, version: null }),
  stored('by-hand', 'openai', null),
  stored('gpu', 'vllm', { requested: 'auto', detected_by: 'GET /metrics', flavor: null, version: null }),
];

/** A database at the last migration before kinds became modules, holding `before`. */
async function seedBeforeKindModules(db: Kysely<unknown>, schema?: string): Promise<void> {
  const migrator = new Migrator({ db, provider: migrationProvider, ...(schema === undefined ? {} : { migrationTableSchema: schema }) });
  const { error } = await migrator.migrateTo('0005-webhook-retry-schedule');
  expect(error).toBeUndefined();
  for (const server of before) {
    // Columns added after 0005 are not in this table yet.
    const { kind_config: _dropped, max_concurrency: _later, ...row } = serverToRow(server);
    await (db as Kysely<{ model_servers: typeof row }>).insertInto('model_servers').values(row).execute();
  }
}

async function expectMigrated(database: Database): Promise<void> {
  const servers = new Map((await new ServerStore(database.db).listServers()).map((server) => [server.name, server]));
  expect(servers.get('laptop')).toMatchObject({ serverType: 'llamacpp', kindConfig: null, detection: { detected_by: 'GET /props', flavor: null } });
  expect(servers.get('hosted')?.serverType).toBe('openai');
  expect(servers.get('by-hand')?.serverType).toBe('openai');
  expect(servers.get('gpu')?.serverType).toBe('vllm');
}

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
});

describe('migration 0006: llama.cpp servers stored as openai become llamacpp', () => {
  it('on SQLite', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sy-kinds-migration-'));
    const connection = new BetterSqlite3(join(dataDir, 'switchyard.db'));
    const old = new Kysely<unknown>({ dialect: new SqliteDialect({ database: connection }) });
    await seedBeforeKindModules(old);
    await old.destroy();
    const database = await openDatabase({ dataDir });
    cleanups.push(() => database.close());
    await expectMigrated(database);
  });

  it.skipIf(!hasPostgres)('on PostgreSQL', async () => {
    const schema = uniqueSchema('sy_kinds');
    cleanups.push(() => dropSchema(schema));
    const old = new Kysely<unknown>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: postgresUrl, max: 1, options: `-c search_path=${schema}` }) }) });
    await sql`create schema if not exists ${sql.id(schema)}`.execute(old);
    await seedBeforeKindModules(old, schema);
    await old.destroy();
    const database = await openDatabase({ dataDir: '/nonexistent', databaseUrl: postgresUrl, postgresSchema: schema });
    cleanups.unshift(() => database.close());
    await expectMigrated(database);
  });
});
