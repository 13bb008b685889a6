import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { newOutcome } from '../../src/data/proxy/request-outcome.ts';
import { UsageRecorder } from '../../src/observability/usage-recorder.ts';
import { openDatabase, type Database } from '../../src/storage/open-database.ts';

const opened: Array<{ database: Database; blocker: BetterSqlite3.Database }> = [];

afterEach(async () => {
  for (const { database, blocker } of opened.splice(0)) {
    if (blocker.inTransaction) blocker.exec('rollback');
    blocker.close();
    await database.close();
  }
});

/** A real SQLite database, and a second connection able to lock it the way a backup tool or a stuck writer would. */
async function lockableDatabase() {
  const dataDir = mkdtempSync(join(tmpdir(), 'sy-usage-queue-'));
  const database = await openDatabase({ dataDir });
  // Fail at once when locked rather than waiting out the production busy timeout.
  database.sqlite?.pragma('busy_timeout = 0');
  const blocker = new BetterSqlite3(join(dataDir, 'switchyard.db'));
  opened.push({ database, blocker });
  return { database, blocker };
}

function record(recorder: UsageRecorder, count: number): void {
  for (let index = 0; index < count; index++) {
    const outcome = newOutcome(`request-${String(index).padStart(3, '0')}`, 'chat', 'yi34b', null, false);
    recorder.record({ ...outcome, status: 200 });
  }
}

describe('the usage queue while storage fails', () => {
  it('keeps records through a SQLITE_BUSY outage and writes them all once the lock is gone', async () => {
    const { database, blocker } = await lockableDatabase();
    const recorder = new UsageRecorder({ db: database.db, sqlite: database.sqlite, log: pino({ level: 'silent' }), flushMs: 10, retentionDays: 30 });
    blocker.exec('begin exclusive');
    record(recorder, 40);
    await recorder.flush({ force: true });
    expect(recorder.queued).toBe(40);

    blocker.exec('commit');
    await recorder.flush({ force: true });
    expect(recorder.queued).toBe(0);
    expect(await database.db.selectFrom('usage_records').select((eb) => eb.fn.countAll<number>().as('count')).executeTakeFirstOrThrow()).toEqual({ count: 40 });
  });

  it('is bounded: past the bound the oldest records are dropped and counted, the newest kept', async () => {
    const { database, blocker } = await lockableDatabase();
    let dropped = 0;
    const recorder = new UsageRecorder({ db: database.db, sqlite: database.sqlite, log: pino({ level: 'silent' }), flushMs: 10, retentionDays: 30, maxQueued: 100, onDropped: (count) => (dropped += count) });
    blocker.exec('begin exclusive');
    record(recorder, 150);
    await recorder.flush({ force: true });
    expect(recorder.queued).toBe(100);
    expect(dropped).toBe(50);

    blocker.exec('commit');
    await recorder.flush({ force: true });
    const kept = await database.db.selectFrom('usage_records').select('request_id').orderBy('request_id').execute();
    expect(kept.map((row) => row.request_id)).toEqual(Array.from({ length: 100 }, (_, index) => `request-${String(index + 50).padStart(3, '0')}`));
  });
});
