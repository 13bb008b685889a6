import type { FastifyBaseLogger } from 'fastify';
import { systemActor, type Actor } from '../../domain/audit.ts';
import { modelMatches, type ManagedBy } from '../../domain/model-server.ts';
import { modelNameProblem } from '../../domain/model-name.ts';
import { errors } from '../../errors/error-catalogue.ts';
import type { ModelThresholdsTable } from '../../storage/database-schema.ts';
import { insertAudit } from '../../storage/audit-store.ts';
import { readJson, writeJson } from '../../storage/json-column.ts';
import type { ModelRegistryStore } from '../../storage/model-registry-store.ts';
import type { UsageStore } from '../../storage/usage-store.ts';
import type { Kysely } from 'kysely';
import type { DatabaseSchema } from '../../storage/database-schema.ts';
import { figuresOf, figuresOfMeasures } from './version-figures.ts';
import { emptyMeasures, mergeMeasures } from '../../storage/rollups/usage-rollups.ts';

export interface ThresholdInput {
  p95_latency_ms?: number;
  p95_ttft_ms?: number;
  min_tokens_per_s?: number;
  max_error_rate?: number;
}

export interface Breach {
  metric: 'p95_latency_ms' | 'p95_ttft_ms' | 'min_tokens_per_s' | 'max_error_rate';
  limit: number;
  actual: number;
}

export interface Thresholds {
  model: string;
  limits: ThresholdInput;
  /** The current violation (what is over, by how much), or null when within limits. */
  violation: Breach[] | null;
  violatedSince: string | null;
  managedBy: ManagedBy;
  createdAt: string;
  updatedAt: string;
}

const metrics = ['p95_latency_ms', 'p95_ttft_ms', 'min_tokens_per_s', 'max_error_rate'] as const;

export interface ThresholdOptions {
  store: ModelRegistryStore;
  usage: UsageStore;
  db: Kysely<DatabaseSchema>;
  log: FastifyBaseLogger;
  emit: (event: 'model.threshold_violated' | 'model.threshold_recovered', data: Record<string, unknown>) => void;
  /** Live figures are read over this recent window. */
  windowMs?: number;
  /** Fewer requests than this in the window decide nothing (one slow request must not fire an alert). */
  minRequests?: number;
  now?: () => number;
  /**
   * With replicas, only the health checker judges (decision 0033): one audit
   * row and one webhook per crossing. It then tells the others, which re-read
   * the stored flags.
   */
  mayCheck?: () => boolean;
  onJudged?: () => void;
}

/**
 * Thresholds per model, checked every minute against live figures over the
 * last 15 minutes (at least 10 requests): crossing one fires
 * `model.threshold_violated` (webhook, audit, a flag the registry and console
 * show) once, and `model.threshold_recovered` when figures are back within.
 */
export class ModelThresholds {
  readonly #options: ThresholdOptions;
  #byModel = new Map<string, Thresholds>();
  #timer: NodeJS.Timeout | null = null;

  constructor(options: ThresholdOptions) {
    this.#options = options;
  }

  async load(): Promise<void> {
    this.#byModel = new Map((await this.#options.store.thresholds()).map((row) => [row.model, fromRow(row)]));
  }

  start(): void {
    this.#timer = setInterval(() => void this.checkNow(), 60_000);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
  }

  list(): Thresholds[] {
    return [...this.#byModel.values()].sort((a, b) => a.model.localeCompare(b.model));
  }

  get(model: string): Thresholds | undefined {
    return this.#byModel.get(model);
  }

  /** The thresholds that apply to a model id (set on `mixtral`, they apply to `mixtral:latest`). */
  forModel(modelId: string): Thresholds | undefined {
    return this.#byModel.get(modelId) ?? [...this.#byModel.values()].find((entry) => modelMatches(modelId, entry.model));
  }

  require(model: string): Thresholds {
    const found = this.#byModel.get(model);
    if (found === undefined) throw errors.notFound(`Thresholds for "${model}"`);
    return found;
  }

  async put(model: string, input: ThresholdInput, options: { actor?: Actor; managedBy?: ManagedBy } = {}): Promise<{ thresholds: Thresholds; created: boolean }> {
    validate(model, input);
    const current = this.#byModel.get(model);
    const now = new Date((this.#options.now ?? Date.now)()).toISOString();
    const limits = Object.fromEntries(metrics.filter((metric) => input[metric] !== undefined).map((metric) => [metric, input[metric]])) as ThresholdInput;
    // New limits are judged afresh on the next check.
    const saved: Thresholds = { model, limits, violation: null, violatedSince: null, managedBy: options.managedBy ?? current?.managedBy ?? 'api', createdAt: current?.createdAt ?? now, updatedAt: now };
    const audit = options.actor === undefined ? undefined : { actor: options.actor, action: current === undefined ? 'model.thresholds_create' : 'model.thresholds_update', targetType: 'model' as const, targetId: model, before: current?.limits ?? null, after: limits };
    await this.#options.store.saveThresholds(toRow(saved), current === undefined, audit);
    this.#byModel.set(model, saved);
    return { thresholds: saved, created: current === undefined };
  }

  async remove(model: string, actor?: Actor): Promise<void> {
    const current = this.require(model);
    await this.#options.store.deleteThresholds(model, actor === undefined ? undefined : { actor, action: 'model.thresholds_delete', targetType: 'model', targetId: model, before: current.limits, after: null });
    this.#byModel.delete(model);
  }

  /** Compares every model's live figures with its thresholds (the minute timer calls this; tests call it directly). */
  async checkNow(): Promise<void> {
    if (this.#byModel.size === 0 || this.#options.mayCheck?.() === false) return;
    const now = (this.#options.now ?? Date.now)();
    try {
      const from = new Date(now - (this.#options.windowMs ?? 15 * 60_000)).toISOString();
      const to = new Date(now).toISOString();
      if (await this.#options.usage.prefersRollups(from, to)) {
        // At volume: the rollups per model (quantiles from histogram buckets).
        const byModel = await this.#options.usage.rollupSums({ dimension: 'model', from, to });
        for (const entry of this.#byModel.values()) {
          const own = emptyMeasures();
          for (const sum of byModel) if (!sum.value.startsWith('unserved: ') && modelMatches(sum.value, entry.model)) mergeMeasures(own, sum.measures);
          if (own.requests < (this.#options.minRequests ?? 10)) continue;
          await this.#judge(entry, breaches(entry.limits, figuresOfMeasures(own)), now);
        }
        return;
      }
      const rows = await this.#options.usage.between(from, to);
      for (const entry of this.#byModel.values()) {
        const own = rows.filter((row) => row.served_model !== null && modelMatches(row.served_model, entry.model));
        if (own.length < (this.#options.minRequests ?? 10)) continue;
        await this.#judge(entry, breaches(entry.limits, figuresOf(own)), now);
      }
    } catch (error) {
      this.#options.log.warn({ err: error instanceof Error ? error.message : 'unknown' }, 'could not check model thresholds; tried again in a minute');
    }
  }

  async #judge(entry: Thresholds, found: Breach[], now: number): Promise<void> {
    const violated = found.length > 0;
    if (violated === (entry.violation !== null) && (!violated || sameBreaches(entry.violation ?? [], found))) return;
    const wasViolated = entry.violation !== null;
    const stamp = new Date(now).toISOString();
    entry.violation = violated ? found : null;
    entry.violatedSince = violated ? (entry.violatedSince ?? stamp) : null;
    await this.#options.store.saveThresholds(toRow(entry), false);
    this.#options.onJudged?.();
    if (violated === wasViolated) return;
    const event = violated ? 'model.threshold_violated' : 'model.threshold_recovered';
    this.#options.log.warn({ model: entry.model, violation: found }, violated ? 'a model is over its thresholds' : 'a model is back within its thresholds');
    await insertAudit(this.#options.db, { actor: systemActor('gateway'), action: event, targetType: 'model', targetId: entry.model, before: null, after: { violation: found, limits: entry.limits } });
    this.#options.emit(event, { model: entry.model, limits: entry.limits, violation: found, since: entry.violatedSince ?? stamp });
  }
}

function breaches(limits: ThresholdInput, figures: ReturnType<typeof figuresOf>): Breach[] {
  const found: Breach[] = [];
  const over = (metric: Breach['metric'], actual: number | null, limit: number | undefined, isOver: (a: number, l: number) => boolean) => {
    if (limit !== undefined && actual !== null && isOver(actual, limit)) found.push({ metric, limit, actual });
  };
  over('p95_latency_ms', figures.p95_latency_ms, limits.p95_latency_ms, (a, l) => a > l);
  over('p95_ttft_ms', figures.p95_ttft_ms, limits.p95_ttft_ms, (a, l) => a > l);
  over('min_tokens_per_s', figures.tokens_per_s, limits.min_tokens_per_s, (a, l) => a < l);
  over('max_error_rate', figures.error_rate, limits.max_error_rate, (a, l) => a > l);
  return found;
}

function sameBreaches(a: Breach[], b: Breach[]): boolean {
  return a.map((breach) => breach.metric).join() === b.map((breach) => breach.metric).join();
}

function validate(model: string, input: ThresholdInput): void {
  const problem = modelNameProblem(model);
  if (problem !== null) throw errors.invalidRequest(`model ${problem}.`, 'model');
  if (metrics.every((metric) => input[metric] === undefined)) throw errors.invalidRequest(`Give at least one of ${metrics.join(', ')}.`, 'p95_latency_ms');
  for (const metric of metrics) {
    const value = input[metric];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw errors.invalidRequest(`${metric} must be a number above 0.`, metric);
    if (metric === 'max_error_rate' && value > 1) throw errors.invalidRequest('max_error_rate is a fraction of requests: above 0, at most 1.', metric);
  }
}

function toRow(entry: Thresholds): ModelThresholdsTable {
  return {
    model: entry.model,
    p95_latency_ms: entry.limits.p95_latency_ms ?? null,
    p95_ttft_ms: entry.limits.p95_ttft_ms ?? null,
    min_tokens_per_s: entry.limits.min_tokens_per_s ?? null,
    max_error_rate: entry.limits.max_error_rate ?? null,
    violation: entry.violation === null ? null : writeJson(entry.violation),
    violated_since: entry.violatedSince,
    managed_by: entry.managedBy,
    created_at: entry.createdAt,
    updated_at: entry.updatedAt,
  };
}

function fromRow(row: ModelThresholdsTable): Thresholds {
  const limits: ThresholdInput = {};
  for (const metric of metrics) if (row[metric] !== null) limits[metric] = Number(row[metric]);
  return { model: row.model, limits, violation: readJson<Breach[] | null>(row.violation, null), violatedSince: row.violated_since, managedBy: row.managed_by as ManagedBy, createdAt: row.created_at, updatedAt: row.updated_at };
}
