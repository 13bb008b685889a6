import type { FastifyBaseLogger } from 'fastify';
import { sql, type Kysely } from 'kysely';
import type { DatabaseSchema, UsageRecordsTable } from '../storage/database-schema.ts';
import type BetterSqlite3 from 'better-sqlite3';
import { keyMinuteRetentionMs, rollupRowsOf, shortMinuteDimensions, sqliteRollupUpsert, upsertRollups } from '../storage/rollups/usage-rollups.ts';

/**
 * Rows a statement (or backfill transaction). SQLite runs on the event loop, so
 * its chunks are small: a 5,000-record backfill chunk held it for over a second.
 */
const chunkRowsBy = { postgres: 5_000, sqlite: 500 } as const;
const backfillEveryMs = 60_000;
const retentionEveryMs = 3_600_000;

export interface MaintenanceOptions {
  db: Kysely<DatabaseSchema>;
  dialect: 'sqlite' | 'postgres';
  /** The raw SQLite connection: its backfill uses prepared statements (building the SQL cost more than running it). */
  sqlite?: BetterSqlite3.Database | null;
  log: FastifyBaseLogger;
  /** Raw records (and minute rollups) keep this many days; hour rollups keep `rollupRetentionDays`. */
  retentionDays: number;
  rollupRetentionDays: number;
  /** With replicas, the health checker does this work (decision 0033); the others skip it. */
  mayRun?: () => boolean;
  now?: () => number;
}

/**
 * Off the request and flush paths (decision 0029): adds records that have no
 * rollup yet (older than the rollups, or written by a previous release during
 * a rolling upgrade) to the rollups, and deletes what is past retention, both
 * a few thousand rows a statement with a pause between, so neither holds a
 * long lock nor a large transaction.
 */
export class UsageMaintenance {
  readonly #options: MaintenanceOptions;
  #complete = false;
  #timers: NodeJS.Timeout[] = [];
  #running: Promise<void> | null = null;
  #stopped = false;

  readonly #chunkRows: number;
  readonly #sqliteBackfill: ((limit: number) => number) | null;

  constructor(options: MaintenanceOptions) {
    this.#options = options;
    this.#chunkRows = chunkRowsBy[options.dialect];
    this.#sqliteBackfill = options.sqlite === undefined || options.sqlite === null ? null : preparedBackfill(options.sqlite);
  }

  /** True once no stored record is missing from the rollups (as of the last look). */
  get rollupsComplete(): boolean {
    return this.#complete;
  }

  start(): void {
    void this.#run(() => this.backfill());
    this.#timers.push(
      setInterval(() => void this.#run(() => this.backfill()), backfillEveryMs),
      setInterval(() => void this.#run(() => this.applyRetention()), retentionEveryMs),
    );
    for (const timer of this.#timers) timer.unref();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const timer of this.#timers) clearInterval(timer);
    await this.#running;
  }

  /** Rolls up every record not yet counted, a chunk a transaction (on the replica that may); returns how many. */
  async backfill(): Promise<number> {
    let total = 0;
    for (;;) {
      if (!(this.#options.mayRun?.() ?? true)) break;
      const done = await this.#backfillChunk();
      total += done;
      if (done < this.#chunkRows || this.#stopped) break;
      await yieldToRequests();
    }
    if (total > 0) this.#options.log.info({ records: total }, 'usage records added to the rollups (backfill)');
    this.#complete = (await this.#options.db.selectFrom('usage_records').select('id').where('rolled_up', '=', 0).limit(1).execute()).length === 0;
    return total;
  }

  /** Deletes raw records and minute rollups past the retention, and hour rollups past theirs; returns rows deleted. */
  async applyRetention(): Promise<number> {
    if (!(this.#options.mayRun?.() ?? true)) return 0;
    const now = (this.#options.now ?? Date.now)();
    const rawCut = now - this.#options.retentionDays * 86_400_000;
    const rawBefore = new Date(rawCut).toISOString();
    // A rollup row goes once all of its minute (hour) is past retention: the one the cut falls in still
    // counts records that are kept, and a window starting at the cut reads it.
    const minutesBefore = new Date(Math.floor(rawCut / 60_000) * 60_000).toISOString();
    const hourBefore = new Date(Math.floor((now - this.#options.rollupRetentionDays * 86_400_000) / 3_600_000) * 3_600_000).toISOString();
    let deleted = 0;
    deleted += await this.#deleteInChunks(() => sql`delete from usage_records where id in (select id from usage_records where occurred_at < ${rawBefore} limit ${this.#chunkRows})`);
    deleted += await this.#deleteInChunks(() => sql`delete from usage_rollups where (dimension, period, bucket, value) in (select dimension, period, bucket, value from usage_rollups where period = 'm' and bucket < ${minutesBefore} limit ${this.#chunkRows})`);
    // Per-key minute rows go after 48 h; the hour rows hold those keys from then on.
    const keyMinutesBefore = new Date(Math.floor((now - keyMinuteRetentionMs) / 60_000) * 60_000).toISOString();
    deleted += await this.#deleteInChunks(() => sql`delete from usage_rollups where (dimension, period, bucket, value) in (select dimension, period, bucket, value from usage_rollups where dimension in (${sql.join(shortMinuteDimensions)}) and period = 'm' and bucket < ${keyMinutesBefore} limit ${this.#chunkRows})`);
    deleted += await this.#deleteInChunks(() => sql`delete from usage_rollups where (dimension, period, bucket, value) in (select dimension, period, bucket, value from usage_rollups where period = 'h' and bucket < ${hourBefore} limit ${this.#chunkRows})`);
    if (deleted > 0) this.#options.log.info({ deleted }, 'usage past retention deleted');
    return deleted;
  }

  async #backfillChunk(): Promise<number> {
    const { db, dialect } = this.#options;
    if (this.#sqliteBackfill !== null) return this.#sqliteBackfill(this.#chunkRows);
    return db.transaction().execute(async (transaction) => {
      // Replicas backfilling at once take disjoint rows (PostgreSQL); SQLite has one writer.
      const lock = dialect === 'postgres' ? sql` for update skip locked` : sql``;
      const rows = (await sql<UsageRecordsTable>`select * from usage_records where rolled_up = 0 order by id limit ${this.#chunkRows}${lock}`.execute(transaction)).rows;
      if (rows.length === 0) return 0;
      await upsertRollups(transaction, rollupRowsOf(rows));
      const ids = rows.map((row) => row.id);
      for (let index = 0; index < ids.length; index += 1_000) await transaction.updateTable('usage_records').set({ rolled_up: 1 }).where('id', 'in', ids.slice(index, index + 1_000)).execute();
      return rows.length;
    });
  }

  async #deleteInChunks(statement: () => ReturnType<typeof sql>): Promise<number> {
    let total = 0;
    for (;;) {
      const result = await statement().execute(this.#options.db);
      const deleted = Number(result.numAffectedRows ?? 0);
      total += deleted;
      if (deleted < this.#chunkRows || this.#stopped) return total;
      await yieldToRequests();
    }
  }

  /** One job at a time; errors are logged (storage may be away), and the next timer tries again. */
  #run(job: () => Promise<unknown>): Promise<void> {
    if (this.#running !== null || this.#stopped) return this.#running ?? Promise.resolve();
    this.#running = job()
      .then(() => undefined)
      .catch((error: unknown) => this.#options.log.warn({ err: error instanceof Error ? error.message : 'unknown' }, 'usage maintenance (rollup backfill or retention) failed; it runs again later'))
      .finally(() => {
        this.#running = null;
      });
    return this.#running;
  }
}

/** One SQLite backfill chunk in one transaction: the records, their rollups, and their mark. */
function preparedBackfill(connection: BetterSqlite3.Database): (limit: number) => number {
  const select = connection.prepare('select * from usage_records where rolled_up = 0 order by id limit ?');
  const mark = connection.prepare('update usage_records set rolled_up = 1 where id = ?');
  const upsert = sqliteRollupUpsert(connection);
  return connection.transaction((limit: number) => {
    const rows = select.all(limit) as UsageRecordsTable[];
    upsert(rollupRowsOf(rows));
    for (const row of rows) mark.run(row.id);
    return rows.length;
  });
}

/** Lets requests through between chunks. */
function yieldToRequests(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 10));
}
