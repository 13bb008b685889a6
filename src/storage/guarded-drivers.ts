import type BetterSqlite3 from 'better-sqlite3';
import type { PostgresPool, PostgresPoolClient, SqliteDatabase, SqliteStatement } from 'kysely';
import pg from 'pg';
import { errors } from '../errors/error-catalogue.ts';
import { isPostgresFailure, isSqliteFailure } from './storage-failure.ts';

/**
 * The drivers as Kysely sees them, with one change: a failure that means
 * storage is unavailable (PostgreSQL down, SQLite busy or failing I/O) leaves
 * the storage layer as SY_STORAGE_UNAVAILABLE, so an admin write answers a
 * clear 503 and callers off the request path can tell "try later" from a bug.
 */
export function guardedPostgresPool(pool: pg.Pool): PostgresPool {
  const clients = new WeakMap<pg.PoolClient, PostgresPoolClient>();
  return {
    Client: pg.Client as unknown as PostgresPool['Client'],
    options: pool.options,
    connect: async () => {
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (error) {
        throw translatePostgres(error);
      }
      let guarded = clients.get(client);
      if (guarded === undefined) {
        guarded = guardedClient(client);
        clients.set(client, guarded);
      }
      return guarded;
    },
    end: () => pool.end(),
  };
}

function guardedClient(client: pg.PoolClient): PostgresPoolClient {
  // Kysely's two query forms: a statement with parameters (a promise), or a cursor (streaming, not used by us).
  const query = (statement: unknown, parameters?: ReadonlyArray<unknown>): unknown => {
    if (typeof statement !== 'string') return (client.query as (cursor: unknown) => unknown)(statement);
    return client.query(statement, parameters as unknown[]).catch((error: unknown) => {
      throw translatePostgres(error);
    });
  };
  return {
    query: query as PostgresPoolClient['query'],
    release: (destroy?: boolean) => client.release(destroy === true ? true : undefined),
    // Kysely cancels an aborted query by this backend's process id.
    get processID() {
      return (client as pg.PoolClient & { processID?: number }).processID;
    },
  };
}

function translatePostgres(error: unknown): unknown {
  return isPostgresFailure(error) ? errors.storageUnavailable(error) : error;
}

export function guardedSqlite(connection: BetterSqlite3.Database): SqliteDatabase {
  return {
    close: () => connection.close(),
    prepare: (text: string): SqliteStatement => {
      const statement = sqliteCall(() => connection.prepare(text));
      return {
        reader: statement.reader,
        all: (parameters) => sqliteCall(() => statement.all(parameters)),
        run: (parameters) => sqliteCall(() => statement.run(parameters)),
        iterate: (parameters) => sqliteCall(() => statement.iterate(parameters)),
      };
    },
  };
}

function sqliteCall<T>(call: () => T): T {
  try {
    return call();
  } catch (error) {
    throw isSqliteFailure(error) ? errors.storageUnavailable(error) : error;
  }
}
