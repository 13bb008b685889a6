import { modelAliases, type ExpectedModel, type ModelServer, type ServerModel } from '../../domain/model-server.ts';
import type { HealthChecksTable, ModelEventsTable, ServerMetricsTable } from '../../storage/database-schema.ts';
import type { LoadMetrics } from '../../data/adapters/server-adapter.ts';
import { canEmbed } from '../../data/routing/capability-check.ts';
import { readJson } from '../../storage/json-column.ts';
import type { FleetOwnership } from '../../control/fleet/fleet-ownership.ts';

/** The API's view of a server. The API key is write-only: only whether one is set shows. */
export function toServerRecord(server: ModelServer, modelsCount: number, load: LoadMetrics | null, ownership: FleetOwnership) {
  return {
    id: server.id,
    name: server.name,
    server_type: server.serverType,
    kind_config: server.kindConfig,
    base_url: server.baseUrl,
    is_active: server.isActive,
    health_status: server.healthStatus,
    status_reason: server.statusReason,
    status_message: server.statusMessage,
    consecutive_failures: server.consecutiveFailures,
    capabilities: server.capabilities,
    metadata: server.metadata,
    expected_models: server.expectedModels,
    detection: server.detection === null ? null : { ...server.detection },
    health_check_interval_s: server.healthCheckIntervalS,
    max_concurrency: server.maxConcurrency,
    managed_by: ownership.view(server),
    has_api_key: server.apiKey !== null,
    models_count: modelsCount,
    last_health_check: server.lastHealthCheck,
    last_latency_ms: server.lastLatencyMs,
    load:
      load === null
        ? null
        : {
            running_requests: load.runningRequests,
            waiting_requests: load.waitingRequests,
            kv_cache_usage: load.kvCacheUsage,
            loaded_models: load.loadedModels,
            memory_bytes: load.memoryBytes,
            // Over the latest probe interval (vLLM prefix-cache hits / lookups); null when the server reports none.
            prefix_cache_hit_ratio: load.prefixCacheHitRatio ?? null,
          },
    created_at: server.createdAt,
    updated_at: server.updatedAt,
  };
}

export function toModelRecord(model: ServerModel, serverType: string) {
  return {
    id: model.modelId,
    aliases: modelAliases(model.modelId),
    capabilities: model.capabilities,
    // An Ollama chat model embeds too without being an embedder (decision 0017): what may own a vector collection.
    can_embed: canEmbed(model, serverType),
    embedding_dimension: model.embeddingDimension,
    context_length: model.contextLength,
    status: model.status,
    details: model.details,
    first_seen_at: model.firstSeenAt,
    last_seen_at: model.lastSeenAt,
  };
}

export function toCheckRecord(check: HealthChecksTable) {
  return {
    checked_at: check.checked_at,
    outcome: check.outcome,
    health_status: check.health_status,
    previous_status: check.previous_status,
    status_reason: check.status_reason,
    latency_ms: check.latency_ms === null ? null : Number(check.latency_ms),
    error: check.error_message,
    models_found: check.models_found === null ? null : Number(check.models_found),
  };
}

export function toTransitionRecord(check: HealthChecksTable) {
  return { at: check.checked_at, from: check.previous_status, to: check.health_status, reason: check.status_reason, message: check.error_message };
}

export function toModelEventRecord(event: ModelEventsTable) {
  return { at: event.occurred_at, model: event.model_id, event: event.event };
}

export function toMetricsRecord(row: ServerMetricsTable) {
  const numberOrNull = (value: number | null) => (value === null ? null : Number(value));
  return {
    recorded_at: row.recorded_at,
    running_requests: numberOrNull(row.running_requests),
    waiting_requests: numberOrNull(row.waiting_requests),
    kv_cache_usage: numberOrNull(row.kv_cache_usage),
    loaded_models: readJson<string[]>(row.loaded_models, []),
    memory_bytes: numberOrNull(row.memory_bytes),
    details: readJson<Record<string, number>>(row.details, {}),
  };
}

/** The API accepts expected models as names or objects; storage keeps objects. */
export function toExpectedModels(entries: Array<string | ExpectedModel> | undefined): ExpectedModel[] | undefined {
  return entries?.map((entry) => (typeof entry === 'string' ? { name: entry } : entry));
}
