import type { ManagedBy, ModelServer, ServerDetection, ServerModel, StatusReason, ExpectedModel } from '../domain/model-server.ts';
import type { HealthStatus, ModelCapability, ServerKind } from '../domain/server-kind.ts';
import type { ModelServersTable, ServerModelsTable } from './database-schema.ts';
import { readJson, writeJson } from './json-column.ts';

/** A server as stored: the API key stays sealed. */
export type StoredServer = Omit<ModelServer, 'apiKey'> & { apiKeyCiphertext: string | null };

export function serverToRow(server: StoredServer): ModelServersTable {
  return {
    id: server.id,
    name: server.name,
    server_type: server.serverType,
    kind_config: server.kindConfig === null ? null : writeJson(server.kindConfig),
    base_url: server.baseUrl,
    api_key_ciphertext: server.apiKeyCiphertext,
    is_active: server.isActive ? 1 : 0,
    health_status: server.healthStatus,
    status_reason: server.statusReason,
    status_message: server.statusMessage,
    consecutive_failures: server.consecutiveFailures,
    capabilities: writeJson(server.capabilities),
    metadata: writeJson(server.metadata),
    expected_models: writeJson(server.expectedModels),
    detection: server.detection === null ? null : writeJson(server.detection),
    health_check_interval_s: server.healthCheckIntervalS,
    max_concurrency: server.maxConcurrency,
    managed_by: server.managedBy,
    last_health_check: server.lastHealthCheck,
    last_latency_ms: server.lastLatencyMs,
    created_at: server.createdAt,
    updated_at: server.updatedAt,
  };
}

export function serverFromRow(row: ModelServersTable): StoredServer {
  return {
    id: row.id,
    name: row.name,
    serverType: row.server_type as ServerKind,
    kindConfig: readJson<Record<string, unknown> | null>(row.kind_config, null),
    baseUrl: row.base_url,
    apiKeyCiphertext: row.api_key_ciphertext,
    isActive: Number(row.is_active) === 1,
    healthStatus: row.health_status as HealthStatus,
    statusReason: row.status_reason as StatusReason,
    statusMessage: row.status_message,
    consecutiveFailures: Number(row.consecutive_failures),
    capabilities: readJson<ModelCapability[]>(row.capabilities, []),
    metadata: readJson<Record<string, unknown>>(row.metadata, {}),
    expectedModels: readJson<ExpectedModel[]>(row.expected_models, []),
    detection: readJson<ServerDetection | null>(row.detection, null),
    healthCheckIntervalS: Number(row.health_check_interval_s),
    maxConcurrency: row.max_concurrency === null || row.max_concurrency === undefined ? null : Number(row.max_concurrency),
    managedBy: row.managed_by as ManagedBy,
    lastHealthCheck: row.last_health_check,
    lastLatencyMs: row.last_latency_ms === null ? null : Number(row.last_latency_ms),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function modelToRow(model: ServerModel): ServerModelsTable {
  return {
    server_id: model.serverId,
    model_id: model.modelId,
    capabilities: writeJson(model.capabilities),
    embedding_dimension: model.embeddingDimension,
    context_length: model.contextLength,
    status: model.status,
    details: writeJson(model.details),
    first_seen_at: model.firstSeenAt,
    last_seen_at: model.lastSeenAt,
  };
}

export function modelFromRow(row: ServerModelsTable): ServerModel {
  return {
    serverId: row.server_id,
    modelId: row.model_id,
    capabilities: readJson<ModelCapability[]>(row.capabilities, []),
    embeddingDimension: row.embedding_dimension === null ? null : Number(row.embedding_dimension),
    contextLength: row.context_length === null ? null : Number(row.context_length),
    status: row.status === 'loaded' ? 'loaded' : 'available',
    details: readJson<Record<string, unknown>>(row.details, {}),
    firstSeenAt: row.first_seen_at,
    lastSeenAt: row.last_seen_at,
  };
}
