import type { UsageRecordsTable } from '../../storage/database-schema.ts';
import type { Measures } from '../../storage/rollups/usage-rollups.ts';
import { quantileOf } from './histogram-buckets.ts';

/** Figures for a set of requests; latencies in ms. */
export interface UsageStatistics {
  requests: number;
  successes: number;
  success_rate: number | null;
  p50_latency_ms: number | null;
  p95_latency_ms: number | null;
  p50_ttft_ms: number | null;
  prompt_tokens: number;
  completion_tokens: number;
  tokens_per_second: number | null;
  /** Answered from the response cache (exact and semantic hits). */
  cache_hits: number;
  /** cache_hits over requests; null without requests. */
  cache_hit_ratio: number | null;
  /** What the requests cost at their models' prices (gateway currency); null when none had a price. */
  cost: number | null;
  /** Requests that waited in the admission queue for capacity, and the 95th percentile of their waits (ms). */
  queued: number;
  p95_queue_wait_ms: number | null;
}

/** The columns analytics read of a usage record. */
export type UsageRow = Pick<
  UsageRecordsTable,
  'occurred_at' | 'key_id' | 'served_model' | 'requested_model' | 'server_id' | 'status' | 'error_type' | 'prompt_tokens' | 'completion_tokens' | 'latency_ms' | 'ttft_ms'
> &
  // Optional: rows built by hand (tests, benchmarks) need not say it.
  Partial<Pick<UsageRecordsTable, 'cache_hit' | 'cost' | 'api' | 'queue_wait_ms'>>;

export function isSuccess(row: UsageRow): boolean {
  return Number(row.status) < 400 && row.error_type === null;
}

/** Percentiles by nearest rank over successful requests' latencies. */
export function summarize(rows: readonly UsageRow[]): UsageStatistics {
  const successes = rows.filter(isSuccess);
  const latencies = successes.map((row) => Number(row.latency_ms)).sort((a, b) => a - b);
  const ttfts = successes.map((row) => (row.ttft_ms === null ? null : Number(row.ttft_ms))).filter((value): value is number => value !== null).sort((a, b) => a - b);
  const completion = successes.reduce((sum, row) => sum + Number(row.completion_tokens ?? 0), 0);
  const cacheHits = rows.reduce((sum, row) => sum + (Number(row.cache_hit ?? 0) === 1 ? 1 : 0), 0);
  const waits = rows.map((row) => Number(row.queue_wait_ms ?? 0)).filter((wait) => wait > 0).sort((a, b) => a - b);
  const generationSeconds = successes.reduce((sum, row) => sum + Math.max(0, Number(row.latency_ms) - Number(row.ttft_ms ?? 0)) / 1000, 0);
  return {
    requests: rows.length,
    successes: successes.length,
    success_rate: rows.length === 0 ? null : round(successes.length / rows.length, 4),
    p50_latency_ms: percentile(latencies, 0.5),
    p95_latency_ms: percentile(latencies, 0.95),
    p50_ttft_ms: percentile(ttfts, 0.5),
    prompt_tokens: rows.reduce((sum, row) => sum + Number(row.prompt_tokens ?? 0), 0),
    completion_tokens: rows.reduce((sum, row) => sum + Number(row.completion_tokens ?? 0), 0),
    tokens_per_second: generationSeconds > 0 && completion > 0 ? round(completion / generationSeconds, 1) : null,
    cache_hits: cacheHits,
    cache_hit_ratio: rows.length === 0 ? null : round(cacheHits / rows.length, 4),
    cost: totalCost(rows),
    queued: waits.length,
    p95_queue_wait_ms: percentile(waits, 0.95),
  };
}

/** The same figures from rollup sums: counts and sums exact, quantiles from histogram buckets (decision 0029). */
export function statisticsOf(measures: Measures): UsageStatistics {
  const { requests, successes } = measures;
  const generationSeconds = measures.generation_ms / 1000;
  return {
    requests,
    successes,
    success_rate: requests === 0 ? null : round(successes / requests, 4),
    p50_latency_ms: quantileOf(measures.latency, 0.5),
    p95_latency_ms: quantileOf(measures.latency, 0.95),
    p50_ttft_ms: quantileOf(measures.ttft, 0.5),
    prompt_tokens: measures.prompt_tokens,
    completion_tokens: measures.completion_tokens,
    tokens_per_second: generationSeconds > 0 && measures.success_completion_tokens > 0 ? round(measures.success_completion_tokens / generationSeconds, 1) : null,
    cache_hits: measures.cache_hits,
    cache_hit_ratio: requests === 0 ? null : round(measures.cache_hits / requests, 4),
    cost: measures.costed === 0 ? null : round(measures.cost, 9),
    queued: measures.queued,
    p95_queue_wait_ms: quantileOf(measures.wait, 0.95),
  };
}

function totalCost(rows: readonly UsageRow[]): number | null {
  let sum: number | null = null;
  for (const row of rows) if (row.cost !== null && row.cost !== undefined) sum = (sum ?? 0) + Number(row.cost);
  // Nine places: a request at list prices costs millionths.
  return sum === null ? null : round(sum, 9);
}

/** Failed requests by the error code the client received (rate limits and budgets included). */
export function errorBreakdown(rows: readonly UsageRow[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const row of rows) if (row.error_type !== null) counts[row.error_type] = (counts[row.error_type] ?? 0) + 1;
  return counts;
}

export function percentile(sorted: readonly number[], quantile: number): number | null {
  if (sorted.length === 0) return null;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(quantile * sorted.length) - 1));
  return round(sorted[index] as number, 3);
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

export function groupBy<T>(rows: readonly T[], key: (row: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const row of rows) {
    const name = key(row);
    const list = groups.get(name);
    if (list === undefined) groups.set(name, [row]);
    else list.push(row);
  }
  return groups;
}
