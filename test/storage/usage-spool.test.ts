import { appendFileSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { newOutcome } from '../../src/data/proxy/request-outcome.ts';
import { UsageRecorder } from '../../src/observability/usage-recorder.ts';
import { UsageSpool } from '../../src/observability/usage-spool.ts';
import type { DatabaseSchema, UsageRecordsTable } from '../../src/storage/database-schema.ts';
import { guardedPostgresPool } from '../../src/storage/guarded-drivers.ts';
import { openDatabase, type Database } from '../../src/storage/open-database.ts';
import { freePort } from '../support/own-postgres.ts';
import { dropSchema, postgresAvailable, postgresUrl, uniqueSchema } from '../support/postgres.ts';
import { waitUntil } from '../support/wait-until.ts';

const hasPostgres = await postgresAvailable();
const silent = pino({ level: 'silent' });

/** A logger that keeps what was logged, to check the loud lines are there. */
function capturingLog() {
  const lines: Array<{ level: number; msg: string } & Record<string, unknown>> = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as { level: number; msg: string }) });
  return { log, lines };
}

function spoolDir(): string {
  return mkdtempSync(join(tmpdir(), 'sy-usage-spool-'));
}

// Recent, so the recorder's retention pruning leaves them alone.
const base = Date.now() - 3_600_000;

function row(index: number): UsageRecordsTable {
  const at = base + index * 1_000;
  return {
    id: `0000${String(at)}-${String(index).padStart(5, '0')}`,
    occurred_at: new Date(at).toISOString(),
    request_id: `request-${String(index).padStart(3, '0')}`,
    key_id: null,
    requested_model: 'yi34b',
    served_model: 'yi34b',
    server_id: null,
    route: 'chat',
    strategy: null,
    attempts: 1,
    status: 200,
    error_type: null,
    prompt_tokens: 3,
    completion_tokens: 5,
    latency_ms: 12.5,
    ttft_ms: null,
    streamed: 0,
    cache_hit: 0,
    cost: null,
    api: 'openai',
    queue_wait_ms: 0,
  } as UsageRecordsTable;
}

function record(recorder: UsageRecorder, from: number, count: number): void {
  for (let index = from; index < from + count; index++) {
    const outcome = newOutcome(`request-${String(index).padStart(3, '0')}`, 'chat', 'yi34b', null, false);
    recorder.record({ ...outcome, status: 200 });
  }
}

function segmentLines(directory: string): string[] {
  return readdirSync(directory)
    .filter((name) => name.endsWith('.jsonl'))
    .sort()
    .flatMap((name) => readFileSync(join(directory, name), 'utf8').split('\n').filter((line) => line !== ''));
}

async function requestIds(database: Database | { db: Kysely<DatabaseSchema> }): Promise<string[]> {
  return (await database.db.selectFrom('usage_records').select('request_id').orderBy('request_id').execute()).map((entry) => entry.request_id);
}

const expectedIds = (count: number) => Array.from({ length: count }, (_, index) => `request-${String(index).padStart(3, '0')}`);
const alwaysUnavailable = () => true;

describe('the usage spool file', () => {
  it('replays segments oldest first, in the order records were appended, and removes each once committed', async () => {
    const directory = spoolDir();
    // Small segments, so the records span several files.
    const spool = new UsageSpool({ directory, log: silent, maxBytes: 10 * 1024 * 1024, segmentBytes: 1_000 });
    for (let batch = 0; batch < 6; batch++) expect(await spool.append([row(batch * 3), row(batch * 3 + 1), row(batch * 3 + 2)])).toBe(true);
    expect(spool.records).toBe(18);
    expect(readdirSync(directory).length).toBeGreaterThan(2);

    const seen: string[] = [];
    const replayed = await spool.replay(async (rows) => void seen.push(...rows.map((entry) => entry.request_id)), alwaysUnavailable, 4);
    expect(replayed).toBe(18);
    expect(seen).toEqual(expectedIds(18));
    expect(spool.records).toBe(0);
    expect(readdirSync(directory)).toEqual([]);
  });

  it('keeps a segment whose records storage did not commit, and replays it whole next time', async () => {
    const directory = spoolDir();
    const spool = new UsageSpool({ directory, log: silent, maxBytes: 10 * 1024 * 1024 });
    await spool.append([row(0), row(1), row(2)]);
    let calls = 0;
    const failing = async () => {
      calls++;
      if (calls === 2) throw new Error('storage went away');
    };
    await expect(spool.replay(failing, alwaysUnavailable, 2)).rejects.toThrow('storage went away');
    expect(spool.records).toBe(3);
    const seen: string[] = [];
    await spool.replay(async (rows) => void seen.push(...rows.map((entry) => entry.request_id)), alwaysUnavailable);
    expect(seen).toEqual(expectedIds(3));
  });

  it('skips a torn last line (a crash mid-write) with a warning and replays the rest', async () => {
    const directory = spoolDir();
    const first = new UsageSpool({ directory, log: silent, maxBytes: 10 * 1024 * 1024 });
    await first.append([row(0), row(1)]);
    await first.close();
    const [segment] = readdirSync(directory);
    // What a kill -9 in the middle of a write leaves: half a record, no newline.
    appendFileSync(join(directory, segment as string), JSON.stringify(row(2)).slice(0, 40));

    const { log, lines } = capturingLog();
    const restarted = new UsageSpool({ directory, log, maxBytes: 10 * 1024 * 1024 });
    expect(restarted.records).toBe(3);
    // The new process appends to a segment of its own, never after the torn line.
    await restarted.append([row(3)]);
    expect(readdirSync(directory)).toHaveLength(2);
    const seen: string[] = [];
    expect(await restarted.replay(async (rows) => void seen.push(...rows.map((entry) => entry.request_id)), alwaysUnavailable)).toBe(3);
    expect(seen).toEqual(['request-000', 'request-001', 'request-003']);
    expect(lines.find((line) => line.level === 40 && /cut short/.test(line.msg))).toMatchObject({ skipped: 1 });
    expect(restarted.records).toBe(0);
  });

  it('refuses past its bound, so the caller keeps the records', async () => {
    const spool = new UsageSpool({ directory: spoolDir(), log: silent, maxBytes: 1_000 });
    expect(await spool.append([row(0)])).toBe(true);
    expect(await spool.append(Array.from({ length: 10 }, (_, index) => row(index + 1)))).toBe(false);
    expect(spool.records).toBe(1);
  });

  it('sets aside a segment storage refuses for a reason other than an outage, and goes on', async () => {
    const directory = spoolDir();
    const spool = new UsageSpool({ directory, log: silent, maxBytes: 10 * 1024 * 1024, segmentBytes: 1 });
    await spool.append([row(0)]);
    await spool.append([row(1)]);
    const seen: string[] = [];
    const insert = async (rows: UsageRecordsTable[]) => {
      if (rows[0]?.request_id === 'request-000') throw new Error('constraint');
      seen.push(...rows.map((entry) => entry.request_id));
    };
    expect(await spool.replay(insert, () => false)).toBe(1);
    expect(seen).toEqual(['request-001']);
    expect(readdirSync(directory).filter((name) => name.endsWith('.rejected'))).toHaveLength(1);
  });
});

const opened: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of opened.splice(0)) await close();
});

describe('the usage recorder with a spool on SQLite', () => {
  async function lockableDatabase() {
    const dataDir = mkdtempSync(join(tmpdir(), 'sy-usage-spool-db-'));
    const database = await openDatabase({ dataDir });
    database.sqlite?.pragma('busy_timeout = 0');
    const blocker = new BetterSqlite3(join(dataDir, 'switchyard.db'));
    opened.push(async () => {
      if (blocker.inTransaction) blocker.exec('rollback');
      blocker.close();
      await database.close();
    });
    return { database, blocker };
  }

  it('spools a batch storage is unavailable for, keeps the queue empty, and replays it once storage is back', async () => {
    const { database, blocker } = await lockableDatabase();
    const directory = spoolDir();
    const { log, lines } = capturingLog();
    const recorder = new UsageRecorder({ db: database.db, sqlite: database.sqlite, log, flushMs: 10, retentionDays: 30, spool: new UsageSpool({ directory, log, maxBytes: 1024 * 1024 }) });
    blocker.exec('begin exclusive');
    record(recorder, 0, 25);
    await recorder.flush({ force: true });
    // While backing off, storage is not tried, but new records still go to disk.
    record(recorder, 25, 15);
    await recorder.flush();
    expect(recorder.queued).toBe(0);
    expect(recorder.spooled).toBe(40);
    expect(segmentLines(directory).map((line) => (JSON.parse(line) as UsageRecordsTable).request_id)).toEqual(expectedIds(40));
    expect(lines.filter((line) => /being spooled to disk/.test(line.msg))).toHaveLength(1);

    blocker.exec('commit');
    await recorder.flush({ force: true });
    expect(recorder.spooled).toBe(0);
    expect(await requestIds(database)).toEqual(expectedIds(40));
    expect(segmentLines(directory)).toEqual([]);
    expect(lines.find((line) => /spool replayed/.test(line.msg))).toMatchObject({ replayed: 40 });
  });

  it('replays a spool again after a crash between the commit and the removal without writing any record twice', async () => {
    const { database } = await lockableDatabase();
    const directory = spoolDir();
    const spool = new UsageSpool({ directory, log: silent, maxBytes: 1024 * 1024 });
    const rows = Array.from({ length: 30 }, (_, index) => row(index));
    await spool.append(rows);
    await spool.close();
    // The first 20 were committed by the run that crashed before it could remove the segment.
    const first = new UsageRecorder({ db: database.db, sqlite: database.sqlite, log: silent, flushMs: 10, retentionDays: 30 });
    database.sqlite?.transaction(() => {
      for (const entry of rows.slice(0, 20)) database.sqlite?.prepare('insert into usage_records (id, occurred_at, request_id, status, latency_ms, api) values (?, ?, ?, ?, ?, ?)').run(entry.id, entry.occurred_at, entry.request_id, entry.status, entry.latency_ms, entry.api);
    })();
    await first.stop();

    const restarted = new UsageRecorder({ db: database.db, sqlite: database.sqlite, log: silent, flushMs: 10, retentionDays: 30, spool: new UsageSpool({ directory, log: silent, maxBytes: 1024 * 1024 }) });
    expect(restarted.spooled).toBe(30);
    restarted.start();
    await restarted.flush();
    await restarted.stop();
    expect(await requestIds(database)).toEqual(expectedIds(30));
    expect(restarted.spooled).toBe(0);
  });
});

describe.skipIf(!hasPostgres)('the usage recorder with a spool on PostgreSQL', () => {
  const schema = uniqueSchema('sy_usage_spool');
  let database: Database;

  beforeAll(async () => {
    database = await openDatabase({ dataDir: '/nonexistent', databaseUrl: postgresUrl, postgresSchema: schema });
  });

  afterAll(async () => {
    await database?.close();
    await dropSchema(schema);
  });

  it('spools while PostgreSQL is unreachable, then a restarted recorder replays it exactly once, even a part already committed', async () => {
    // A pool to a port nothing listens on: what an outage looks like to the recorder.
    const unreachable = new Kysely<DatabaseSchema>({ dialect: new PostgresDialect({ pool: guardedPostgresPool(new pg.Pool({ connectionString: `postgres://postgres@127.0.0.1:${await freePort()}/test`, connectionTimeoutMillis: 1_000 })) }) });
    opened.push(() => unreachable.destroy());
    const directory = spoolDir();
    const down = new UsageRecorder({ db: unreachable, sqlite: null, log: silent, flushMs: 10, retentionDays: 30, spool: new UsageSpool({ directory, log: silent, maxBytes: 1024 * 1024 }) });
    record(down, 0, 40);
    await down.flush({ force: true });
    expect(down.queued).toBe(0);
    expect(down.spooled).toBe(40);
    // kill -9 here: nothing more runs in this recorder. Say its replay had committed the first 15 before dying.
    const spooled = segmentLines(directory).map((line) => JSON.parse(line) as UsageRecordsTable);
    await database.db.insertInto('usage_records').values(spooled.slice(0, 15)).execute();

    const restarted = new UsageRecorder({ db: database.db, sqlite: null, log: silent, flushMs: 10, retentionDays: 30, spool: new UsageSpool({ directory, log: silent, maxBytes: 1024 * 1024 }) });
    restarted.start();
    await restarted.flush();
    await restarted.stop();
    expect(await requestIds(database)).toEqual(expectedIds(40));
    expect(restarted.spooled).toBe(0);
    expect(segmentLines(directory)).toEqual([]);
  });
});

describe('the usage recorder stopping during an outage', () => {
  it('spools the queue before its last try at a database that does not answer, so shutdown cannot lose it to a timeout', async () => {
    // A "PostgreSQL" that first drops every connection (an outage the recorder notices), then holds them unanswered (a black hole).
    const held: Socket[] = [];
    let mode: 'drop' | 'hold' = 'drop';
    const server = createServer((socket) => (mode === 'drop' ? socket.destroy() : held.push(socket)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const db = new Kysely<DatabaseSchema>({ dialect: new PostgresDialect({ pool: guardedPostgresPool(new pg.Pool({ connectionString: `postgres://postgres@127.0.0.1:${port}/test`, connectionTimeoutMillis: 120_000 })) }) });
    opened.push(async () => {
      for (const socket of held) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await db.destroy();
    });
    const recorder = new UsageRecorder({ db, sqlite: null, log: silent, flushMs: 10, retentionDays: 30, spool: new UsageSpool({ directory: spoolDir(), log: silent, maxBytes: 1024 * 1024 }) });
    record(recorder, 0, 10);
    await recorder.flush({ force: true });
    expect(recorder.spooled).toBe(10);

    mode = 'hold';
    record(recorder, 10, 5);
    let stopped = false;
    const stopping = recorder.stop().then(() => (stopped = true));
    await waitUntil(() => recorder.spooled === 15, { what: 'the queue in the spool while the last try hangs' });
    expect(recorder.queued).toBe(0);
    expect(stopped).toBe(false);
    for (const socket of held) socket.destroy();
    await stopping;
    expect(recorder.spooled).toBe(15);
  });
});
