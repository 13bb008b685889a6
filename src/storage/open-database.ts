import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import { Migrator } from 'kysely/migration';
import pg from 'pg';
import type { DatabaseSchema } from './database-schema.ts';
import { guardedPostgresPool, guardedSqlite } from './guarded-drivers.ts';
import { migrationProvider } from './migrations/migration-list.ts';
import { migrationsFromLaterRelease } from './later-schema.ts';

export type Dialect = 'sqlite' | 'postgres';

export interface Database {
  db: Kysely<DatabaseSchema>;
  dialect: Dialect;
  /** Human-readable location without credentials, for the start-up banner. */
  location: string;
  /** A bounded probe: false when storage does not answer a trivial query in time. */
  isReachable(): Promise<boolean>;
  close(): Promise<void>;
  /** The raw SQLite connection, for the one bulk path that must not pay for query building (usage records). */
  sqlite: BetterSqlite3.Database | null;
  /**
   * Ends the start-up section: on PostgreSQL, migrations and the fleet file's writes run under one
   * advisory lock, so replicas started together apply them one after another (decision 0030). Idempotent.
   */
  releaseStartupLock(): Promise<void>;
  /** PostgreSQL only: where replicas meet (the cluster channel opens a connection of its own there). */
  postgres: { url: string; schema: string } | null;
}

export interface OpenDatabaseOptions {
  dataDir: string;
  databaseUrl?: string | undefined;
  /** PostgreSQL schema to use (tests isolate themselves in one each). */
  postgresSchema?: string;
  /** Told when a pooled PostgreSQL connection fails outside a query (logged, never a crash). */
  onConnectionError?: (error: Error) => void;
  /** Told when a later release has migrated the database: this code then runs on it without migrating. */
  onLaterSchema?: (migrations: string[]) => void;
  /** Keep the start-up lock after migrating, until releaseStartupLock (the gateway, for its fleet apply); otherwise it is released on return. */
  holdStartupLock?: boolean;
}

/** The dialect seam: SQLite under the data dir by default, PostgreSQL when a URL is given. */
export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  const database =
    options.databaseUrl === undefined
      ? openSqlite(options.dataDir)
      : await openPostgres(options.databaseUrl, options.postgresSchema, options.onConnectionError ?? (() => undefined));
  try {
    await migrateToLatest(database.db, database.dialect === 'postgres' ? await currentSchema(database.db) : undefined, options.onLaterSchema ?? (() => undefined));
  } catch (error) {
    await database.close();
    throw error;
  }
  if (options.holdStartupLock !== true) await database.releaseStartupLock();
  return database;
}

function openSqlite(dataDir: string): Database {
  // The data dir holds the secret key file and the database: owner only.
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = resolve(join(dataDir, 'switchyard.db'));
  const connection = new BetterSqlite3(file);
  // WAL keeps readers off the writer's back; FULL makes every acknowledged
  // configuration write survive a crash or power loss.
  connection.pragma('journal_mode = WAL');
  connection.pragma('synchronous = FULL');
  connection.pragma('foreign_keys = ON');
  // better-sqlite3 is synchronous: waiting on a lock held by another process
  // (a backup, the sqlite3 shell) stalls the event loop, and inference with it.
  // Give up soon instead; the write answers SY_STORAGE_UNAVAILABLE and usage
  // records wait in their queue.
  connection.pragma('busy_timeout = 250');
  const db = new Kysely<DatabaseSchema>({ dialect: new SqliteDialect({ database: guardedSqlite(connection) }) });
  return {
    db,
    dialect: 'sqlite',
    location: file,
    isReachable: () => probe(db),
    close: () => db.destroy(),
    sqlite: connection,
    // One process owns a SQLite file: nothing to serialise with.
    releaseStartupLock: async () => undefined,
    postgres: null,
  };
}

async function openPostgres(url: string, schema: string | undefined, onConnectionError: (error: Error) => void): Promise<Database> {
  const pool = new pg.Pool({
    connectionString: url,
    max: 10,
    connectionTimeoutMillis: 5_000,
    // A dead server must not hold a query (and its pooled connection) for ever.
    query_timeout: 30_000,
    ...(schema === undefined ? {} : { options: `-c search_path=${schema}` }),
  });
  // An `error` event without a listener crashes the process. The pool listens on
  // idle clients only; a checked-out client (between the statements of a
  // transaction, say) that loses its server emits on itself, so every client
  // gets a listener of its own for its whole life.
  pool.on('error', onConnectionError);
  pool.on('connect', (client) => client.on('error', onConnectionError));
  const db = new Kysely<DatabaseSchema>({ dialect: new PostgresDialect({ pool: guardedPostgresPool(pool) }) });
  let startupLock: StartupLock;
  try {
    // Taken before anything is created: even `create schema if not exists` races with itself.
    startupLock = await takeStartupLock(url, schema, onConnectionError);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  let resolvedSchema: string;
  try {
    if (schema !== undefined) await sql`create schema if not exists ${sql.id(schema)}`.execute(db);
    resolvedSchema = schema ?? (await currentSchema(db));
  } catch (error) {
    await startupLock.release();
    await db.destroy();
    throw error;
  }
  return {
    db,
    dialect: 'postgres',
    location: describePostgresUrl(url),
    isReachable: () => probe(db),
    close: async () => {
      await startupLock.release();
      await db.destroy();
    },
    sqlite: null,
    releaseStartupLock: () => startupLock.release(),
    postgres: { url, schema: resolvedSchema },
  };
}

interface StartupLock {
  release(): Promise<void>;
}

/**
 * A session advisory lock on a connection of its own (outside the pool, whose
 * connections come and go), keyed by the schema: replicas of one database and
 * schema start one at a time through migrations and the fleet apply. Kysely's
 * migrator locks too, but only around the migrations; the fleet file's inserts
 * raced ("already exists") and a replica that loaded its registry before another
 * had written the servers never listed them. Ending the connection frees the
 * lock, so a replica killed mid-start cannot hold the others up.
 */
async function takeStartupLock(url: string, schema: string | undefined, onConnectionError: (error: Error) => void): Promise<StartupLock> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  client.on('error', onConnectionError);
  await client.connect();
  try {
    await client.query('select pg_advisory_lock(hashtext($1))', [`switchyard.startup.${schema ?? 'current'}`]);
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
  let released: Promise<void> | null = null;
  return {
    release: () => {
      // Closing the session releases the lock even when the unlock itself fails.
      released ??= client.end().catch(() => undefined);
      return released;
    },
  };
}

/**
 * The migrator must be told the schema: otherwise it takes Kysely's tables in
 * any other schema of the same database (another app, another test) for ours.
 */
async function migrateToLatest(db: Kysely<DatabaseSchema>, schema: string | undefined, onLaterSchema: (migrations: string[]) => void): Promise<void> {
  const later = await migrationsFromLaterRelease(db, Object.keys(await migrationProvider.getMigrations()), schema);
  if (later.length > 0) {
    onLaterSchema(later);
    return;
  }
  const migrator = new Migrator({ db, provider: migrationProvider, ...(schema === undefined ? {} : { migrationTableSchema: schema }) });
  const { error } = await migrator.migrateToLatest();
  if (error !== undefined) throw new Error(`Database migration failed: ${(error as Error).message ?? String(error)}`);
}

async function currentSchema(db: Kysely<DatabaseSchema>): Promise<string> {
  const result = await sql<{ schema: string }>`select current_schema() as schema`.execute(db);
  return result.rows[0]?.schema ?? 'public';
}

const probeTimeoutMs = 2_000;

/** `select 1`, given up after a short while: /ready must answer even when the database host black-holes packets. */
async function probe(db: Kysely<DatabaseSchema>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), probeTimeoutMs);
  });
  const query = sql`select 1`.execute(db).then(
    () => true,
    () => false,
  );
  try {
    return await Promise.race([query, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** postgres://user:secret@host:5432/db → postgres://host:5432/db */
export function describePostgresUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return 'postgres';
  }
}
