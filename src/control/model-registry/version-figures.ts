import type { FastifyBaseLogger } from 'fastify';
import type { ModelVersionDailyTable } from '../../storage/database-schema.ts';
import type { ModelRegistryStore } from '../../storage/model-registry-store.ts';
import type { UsageStore } from '../../storage/usage-store.ts';
import { groupBy, isSuccess, percentile, type UsageRow } from '../analytics/usage-statistics.ts';
import type { VersionTracker } from './version-tracker.ts';
import { emptyMeasures, mergeMeasures, type Measures } from '../../storage/rollups/usage-rollups.ts';
import { quantileOf } from '../analytics/histogram-buckets.ts';

const dayMs = 86_400_000;
const everyMs = 10 * 60_000;

export interface DailyFigures {
  day: string;
  requests: number;
  errors: number;
  error_rate: number | null;
  p50_latency_ms: number | null;
  p95_latency_ms: number | null;
  p50_ttft_ms: number | null;
  p95_ttft_ms: number | null;
  tokens_per_s: number | null;
}

/** Figures of a set of requests as thresholds and the version history read them; errors are server-side failures (5xx). */
export function figuresOf(rows: readonly UsageRow[]): Omit<DailyFigures, 'day'> {
  const successes = rows.filter(isSuccess);
  const sorted = (values: number[]) => values.sort((a, b) => a - b);
  const latencies = sorted(successes.map((row) => Number(row.latency_ms)));
  const ttfts = sorted(successes.flatMap((row) => (row.ttft_ms === null ? [] : [Number(row.ttft_ms)])));
  const completion = successes.reduce((sum, row) => sum + Number(row.completion_tokens ?? 0), 0);
  const seconds = successes.reduce((sum, row) => sum + Math.max(0, Number(row.latency_ms) - Number(row.ttft_ms ?? 0)) / 1000, 0);
  const errors = rows.filter((row) => Number(row.status) >= 500).length;
  return {
    requests: rows.length,
    errors,
    error_rate: rows.length === 0 ? null : Math.round((errors / rows.length) * 10_000) / 10_000,
    p50_latency_ms: percentile(latencies, 0.5),
    p95_latency_ms: percentile(latencies, 0.95),
    p50_ttft_ms: percentile(ttfts, 0.5),
    p95_ttft_ms: percentile(ttfts, 0.95),
    tokens_per_s: seconds > 0 && completion > 0 ? Math.round((completion / seconds) * 10) / 10 : null,
  };
}

/** The same figures from rollup sums (quantiles from histogram buckets). */
export function figuresOfMeasures(measures: Measures): Omit<DailyFigures, 'day'> {
  const { requests, server_errors: errors } = measures;
  const seconds = measures.generation_ms / 1000;
  return {
    requests,
    errors,
    error_rate: requests === 0 ? null : Math.round((errors / requests) * 10_000) / 10_000,
    p50_latency_ms: quantileOf(measures.latency, 0.5),
    p95_latency_ms: quantileOf(measures.latency, 0.95),
    p50_ttft_ms: quantileOf(measures.ttft, 0.5),
    p95_ttft_ms: quantileOf(measures.ttft, 0.95),
    tokens_per_s: seconds > 0 && measures.success_completion_tokens > 0 ? Math.round((measures.success_completion_tokens / seconds) * 10) / 10 : null,
  };
}

/**
 * Daily figures per model version from live traffic: each usage record goes
 * to the version its server held when it was made (VersionTracker.versionAt),
 * so a regression after an upgrade shows as a new version's worse day. Today
 * (and yesterday, for an hour after midnight) is recomputed every 10 minutes
 * and whenever a model's versions are read; past days stay as computed.
 */
export class VersionFigures {
  readonly #store: ModelRegistryStore;
  readonly #usage: UsageStore;
  readonly #versions: VersionTracker;
  readonly #log: FastifyBaseLogger;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | null = null;

  constructor(options: { store: ModelRegistryStore; usage: UsageStore; versions: VersionTracker; log: FastifyBaseLogger; now?: () => number }) {
    this.#store = options.store;
    this.#usage = options.usage;
    this.#versions = options.versions;
    this.#log = options.log;
    this.#now = options.now ?? Date.now;
  }

  start(): void {
    this.#timer = setInterval(() => void this.#rollRecent(), everyMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
  }

  /** Recomputes one UTC day (`2026-12-02`), for one model or every model with traffic that day. */
  async rollup(day: string, model?: string): Promise<void> {
    const from = `${day}T00:00:00.000Z`;
    const to = new Date(Date.parse(from) + dayMs).toISOString();
    const daily: ModelVersionDailyTable[] = [];
    if (await this.#usage.prefersRollups(from, to)) {
      // At volume: per minute and server from the rollups, each minute to the version its server held then.
      const byVersion = new Map<string, Measures>();
      for (const entry of await this.#usage.rollupSums({ dimension: 'model_server', from, to, by: 'minute' })) {
        const [served, serverId] = entry.value.split('\n') as [string, string];
        if (model !== undefined && served !== model) continue;
        const key = `${served}\n${this.#versions.versionAt(served, serverId === '' ? null : serverId, entry.bucket as string) ?? 'unknown'}`;
        const sum = byVersion.get(key) ?? emptyMeasures();
        mergeMeasures(sum, entry.measures);
        byVersion.set(key, sum);
      }
      for (const [key, measures] of byVersion) {
        const [served, version] = key.split('\n') as [string, string];
        const { error_rate: _rate, ...figures } = figuresOfMeasures(measures);
        daily.push({ model: served, version, day, ...figures });
      }
      const models = model === undefined ? [...new Set(daily.map((row) => row.model))] : [model];
      await this.#store.replaceDay(day, models, daily);
      return;
    }
    const rows = await this.#usage.between(from, to, model);
    for (const [served, modelRows] of groupBy(rows.filter((row) => row.served_model !== null), (row) => row.served_model as string)) {
      const byVersion = groupBy(modelRows, (row) => this.#versions.versionAt(served, row.server_id, row.occurred_at) ?? 'unknown');
      for (const [version, versionRows] of byVersion) {
        const { error_rate: _rate, ...figures } = figuresOf(versionRows);
        daily.push({ model: served, version, day, ...figures });
      }
    }
    const models = model === undefined ? [...new Set(daily.map((row) => row.model))] : [model];
    await this.#store.replaceDay(day, models, daily);
  }

  /** A model's daily figures per version, today's recomputed first. */
  async of(model: string): Promise<Map<string, DailyFigures[]>> {
    await this.rollup(new Date(this.#now()).toISOString().slice(0, 10), model);
    const byVersion = new Map<string, DailyFigures[]>();
    for (const row of await this.#store.daily(model)) {
      const requests = Number(row.requests);
      const errors = Number(row.errors);
      const figures: DailyFigures = {
        day: row.day,
        requests,
        errors,
        error_rate: requests === 0 ? null : Math.round((errors / requests) * 10_000) / 10_000,
        p50_latency_ms: numberOrNull(row.p50_latency_ms),
        p95_latency_ms: numberOrNull(row.p95_latency_ms),
        p50_ttft_ms: numberOrNull(row.p50_ttft_ms),
        p95_ttft_ms: numberOrNull(row.p95_ttft_ms),
        tokens_per_s: numberOrNull(row.tokens_per_s),
      };
      byVersion.set(row.version, [...(byVersion.get(row.version) ?? []), figures]);
    }
    return byVersion;
  }

  async #rollRecent(): Promise<void> {
    const now = this.#now();
    try {
      await this.rollup(new Date(now).toISOString().slice(0, 10));
      if (now % dayMs < 3_600_000) await this.rollup(new Date(now - dayMs).toISOString().slice(0, 10));
    } catch (error) {
      this.#log.warn({ err: error instanceof Error ? error.message : 'unknown' }, 'could not roll up figures per model version; tried again in 10 minutes');
    }
  }
}

function numberOrNull(value: number | null): number | null {
  return value === null ? null : Number(value);
}
