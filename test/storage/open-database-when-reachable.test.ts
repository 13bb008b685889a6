import { mkdtempSync } from 'node:fs';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabaseWhenReachable } from '../../src/storage/open-database-when-reachable.ts';
import { freePort } from '../support/own-postgres.ts';
import { dropSchema, postgresAvailable, postgresUrl, uniqueSchema } from '../support/postgres.ts';
import { relayPostgres } from '../support/postgres-relay.ts';

const available = await postgresAvailable();
const dataDir = mkdtempSync(join(tmpdir(), 'sy-wait-for-db-'));
const schema = uniqueSchema('wait_for_db');
let relay: Server | null = null;

afterAll(async () => {
  relay?.close();
  if (available) await dropSchema(schema);
});

describe.skipIf(!available)('opening storage that is not reachable yet (decision 0034)', () => {
  it('waits for an unreachable PostgreSQL, backing off, and opens it once it answers', async () => {
    const port = await freePort();
    const url = new URL(postgresUrl);
    url.port = String(port);
    const unreachable: string[] = [];
    const delays: number[] = [];
    const database = await openDatabaseWhenReachable(
      { dataDir, databaseUrl: url.toString(), postgresSchema: schema },
      {
        onUnreachable: (error) => void unreachable.push(error.message),
        onRetry: (_error, _attempt, delayMs) => void delays.push(delayMs),
        firstDelayMs: 10,
        maxDelayMs: 40,
        // Each pause is a moment to change the world: the database appears after the fourth attempt.
        sleep: async () => {
          if (delays.length === 4) relay = await relayPostgres(port);
        },
      },
    );
    try {
      expect(unreachable).toHaveLength(1);
      expect(unreachable[0]).toMatch(/ECONNREFUSED/);
      expect(delays).toEqual([10, 20, 40, 40]);
      // Migrated and usable: the start-up went all the way.
      const { rows } = await sql<{ count: string }>`select count(*) as count from api_keys`.execute(database.db);
      expect(Number(rows[0]?.count)).toBe(0);
    } finally {
      await database.close();
    }
  });

  it('does not wait on what waiting cannot fix: a database that does not exist stops the start at once', async () => {
    const url = new URL(postgresUrl);
    url.pathname = '/switchyard_no_such_database';
    let waited = 0;
    const outcome = await openDatabaseWhenReachable(
      { dataDir, databaseUrl: url.toString() },
      { onUnreachable: () => void (waited += 1), onRetry: () => void (waited += 1), sleep: async () => undefined },
    ).catch((error: unknown) => error);
    expect(outcome).toBeInstanceOf(Error);
    expect((outcome as { code?: string }).code).toBe('3D000');
    expect(waited).toBe(0);
  });
});
