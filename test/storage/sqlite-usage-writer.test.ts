import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UsageRecordsTable } from '../../src/storage/database-schema.ts';
import { openDatabase, type Database } from '../../src/storage/open-database.ts';
import { SqliteUsageWriter } from '../../src/storage/sqlite-usage/usage-writer.ts';
import { isStorageUnavailable } from '../../src/storage/storage-failure.ts';

// Usage batches written to SQLite on a thread of their own (decision 0035).
let database: Database;
let file: string;

/** `count` usage rows with ids from `from` on, spread over the last few hours. */
function rows(count: number, from: number): UsageRecordsTable[] {
  const now = Date.now();
  return Array.from({ length: count }, (_, index) => {
    return {
      id: `${String(from + index).padStart(12, '0')}`, occurred_at: new Date(now - index * 250).toISOString(), request_id: `request-${from + index}`, key_id: `key-${index % 50}`, requested_model: 'yi34b', served_model: 'yi34b',
      server_id: 'server-a', route: null, strategy: null, attempts: 1, status: 200, error_type: null, prompt_tokens: 10, completion_tokens: 20, latency_ms: 120, ttft_ms: 30,
      streamed: 0, cache_hit: 0, cost: null, api: 'openai', queue_wait_ms: 0,
    };
  });
}

const count = (table: string) => (database.sqlite?.prepare(`select count(*) as n from ${table}`).get() as { n: number }).n;

beforeAll(async () => {
  database = await openDatabase({ dataDir: mkdtempSync(join(tmpdir(), 'sy-usage-writer-')) });
  file = (database.sqlite as BetterSqlite3.Database).name;
});

afterAll(async () => {
  await database?.close();
});

describe('the SQLite usage writer thread', () => {
  it('writes records and their rollups while the event loop keeps turning', async () => {
    const writer = new SqliteUsageWriter({ file });
    try {
      let turns = 0;
      let writing = true;
      const written = writer.write(rows(20_000, 0)).finally(() => (writing = false));
      // In this thread, the same batch would be one synchronous call: no turn of the loop could happen during it.
      while (writing) {
        await new Promise((resolve) => setImmediate(resolve));
        turns += 1;
      }
      await written;
      expect(turns).toBeGreaterThan(1);
      expect(count('usage_records')).toBe(20_000);
      const all = database.sqlite?.prepare("select sum(requests) as n from usage_rollups where dimension = 'all' and period = 'h'").get() as { n: number };
      expect(all.n).toBe(20_000);
      // Written again (a spool replayed after a crash): nothing is counted twice.
      await writer.write(rows(100, 0));
      expect(count('usage_records')).toBe(20_000);
    } finally {
      await writer.close();
    }
  });

  it('rejects with SQLite\'s own code when another process holds the write lock, so the batch goes to the spool', async () => {
    const writer = new SqliteUsageWriter({ file, busyTimeoutMs: 50 });
    const blocker = new BetterSqlite3(file);
    try {
      blocker.exec('begin exclusive');
      const refused = await writer.write(rows(10, 100_000)).catch((error: unknown) => error);
      expect((refused as { code?: string }).code).toMatch(/^SQLITE_BUSY/);
      expect(isStorageUnavailable(refused)).toBe(true);
      blocker.exec('rollback');
      await writer.write(rows(10, 100_000));
      expect(count('usage_records')).toBe(20_010);
    } finally {
      if (blocker.inTransaction) blocker.exec('rollback');
      blocker.close();
      await writer.close();
    }
  });
});
