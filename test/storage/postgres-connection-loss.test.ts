import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAppError } from '../../src/errors/app-error.ts';
import { openDatabase, type Database } from '../../src/storage/open-database.ts';
import { startOwnPostgres, type OwnPostgres } from '../support/own-postgres.ts';
import { waitUntil } from '../support/wait-until.ts';

let server: OwnPostgres;
let database: Database;
const connectionErrors: Error[] = [];

beforeAll(async () => {
  server = await startOwnPostgres();
  database = await openDatabase({ dataDir: mkdtempSync(join(tmpdir(), 'sy-pg-loss-')), databaseUrl: server.url, onConnectionError: (error) => connectionErrors.push(error) });
});

afterAll(async () => {
  await database?.close().catch(() => undefined);
  await server?.destroy();
});

describe('PostgreSQL going away under a checked-out connection', () => {
  it('does not crash the process: the loss is reported, the next statement fails as SY_STORAGE_UNAVAILABLE, and the pool recovers after a restart', async () => {
    const outcome = await database.db
      .transaction()
      .execute(async (transaction) => {
        await sql`select 1`.execute(transaction);
        // The connection is checked out and idle between two statements when the server goes.
        await server.stop('fast');
        await waitUntil(() => connectionErrors.length > 0, { what: 'the checked-out client to see its server go' });
        await sql`select 1`.execute(transaction);
        return 'committed';
      })
      .catch((error: unknown) => error);
    expect(isAppError(outcome) && outcome.code).toBe('SY_STORAGE_UNAVAILABLE');
    expect(await database.isReachable()).toBe(false);
    const write = await sql`select 1`.execute(database.db).catch((error: unknown) => error);
    expect(isAppError(write) && write.code).toBe('SY_STORAGE_UNAVAILABLE');

    await server.start();
    await waitUntil(() => database.isReachable(), { what: 'the pool to reconnect' });
  });
});
