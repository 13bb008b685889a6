/**
 * Row types of Switchyard's tables, shared by both dialects. Timestamps are
 * ISO-8601 strings (UTC, millisecond precision: they sort as text), JSON is
 * stored as text, booleans as 0/1 integers, so one schema serves SQLite and
 * PostgreSQL alike.
 */
export interface ModelServersTable {
  id: string;
  name: string;
  server_type: string;
  /** JSON: the kind's per-server settings, null for most kinds. */
  kind_config: string | null;
  base_url: string;
  api_key_ciphertext: string | null;
  is_active: number;
  health_status: string;
  status_reason: string | null;
  status_message: string | null;
  consecutive_failures: number;
  capabilities: string;
  metadata: string;
  expected_models: string;
  detection: string | null;
  health_check_interval_s: number;
  /** Requests it generates at once, as stated; null: learned from the server. */
  max_concurrency: number | null;
  managed_by: string;
  last_health_check: string | null;
  last_latency_ms: number | null;
  created_at: string;
  updated_at: string;
}

export interface ServerModelsTable {
  server_id: string;
  model_id: string;
  capabilities: string;
  embedding_dimension: number | null;
  context_length: number | null;
  status: string;
  details: string;
  first_seen_at: string;
  last_seen_at: string;
}

export interface ModelEventsTable {
  id: string;
  server_id: string;
  model_id: string;
  event: string;
  occurred_at: string;
}

export interface HealthChecksTable {
  id: string;
  server_id: string;
  checked_at: string;
  outcome: string;
  health_status: string;
  previous_status: string;
  status_reason: string | null;
  latency_ms: number | null;
  error_message: string | null;
  models_found: number | null;
}

export interface ServerMetricsTable {
  id: string;
  server_id: string;
  recorded_at: string;
  running_requests: number | null;
  waiting_requests: number | null;
  kv_cache_usage: number | null;
  loaded_models: string;
  memory_bytes: number | null;
  details: string;
}

export interface RoutesTable {
  id: string;
  name: string;
  strategy: string;
  targets: string;
  fallbacks: string;
  metadata: string;
  managed_by: string;
  created_at: string;
  updated_at: string;
}

export interface ApiKeysTable {
  id: string;
  name: string;
  key_hash: string;
  prefix: string;
  scopes: string;
  models: string | null;
  rpm: number | null;
  tpm: number | null;
  budget_tokens: number | null;
  used_tokens: number;
  /** In the gateway's currency; null: no budget in currency. */
  budget_cost: number | null;
  /** Its class in the admission queues: interactive, standard or batch. */
  priority: string;
  used_cost: number;
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
  metadata: string;
  created_at: string;
}

export interface UsageRecordsTable {
  id: string;
  occurred_at: string;
  request_id: string;
  key_id: string | null;
  requested_model: string | null;
  served_model: string | null;
  server_id: string | null;
  route: string | null;
  strategy: string | null;
  attempts: number;
  status: number;
  error_type: string | null;
  prompt_tokens: number | null;
  completion_tokens: number | null;
  latency_ms: number;
  ttft_ms: number | null;
  streamed: number;
  cache_hit: number;
  /** In the gateway's currency; null when the model has no price. */
  cost: number | null;
  /** The API the request came in on (ClientApi). */
  api: string;
  /** Time it waited in the admission queue for capacity, ms (0: admitted at once). */
  queue_wait_ms: number;
  /** 1 once counted in usage_rollups (written with them); 0 for the backfill (decision 0029). */
  rolled_up?: number;
}

export interface StoredResponsesTable {
  id: string;
  key_id: string | null;
  created_at: string;
  expires_at: string;
  /** JSON: the Response object, its input items and the conversation as chat messages (see response-store.ts). */
  body: string;
}

export interface AuditLogTable {
  id: string;
  occurred_at: string;
  actor_key_id: string | null;
  action: string;
  target_type: string;
  target_id: string | null;
  before_state: string | null;
  after_state: string | null;
  request_id: string | null;
  source_ip: string | null;
}

export interface SettingsTable {
  key: string;
  value: string;
  updated_at: string;
}

export interface WebhooksTable {
  id: string;
  url: string;
  events: string;
  secret_ciphertext: string;
  is_active: number;
  created_at: string;
  updated_at: string;
}

export interface WebhookDeliveriesTable {
  id: string;
  webhook_id: string;
  event: string;
  payload: string;
  status: string;
  attempts: number;
  response_status: number | null;
  error: string | null;
  created_at: string;
  updated_at: string;
  /** When a retrying delivery is next due (null: due now, or finished). */
  next_attempt_at: string | null;
}

export interface ModelBenchmarksTable {
  id: string;
  model: string;
  created_at: string;
  options: string;
  summary: string;
  runs: string;
}

export interface CachePoliciesTable {
  name: string;
  mode: string;
  ttl_s: number;
  scope: string;
  similarity: number;
  embedding_model: string | null;
  managed_by: string;
  created_at: string;
  updated_at: string;
}

export interface VectorCollectionsTable {
  name: string;
  model: string;
  vector_size: number;
  distance: string;
  backend: string;
  physical_name: string;
  status: string;
  model_digest: string | null;
  stale_digest: string | null;
  reembed_target: string | null;
  reembed_done: number | null;
  reembed_total: number | null;
  reembed_skipped: number | null;
  reembed_dropped: number | null;
  reembed_error: string | null;
  managed_by: string;
  created_at: string;
  updated_at: string;
}

export interface OperationsTable {
  id: string;
  kind: string;
  status: string;
  model: string;
  params: string;
  actor_key_id: string | null;
  targets: string;
  error: string | null;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
  /** The replica running it (its cluster id); null on rows written before migration 0020. */
  owner?: string | null;
}

export interface PlacementsTable {
  model: string;
  pulled_on: number | null;
  servers: string | null;
  warm_on: number;
  keep_alive: string | null;
  active_hours: string | null;
  managed_by: string;
  created_at: string;
  updated_at: string;
}

export interface ModelVersionsTable {
  model: string;
  version: string;
  first_seen_at: string;
  last_seen_at: string;
  servers: string;
}

export interface ModelVersionDailyTable {
  model: string;
  version: string;
  day: string;
  requests: number;
  errors: number;
  p50_latency_ms: number | null;
  p95_latency_ms: number | null;
  p50_ttft_ms: number | null;
  p95_ttft_ms: number | null;
  tokens_per_s: number | null;
}

export interface ModelThresholdsTable {
  model: string;
  p95_latency_ms: number | null;
  p95_ttft_ms: number | null;
  min_tokens_per_s: number | null;
  max_error_rate: number | null;
  violation: string | null;
  violated_since: string | null;
  managed_by: string;
  created_at: string;
  updated_at: string;
}

export interface ModelStatesTable {
  model: string;
  active: number;
  changed_at: string;
}

export interface ModelPricesTable {
  model: string;
  input_per_million: number | null;
  output_per_million: number | null;
  per_hour: number | null;
  managed_by: string;
  created_at: string;
  updated_at: string;
}

export interface DatabaseSchema {
  model_servers: ModelServersTable;
  server_models: ServerModelsTable;
  model_events: ModelEventsTable;
  health_checks: HealthChecksTable;
  server_metrics: ServerMetricsTable;
  routes: RoutesTable;
  api_keys: ApiKeysTable;
  usage_records: UsageRecordsTable;
  stored_responses: StoredResponsesTable;
  audit_log: AuditLogTable;
  settings: SettingsTable;
  webhooks: WebhooksTable;
  webhook_deliveries: WebhookDeliveriesTable;
  model_benchmarks: ModelBenchmarksTable;
  cache_policies: CachePoliciesTable;
  vector_collections: VectorCollectionsTable;
  operations: OperationsTable;
  placements: PlacementsTable;
  model_versions: ModelVersionsTable;
  model_version_daily: ModelVersionDailyTable;
  model_thresholds: ModelThresholdsTable;
  model_states: ModelStatesTable;
  model_prices: ModelPricesTable;
}
