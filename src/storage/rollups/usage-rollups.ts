import { sql, type Kysely, type Transaction } from 'kysely';
import { keyGroupId } from '../../control/analytics/key-group.ts';
import { bucketCount, bucketOf } from '../../control/analytics/histogram-buckets.ts';
import type { DatabaseSchema, UsageRecordsTable } from '../database-schema.ts';

type Executor = Kysely<DatabaseSchema> | Transaction<DatabaseSchema>;

/**
 * What a rollup row adds up for the requests of one minute (or hour) that
 * share one value of one dimension (decision 0029). Latencies, times to first
 * token and queue waits are counted in histogram buckets.
 */
export interface Measures {
  requests: number;
  /** Status below 400 and no error code: the requests latency figures are about. */
  successes: number;
  /** Status 500 and above (the thresholds' and version figures' error rate). */
  server_errors: number;
  prompt_tokens: number;
  completion_tokens: number;
  /** Completion tokens of successes, and their generation time (latency less time to first token): tokens per second. */
  success_completion_tokens: number;
  generation_ms: number;
  cache_hits: number;
  cost: number;
  /** Requests that had a price (a null cost when none did). */
  costed: number;
  /** Requests that waited in the admission queue. */
  queued: number;
  latency: number[];
  ttft: number[];
  wait: number[];
}

/** The dimensions every record is counted under; `#error` rows count error codes per value. */
export type Dimension = 'all' | 'model' | 'server' | 'key' | 'api' | 'route' | 'model_server';
const errorDimensions: readonly Dimension[] = ['all', 'model', 'server', 'key', 'api'];

export type Period = 'm' | 'h';

/**
 * Per-key minute rows are kept this long, not with the raw records: a row per
 * key per minute is nearly a row per request at moderate traffic, and kept 30
 * days it doubled the table and slowed the 30-day per-key query past 500 ms
 * (docs/benchmarks.md). Older windows by key resolve to the hour (decision 0029).
 */
export const keyMinuteRetentionMs = 48 * 3_600_000;
export const shortMinuteDimensions: readonly string[] = ['key', 'key#error'];

const scalarColumns = ['requests', 'successes', 'server_errors', 'prompt_tokens', 'completion_tokens', 'success_completion_tokens', 'generation_ms', 'cache_hits', 'cost', 'costed', 'queued'] as const;
const histograms = [
  ['latency', 'l'],
  ['ttft', 't'],
  ['wait', 'w'],
] as const;
export const histogramColumns = histograms.flatMap(([, prefix]) => Array.from({ length: bucketCount }, (_, index) => `${prefix}${index}`));
/** Every measure column, in one order. */
export const measureColumns: readonly string[] = [...scalarColumns, ...histogramColumns];
const keyColumns = ['dimension', 'period', 'bucket', 'value'] as const;

export function emptyMeasures(): Measures {
  return {
    requests: 0,
    successes: 0,
    server_errors: 0,
    prompt_tokens: 0,
    completion_tokens: 0,
    success_completion_tokens: 0,
    generation_ms: 0,
    cache_hits: 0,
    cost: 0,
    costed: 0,
    queued: 0,
    latency: new Array<number>(bucketCount).fill(0),
    ttft: new Array<number>(bucketCount).fill(0),
    wait: new Array<number>(bucketCount).fill(0),
  };
}

function addRecord(measures: Measures, record: UsageRecordsTable): void {
  const status = Number(record.status);
  const latency = Number(record.latency_ms);
  const ttft = record.ttft_ms === null ? null : Number(record.ttft_ms);
  const wait = Number(record.queue_wait_ms ?? 0);
  measures.requests++;
  measures.prompt_tokens += Number(record.prompt_tokens ?? 0);
  measures.completion_tokens += Number(record.completion_tokens ?? 0);
  if (status >= 500) measures.server_errors++;
  if (Number(record.cache_hit) === 1) measures.cache_hits++;
  if (record.cost !== null) {
    measures.cost += Number(record.cost);
    measures.costed++;
  }
  if (wait > 0) {
    measures.queued++;
    (measures.wait[bucketOf(wait)] as number)++;
  }
  if (status < 400 && record.error_type === null) {
    measures.successes++;
    measures.success_completion_tokens += Number(record.completion_tokens ?? 0);
    measures.generation_ms += Math.max(0, latency - (ttft ?? 0));
    (measures.latency[bucketOf(latency)] as number)++;
    if (ttft !== null) (measures.ttft[bucketOf(ttft)] as number)++;
  }
}

export function mergeMeasures(into: Measures, from: Measures): void {
  for (const column of scalarColumns) into[column] += from[column];
  for (const [name] of histograms) for (let index = 0; index < bucketCount; index++) (into[name][index] as number) += from[name][index] as number;
}

/** The value a record is counted under, per dimension (null: not counted under it). */
export function dimensionValues(record: Pick<UsageRecordsTable, 'served_model' | 'requested_model' | 'server_id' | 'key_id' | 'api' | 'route'>): Array<[Dimension, string]> {
  const values: Array<[Dimension, string]> = [
    ['all', ''],
    ['model', modelGroup(record.served_model, record.requested_model)],
    ['server', record.server_id ?? 'none'],
    ['key', keyGroupId(record.key_id)],
    ['api', record.api ?? 'openai'],
  ];
  if (record.route !== null) values.push(['route', record.route]);
  if (record.served_model !== null) values.push(['model_server', modelServerValue(record.served_model, record.server_id)]);
  return values;
}

/** How analytics name a model group: the model that answered, else what was asked for. */
export function modelGroup(servedModel: string | null, requestedModel: string | null): string {
  return servedModel ?? `unserved: ${requestedModel ?? 'unknown'}`;
}

export function modelServerValue(model: string, serverId: string | null): string {
  return `${model}\n${serverId ?? ''}`;
}

export interface RollupRow {
  dimension: string;
  period: Period;
  bucket: string;
  value: string;
  measures: Measures;
}

/** A batch of records as rollup rows: per minute and per hour, per dimension value, with error codes counted apart. */
export function rollupRowsOf(records: readonly UsageRecordsTable[]): RollupRow[] {
  const rows = new Map<string, RollupRow>();
  const add = (dimension: string, period: Period, bucket: string, value: string, record: UsageRecordsTable | null) => {
    const key = `${dimension}\u0000${period}\u0000${bucket}\u0000${value}`;
    let row = rows.get(key);
    if (row === undefined) {
      row = { dimension, period, bucket, value, measures: emptyMeasures() };
      rows.set(key, row);
    }
    if (record !== null) addRecord(row.measures, record);
    else row.measures.requests++;
  };
  for (const record of records) {
    const minute = `${record.occurred_at.slice(0, 16)}:00.000Z`;
    const hour = `${record.occurred_at.slice(0, 13)}:00:00.000Z`;
    for (const [dimension, value] of dimensionValues(record)) {
      add(dimension, 'm', minute, value, record);
      add(dimension, 'h', hour, value, record);
      if (record.error_type !== null && errorDimensions.includes(dimension)) {
        const errorDimension = `${dimension}#error`;
        add(errorDimension, 'm', minute, `${value}\n${record.error_type}`, null);
        add(errorDimension, 'h', hour, `${value}\n${record.error_type}`, null);
      }
    }
  }
  // One order for every writer: replicas adding to the same rows lock them in the same order, never in a cycle.
  return [...rows.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, row]) => row);
}

function flatten(row: RollupRow): Array<string | number> {
  const { measures } = row;
  return [row.dimension, row.period, row.bucket, row.value, ...scalarColumns.map((column) => measures[column]), ...measures.latency, ...measures.ttft, ...measures.wait];
}

const allColumns = [...keyColumns, ...measureColumns];
// PostgreSQL takes at most 65,535 parameters a statement, SQLite 32,766.
const rowsPerStatement = Math.floor(30_000 / allColumns.length);
const addOnConflict = measureColumns.map((column) => `${column} = usage_rollups.${column} + excluded.${column}`).join(', ');

/** Adds rollup rows to what is stored (creating the rows that are not there), with the executor of the records' own transaction. */
export async function upsertRollups(executor: Executor, rows: readonly RollupRow[]): Promise<void> {
  for (let start = 0; start < rows.length; start += rowsPerStatement) {
    const chunk = rows.slice(start, start + rowsPerStatement);
    const values = sql.join(chunk.map((row) => sql`(${sql.join(flatten(row))})`));
    await sql`insert into usage_rollups (${sql.raw(allColumns.join(', '))}) values ${values} on conflict (dimension, period, bucket, value) do update set ${sql.raw(addOnConflict)}`.execute(executor);
  }
}

/** The same upsert as a better-sqlite3 statement, for the SQLite write path that runs inside its own transaction. */
export function sqliteRollupUpsert(connection: { prepare(source: string): { run(...parameters: unknown[]): unknown } }): (rows: readonly RollupRow[]) => void {
  const statement = connection.prepare(`insert into usage_rollups (${allColumns.join(', ')}) values (${allColumns.map(() => '?').join(', ')}) on conflict (dimension, period, bucket, value) do update set ${addOnConflict}`);
  return (rows) => {
    for (const row of rows) statement.run(...flatten(row));
  };
}

/** Reads stored rollup sums back into Measures (PostgreSQL answers bigint sums as strings). */
export function measuresFromRow(row: Record<string, unknown>): Measures {
  const measures = emptyMeasures();
  for (const column of scalarColumns) measures[column] = Number(row[column] ?? 0);
  for (const [name, prefix] of histograms) for (let index = 0; index < bucketCount; index++) measures[name][index] = Number(row[`${prefix}${index}`] ?? 0);
  return measures;
}
