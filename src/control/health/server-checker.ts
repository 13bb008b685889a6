import { randomUUID } from 'node:crypto';
import { adapterContextFor } from '../../data/adapters/adapter-context.ts';
import { performance } from 'node:perf_hooks';
import type { FastifyBaseLogger } from 'fastify';
import type { HealthSettings } from '../../config/config-schema.ts';
import type { ModelServer } from '../../domain/model-server.ts';
import { undetectedKind, type HealthStatus } from '../../domain/server-kind.ts';
import { findServerKind } from '../../data/adapters/server-kinds.ts';
import type { AdapterContext, DiscoveredModel, LoadMetrics, ProbeResult } from '../../data/adapters/server-adapter.ts';
import { sortCapabilities } from '../../data/adapters/shared/capability-heuristics.ts';
import type { UpstreamHttp } from '../../data/upstream/upstream-http.ts';
import type { ServerMetricsTable } from '../../storage/database-schema.ts';
import { applyExpectedHints, diffModels, missingExpectedModels, toDiscovered } from '../discovery/model-diff.ts';
import type { ServerRegistry } from '../servers/server-registry.ts';
import { classifyDetectionFailure, classifyFailure } from './classify-failure.ts';
import { nextHealthState, type CheckOutcome, type HealthState } from './health-transition.ts';
import { LoadHistory } from './load-history.ts';

export interface CheckReport {
  id: string;
  name: string;
  health_status: HealthStatus;
  latency_ms: number;
  models_found: number | null;
  error?: string;
}

export interface TestReport {
  ok: boolean;
  latency_ms: number;
  models_found: number;
  error?: string;
}

type ProbeAttempt = { ok: true; result: ProbeResult; latencyMs: number } | { ok: false; outcome: Exclude<CheckOutcome, { kind: 'success' }>; latencyMs: number };

/**
 * Checks one server: probes it through its adapter (no tokens spent),
 * refreshes its models, classifies the outcome and commits the new status.
 */
export class ServerChecker {
  readonly #registry: ServerRegistry;
  readonly #http: UpstreamHttp;
  readonly #settings: HealthSettings;
  readonly #log: FastifyBaseLogger;
  // Dimension probes cost a real embed call: one attempt per model per process.
  readonly #dimensionAttempts = new Set<string>();
  // What consecutive probes tell (learned capacity, prefix-cache hit ratio); forgotten with the server or its old connection.
  readonly #history = new LoadHistory();

  constructor(options: { registry: ServerRegistry; http: UpstreamHttp; settings: HealthSettings; log: FastifyBaseLogger }) {
    this.#registry = options.registry;
    this.#http = options.http;
    this.#settings = options.settings;
    this.#log = options.log;
    this.#registry.onEvent((event) => {
      if (event.type === 'server.deleted' || (event.type === 'server.updated' && event.connectionChanged)) this.#history.forget(event.server.id);
    });
  }

  async check(serverId: string): Promise<CheckReport> {
    const { server, revision, attempt } = await this.#detectThenProbe(serverId);
    const now = new Date().toISOString();
    const previousModels = this.#registry.modelsOf(serverId);
    let discovered: DiscoveredModel[] | null = null;
    let outcome: CheckOutcome;
    if (attempt.ok) {
      discovered = applyExpectedHints(attempt.result.models, server.expectedModels);
      await this.#fillEmbeddingDimensions(server, discovered);
      outcome = {
        kind: 'success',
        modelsFound: discovered.length,
        expectedModels: server.expectedModels.map((model) => model.name),
        missingExpected: missingExpectedModels(discovered, server.expectedModels),
      };
    } else {
      outcome = attempt.outcome;
    }
    const state = nextHealthState(server, outcome, this.#settings.failures_to_offline);
    // On failure the last known models stay: an offline server is skipped, not forgotten.
    const diff = discovered === null ? { upserts: [], removedModelIds: [], events: [] } : diffModels(serverId, previousModels, discovered, now);
    const capabilities = discovered === null ? server.capabilities : sortCapabilities(discovered.flatMap((model) => model.capabilities));
    const latencyMs = round(attempt.latencyMs);
    const updated: ModelServer = { ...server, ...state, capabilities, lastHealthCheck: now, lastLatencyMs: latencyMs };
    const applied = await this.#registry.applyCheck(serverId, revision, {
      server: updated,
      check: {
        id: randomUUID(),
        server_id: serverId,
        checked_at: now,
        outcome: outcome.kind,
        health_status: state.healthStatus,
        previous_status: server.healthStatus,
        status_reason: state.statusReason,
        latency_ms: latencyMs,
        error_message: state.statusMessage,
        models_found: discovered?.length ?? null,
      },
      upsertModels: diff.upserts,
      removedModelIds: diff.removedModelIds,
      modelEvents: diff.events,
      metrics: attempt.ok && attempt.result.load !== null ? metricsRow(serverId, now, attempt.result.load) : null,
      load: attempt.ok && attempt.result.load !== null ? this.#remember(serverId, revision, attempt.result.load) : null,
    });
    if (applied) this.#logTransition(server, state, diff.events.length);
    const report: CheckReport = {
      id: serverId,
      name: server.name,
      health_status: applied ? state.healthStatus : (this.#registry.get(serverId)?.healthStatus ?? state.healthStatus),
      latency_ms: latencyMs,
      models_found: discovered?.length ?? null,
    };
    if (state.statusMessage !== null && state.healthStatus !== 'online') report.error = state.statusMessage;
    return report;
  }

  /** The probe's load with what the probes before it add; a probe of a connection changed meanwhile teaches nothing. */
  #remember(serverId: string, revision: number, load: LoadMetrics): LoadMetrics {
    return this.#registry.revisionOf(serverId) === revision ? this.#history.record(serverId, load) : load;
  }

  /** Probes without changing the server's status; records only the time of the check. */
  async test(serverId: string): Promise<TestReport> {
    const { attempt } = await this.#detectThenProbe(serverId);
    await this.#registry.recordTest(serverId, new Date().toISOString(), round(attempt.latencyMs));
    if (!attempt.ok) return { ok: false, latency_ms: round(attempt.latencyMs), models_found: 0, error: attempt.outcome.message };
    return { ok: true, latency_ms: round(attempt.latencyMs), models_found: attempt.result.models.length };
  }

  /**
   * A server registered before its kind could be detected is detected first
   * (and its kind stored), then probed like any other; until it answers, the
   * failed detection counts as a failed probe.
   */
  async #detectThenProbe(serverId: string): Promise<{ server: ModelServer; revision: number; attempt: ProbeAttempt }> {
    const server = this.#registry.require(serverId);
    if (server.serverType !== undetectedKind) return { server, revision: this.#registry.revisionOf(serverId), attempt: await this.#probe(server) };
    const revision = this.#registry.revisionOf(serverId);
    const started = performance.now();
    try {
      const settled = await this.#registry.settleKind(serverId);
      return { server: settled, revision: this.#registry.revisionOf(serverId), attempt: await this.#probe(settled) };
    } catch (error) {
      const outcome = classifyDetectionFailure(error, server.apiKey !== null);
      if (outcome === null) throw error;
      return { server, revision, attempt: { ok: false, outcome, latencyMs: performance.now() - started } };
    }
  }

  async #probe(server: ModelServer): Promise<ProbeAttempt> {
    const started = performance.now();
    // Per-call timeouts bound each request; this bounds the whole probe (many /api/show calls).
    const deadline = AbortSignal.timeout(this.#settings.timeout_ms * 3);
    const previous = new Map(this.#registry.modelsOf(server.id).map((model) => [model.modelId, toDiscovered(model)]));
    const kind = findServerKind(server.serverType);
    if (kind === undefined) {
      // A kind registered by a plugin that is not loaded now: the record stays, the server is not probed.
      return { ok: false, outcome: { kind: 'misconfigured', message: `No server kind "${server.serverType}" is registered in this gateway.` }, latencyMs: 0 };
    }
    try {
      const result = await kind.probe(this.#context(server, deadline), previous);
      return { ok: true, result, latencyMs: performance.now() - started };
    } catch (error) {
      return { ok: false, outcome: classifyFailure(error, server.apiKey !== null), latencyMs: performance.now() - started };
    }
  }

  #context(server: ModelServer, signal: AbortSignal): AdapterContext {
    return adapterContextFor(server, this.#http, this.#settings.timeout_ms, signal);
  }


  async #fillEmbeddingDimensions(server: ModelServer, models: DiscoveredModel[]): Promise<void> {
    for (const model of models) {
      if (!model.capabilities.includes('embedding') || model.embeddingDimension !== null) continue;
      // Embedding a probe text would load the model (a llama.cpp router, Ollama): wait until something else has.
      if (model.status !== 'loaded') continue;
      const attemptKey = `${server.id}\u0000${model.id}`;
      if (this.#dimensionAttempts.has(attemptKey)) continue;
      this.#dimensionAttempts.add(attemptKey);
      try {
        const context = this.#context(server, AbortSignal.timeout(this.#settings.timeout_ms));
        model.embeddingDimension = (await findServerKind(server.serverType)?.probeEmbeddingDimension(context, model.id)) ?? null;
      } catch (error) {
        this.#log.warn({ server: server.name, model: model.id, err: safeError(error) }, 'embedding dimension probe failed');
      }
    }
  }

  /**
   * Probes are logged only when something changed: a stable fleet writes
   * nothing, a change writes one line (info when a server is back, warn when
   * it degrades or starts rejecting its key, error when it is offline).
   */
  #logTransition(before: ModelServer, after: HealthState, modelEvents: number): void {
    const to = after.healthStatus;
    const isMisconfigured = after.statusReason === 'misconfigured';
    if (before.healthStatus !== to || (before.statusReason === 'misconfigured') !== isMisconfigured) {
      const level = to === 'offline' ? 'error' : to === 'online' ? 'info' : 'warn';
      this.#log[level]({ server: before.name, server_id: before.id, from: before.healthStatus, to, status_reason: after.statusReason, reason: after.statusMessage }, 'model server status changed');
    }
    if (modelEvents > 0) this.#log.info({ server: before.name, changes: modelEvents }, 'model list changed');
  }
}

function metricsRow(serverId: string, now: string, load: LoadMetrics): ServerMetricsTable {
  return {
    id: randomUUID(),
    server_id: serverId,
    recorded_at: now,
    running_requests: load.runningRequests,
    waiting_requests: load.waitingRequests,
    kv_cache_usage: load.kvCacheUsage,
    loaded_models: JSON.stringify(load.loadedModels),
    memory_bytes: load.memoryBytes,
    details: JSON.stringify(load.details),
  };
}

function round(milliseconds: number): number {
  return Math.round(milliseconds * 100) / 100;
}

function safeError(error: unknown): string {
  return error instanceof Error ? error.message : 'unknown error';
}
