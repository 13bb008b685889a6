import { sql, type Kysely } from 'kysely';
import type { UsageRow } from '../control/analytics/usage-statistics.ts';
import type { DatabaseSchema } from './database-schema.ts';
import { keyMinuteRetentionMs, measureColumns, measuresFromRow, shortMinuteDimensions, type Dimension, type Measures } from './rollups/usage-rollups.ts';
import { rollupWindow } from './rollups/rollup-window.ts';

// Analytics read at most this many rows per query; the answer says when it was cut.
export const usageRowLimit = 500_000;

/**
 * Below this many requests in a window, analytics read the raw records (exact
 * quantiles, a few MB at most); above it, the rollups (decision 0029).
 */
export const defaultRawRowsMax = 20_000;

export interface RollupSum {
  value: string;
  /** The hour or minute the sum is for, when asked to group by it. */
  bucket: string | null;
  measures: Measures;
}

const sumList = sql.raw(measureColumns.map((column) => `sum(${column}) as ${column}`).join(', '));

/** Reads usage records and their rollups for analytics. */
export class UsageStore {
  readonly #db: Kysely<DatabaseSchema>;
  readonly rawRowsMax: number;
  #rollupsComplete: () => boolean;
  readonly #now: () => number;

  constructor(db: Kysely<DatabaseSchema>, options: { rawRowsMax?: number; rollupsComplete?: () => boolean; now?: () => number } = {}) {
    this.#db = db;
    this.#now = options.now ?? Date.now;
    this.rawRowsMax = options.rawRowsMax ?? defaultRawRowsMax;
    this.#rollupsComplete = options.rollupsComplete ?? (() => true);
  }

  /** Tells the store whether rollups hold every stored record yet (the backfill of older records is done). */
  setRollupsComplete(isComplete: () => boolean): void {
    this.#rollupsComplete = isComplete;
  }

  async between(from: string, to: string, model?: string): Promise<UsageRow[]> {
    let query = this.#db
      .selectFrom('usage_records')
      .select(['occurred_at', 'key_id', 'served_model', 'requested_model', 'server_id', 'status', 'error_type', 'prompt_tokens', 'completion_tokens', 'latency_ms', 'ttft_ms', 'cache_hit', 'cost', 'api', 'queue_wait_ms'])
      .where('occurred_at', '>=', from)
      .where('occurred_at', '<', to);
    if (model !== undefined) query = query.where('served_model', '=', model);
    return query.orderBy('occurred_at').limit(usageRowLimit).execute();
  }

  /**
   * Whether a window is better read from rollups: they hold every record (the
   * backfill is done) and the window holds more requests than raw reads keep.
   */
  async prefersRollups(from: string, to: string): Promise<boolean> {
    if (!this.#rollupsComplete()) return false;
    const [all] = await this.rollupSums({ dimension: 'all', from, to });
    return (all?.measures.requests ?? 0) > this.rawRowsMax;
  }

  /** Rollup sums over a window, per value of one dimension (and per hour or minute when asked). */
  async rollupSums(options: { dimension: Dimension | `${Dimension}#error`; from: string; to: string; by?: 'hour' | 'minute' }): Promise<RollupSum[]> {
    const window = options.by === 'minute' ? { hours: null, minutes: [{ from: `${options.from.slice(0, 16)}:00.000Z`, to: options.to }] } : rollupWindow(options.from, options.to, shortMinuteDimensions.includes(options.dimension) ? this.#now() - keyMinuteRetentionMs : undefined);
    // One index range (dimension, period, bucket) per part: an OR of them would scan every row of the dimension.
    const ranges = [
      ...(window.hours === null ? [] : [{ period: 'h', ...window.hours }]),
      ...window.minutes.map((range) => ({ period: 'm', ...range })),
    ].map((range) => sql`select * from usage_rollups where dimension = ${options.dimension} and period = ${range.period} and bucket >= ${range.from} and bucket < ${range.to}`);
    const bucket = options.by === 'hour' ? sql`substr(bucket, 1, 13)` : options.by === 'minute' ? sql`bucket` : sql`''`;
    const result = await sql<Record<string, unknown>>`select value, ${bucket} as slot, ${sumList} from (${sql.join(ranges, sql` union all `)}) as picked group by value${options.by === undefined ? sql`` : sql`, ${bucket}`}`.execute(this.#db);
    return result.rows.map((row) => ({
      value: String(row['value']),
      bucket: options.by === 'hour' ? `${String(row['slot'])}:00:00Z` : options.by === 'minute' ? String(row['slot']) : null,
      measures: measuresFromRow(row),
    }));
  }

  /** Error codes per value of a dimension over a window, from rollups. */
  async rollupErrors(dimension: Dimension, from: string, to: string): Promise<Map<string, Record<string, number>>> {
    const byValue = new Map<string, Record<string, number>>();
    for (const entry of await this.rollupSums({ dimension: `${dimension}#error`, from, to })) {
      const split = entry.value.lastIndexOf('\n');
      const value = entry.value.slice(0, split);
      const counts = byValue.get(value) ?? {};
      counts[entry.value.slice(split + 1)] = entry.measures.requests;
      byValue.set(value, counts);
    }
    return byValue;
  }
}
