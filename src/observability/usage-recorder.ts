import type { FastifyBaseLogger } from 'fastify';
import type BetterSqlite3 from 'better-sqlite3';
import type { Kysely } from 'kysely';
import { sortableId } from '../lib/sortable-id.ts';
import type { RequestOutcome } from '../data/proxy/request-outcome.ts';
import type { DatabaseSchema, UsageRecordsTable } from '../storage/database-schema.ts';
import { isStorageUnavailable } from '../storage/storage-failure.ts';
import { rollupRowsOf, upsertRollups } from '../storage/rollups/usage-rollups.ts';
import { preparedUsageInsert } from '../storage/sqlite-usage/usage-insert.ts';
import type { UsageSpool } from './usage-spool.ts';

/**
 * One usage record per /v1 request, queued on the request path (a push) and
 * written in batches off it. A crash loses at most one flush interval; a clean
 * stop writes everything queued.
 *
 * Storage may be away (PostgreSQL restarting, SQLite busy). With a spool
 * (decision 0029), a batch storage is unreachable for goes to local disk,
 * fsynced, and the queue stays small; the spool is replayed, oldest first,
 * before anything newer is written once storage answers again (and at
 * start-up, for what an earlier run left). Without one, or when the spool is
 * full or its disk fails, records wait in the queue, retried with backoff. The
 * queue is bounded: past `maxQueued` the oldest records are dropped (and
 * counted), because the newest are the ones an operator looks at first and a
 * bound must never push back on inference.
 */
export class UsageRecorder {
  readonly #db: Kysely<DatabaseSchema>;
  readonly #log: FastifyBaseLogger;
  readonly #flushMs: number;
  readonly #maxQueued: number;
  readonly #onDropped: (count: number) => void;
  readonly #costOf: (outcome: RequestOutcome) => number | null;
  #queue: UsageRecordsTable[] = [];
  /** While storage fails: when to try again, and how long the next wait is. */
  #retryAt = 0;
  #backoffMs = 0;
  #timer: NodeJS.Timeout | null = null;
  #flushing: Promise<void> = Promise.resolve();
  readonly #spool: UsageSpool | null;
  /** Whether this outage has sent records to the spool yet (one loud log per outage). */
  #spooling = false;
  /** Whether the last failure meant storage is unreachable (not a refused statement): only then does the queue go to the spool. */
  #unavailable = false;

  readonly #sqliteInsert: ((rows: UsageRecordsTable[]) => void) | null;
  readonly #writer: ((rows: UsageRecordsTable[]) => Promise<void>) | null;

  constructor(options: {
    db: Kysely<DatabaseSchema>;
    sqlite: BetterSqlite3.Database | null;
    log: FastifyBaseLogger;
    flushMs: number;
    /** Unused: retention runs in UsageMaintenance, in small batches (decision 0029). */
    retentionDays?: number;
    maxQueued?: number;
    onDropped?: (count: number) => void;
    /** What the request cost, from the model's price (none: no cost recorded). */
    costOf?: (outcome: RequestOutcome) => number | null;
    /** Where batches go while storage is unreachable; null keeps them in memory only. */
    spool?: UsageSpool | null;
    /** SQLite: writes a batch off the event loop (the gateway's SqliteUsageWriter); without it, `sqlite` is written in this thread. */
    writer?: ((rows: UsageRecordsTable[]) => Promise<void>) | null;
  }) {
    this.#spool = options.spool ?? null;
    this.#costOf = options.costOf ?? (() => null);
    this.#db = options.db;
    this.#writer = options.writer ?? null;
    this.#sqliteInsert = options.sqlite === null || this.#writer !== null ? null : preparedUsageInsert(options.sqlite);
    this.#log = options.log;
    this.#flushMs = options.flushMs;
    this.#maxQueued = options.maxQueued ?? 100_000;
    this.#onDropped = options.onDropped ?? (() => undefined);
  }

  start(): void {
    this.#timer ??= setInterval(() => void this.flush(), this.#flushMs);
    this.#timer.unref();
    if (this.#spool !== null && !this.#spool.isEmpty) {
      this.#log.warn({ spooled: this.#spool.records, directory: this.#spool.directory }, 'usage records spooled by an earlier run: replaying them once storage answers');
      void this.flush();
    }
  }

  record(outcome: RequestOutcome): void {
    this.#queue.push({
      id: sortableId(outcome.startedAt),
      occurred_at: new Date(outcome.startedAt).toISOString(),
      request_id: outcome.requestId,
      key_id: outcome.keyId,
      requested_model: outcome.requestedModel.slice(0, 256),
      served_model: outcome.servedModel,
      server_id: outcome.serverId,
      route: outcome.route,
      strategy: outcome.strategy,
      attempts: outcome.attempts,
      status: outcome.status,
      error_type: outcome.errorType,
      prompt_tokens: outcome.promptTokens,
      completion_tokens: outcome.completionTokens,
      latency_ms: Math.round(outcome.latencyMs * 1000) / 1000,
      ttft_ms: outcome.ttftMs === null ? null : Math.round(outcome.ttftMs * 1000) / 1000,
      streamed: outcome.streamed ? 1 : 0,
      cache_hit: outcome.cacheHit ? 1 : 0,
      cost: this.#costOf(outcome),
      api: outcome.api,
      queue_wait_ms: Math.round(outcome.queueWaitMs * 1000) / 1000,
    });
    if (this.#queue.length > this.#maxQueued) this.#drop(this.#queue.length - this.#maxQueued);
  }

  /**
   * Replays the spool, then writes what is queued, one transaction per batch;
   * flushes never overlap. While backing off after a failure, storage is not
   * tried (unless forced) but the queue still moves to the spool.
   */
  flush(options: { force?: boolean } = {}): Promise<void> {
    this.#flushing = this.#flushing.then(() => (options.force === true || Date.now() >= this.#retryAt ? this.#write() : this.#spoolQueue()));
    return this.#flushing;
  }

  /** Stops the timer and makes one last attempt at whatever is queued. */
  async stop(): Promise<void> {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    // In an outage, the queue goes to disk first: a last try at a database that does not answer
    // may outlast the time shutdown gives this step.
    this.#flushing = this.#flushing.then(() => this.#spoolQueue());
    await this.flush({ force: true });
    await this.#spool?.close();
    // The queue lives in memory: what neither storage nor the spool would take now is gone with the process.
    if (this.#queue.length > 0) this.#log.error({ lost: this.#queue.length }, 'usage records could not be written before stopping (storage unavailable)');
  }

  get queued(): number {
    return this.#queue.length;
  }

  /** Records in the spool, waiting for storage. */
  get spooled(): number {
    return this.#spool?.records ?? 0;
  }

  async #write(): Promise<void> {
    if (this.#spool !== null && !this.#spool.isEmpty) {
      // What was spooled is older than what is queued: it goes first, and nothing newer is written before it.
      try {
        const replayed = await this.#spool.replay((rows) => this.#insert(rows), isStorageUnavailable);
        this.#log.info({ replayed, directory: this.#spool.directory }, 'usage spool replayed: every spooled record is in storage');
        this.#spooling = false;
      } catch (error) {
        this.#failed(error, this.#queue.length);
        await this.#spoolQueue();
        return;
      }
    }
    if (this.#queue.length > 0) {
      const batch = this.#queue;
      this.#queue = [];
      try {
        await this.#insert(batch);
        if (this.#backoffMs > 0) this.#log.info({ written: batch.length }, 'usage records written again after a storage failure');
      } catch (error) {
        this.#queue = batch.concat(this.#queue);
        this.#failed(error, this.#queue.length);
        await this.#spoolQueue();
        if (this.#queue.length > this.#maxQueued) this.#drop(this.#queue.length - this.#maxQueued);
        return;
      }
    }
    this.#backoffMs = 0;
    this.#retryAt = 0;
    this.#unavailable = false;
  }

  /** One transaction per call; a record already there (a replay after a crash) is left as it is. */
  async #insert(batch: UsageRecordsTable[]): Promise<void> {
    if (this.#writer !== null) return this.#writer(batch);
    if (this.#sqliteInsert !== null) {
      // SQLite writes block the event loop: a prepared statement in one transaction
      // costs microseconds a row, where building the SQL would cost far more.
      this.#sqliteInsert(batch);
      return;
    }
    await this.#db.transaction().execute(async (transaction) => {
      // Chunks keep each statement under PostgreSQL's parameter limit.
      // A commit whose answer was lost with the connection is retried: ids make that harmless.
      const inserted = new Set<string>();
      for (let index = 0; index < batch.length; index += 500) {
        const rows = await transaction
          .insertInto('usage_records')
          .values(batch.slice(index, index + 500).map((row) => ({ ...row, rolled_up: 1 })))
          .onConflict((conflict) => conflict.column('id').doNothing())
          .returning('id')
          .execute();
        for (const row of rows) inserted.add(row.id);
      }
      // Rollups count what this transaction stored, so a replayed batch is not counted twice (decision 0029).
      await upsertRollups(transaction, rollupRowsOf(inserted.size === batch.length ? batch : batch.filter((row) => inserted.has(row.id))));
    });
  }

  /** Backs off before storage is tried again; one warning per outage, not one per flush interval. */
  #failed(error: unknown, queued: number): void {
    this.#unavailable = isStorageUnavailable(error);
    if (this.#backoffMs === 0) this.#log.warn({ err: error instanceof Error ? error.message : 'unknown', queued, spooled: this.spooled }, 'could not write usage records; will retry');
    this.#backoffMs = Math.min(Math.max(this.#flushMs, this.#backoffMs * 2), maxBackoffMs);
    this.#retryAt = Date.now() + this.#backoffMs;
  }

  /** While storage is unreachable: the queue to the spool (if there is one and it takes them). */
  async #spoolQueue(): Promise<void> {
    if (this.#spool === null || this.#queue.length === 0 || !this.#unavailable) return;
    const batch = this.#queue;
    this.#queue = [];
    if (!(await this.#spool.append(batch))) {
      this.#queue = batch.concat(this.#queue);
      if (this.#queue.length > this.#maxQueued) this.#drop(this.#queue.length - this.#maxQueued);
      return;
    }
    if (!this.#spooling) {
      this.#spooling = true;
      this.#log.warn({ spooled: this.#spool.records, directory: this.#spool.directory }, 'storage is unavailable: usage records are being spooled to disk (fsynced) and will be replayed when it is back');
    }
  }

  #drop(count: number): void {
    this.#queue.splice(0, count);
    this.#onDropped(count);
  }
}

const maxBackoffMs = 5_000;

