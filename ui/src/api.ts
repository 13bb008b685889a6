// The console talks to /api/v1 and /v1 only, same origin, with the session cookie.

export class ApiError extends Error {
  readonly status: number;
  readonly param: string | null;
  constructor(message: string, status: number, param: string | null) {
    super(message);
    this.status = status;
    this.param = param;
  }
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  const parsed: unknown = text === '' ? null : safeJson(text);
  if (!response.ok) {
    const error = (parsed as { error?: { message?: string; param?: string | null } } | null)?.error;
    throw new ApiError(error?.message ?? `The server answered HTTP ${response.status}.`, response.status, error?.param ?? null);
  }
  return parsed as T;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export interface Session {
  name: string;
  scopes: string[];
}

export interface ServerLoad {
  running_requests: number | null;
  waiting_requests: number | null;
  kv_cache_usage: number | null;
  loaded_models: string[];
  memory_bytes: number | null;
  /** 0..1 over the latest probe interval (vLLM); null or absent when the server reports none. */
  prefix_cache_hit_ratio?: number | null;
}

export interface ServerRecord {
  id: string;
  name: string;
  server_type: string;
  kind_config: Record<string, unknown> | null;
  base_url: string;
  is_active: boolean;
  health_status: 'online' | 'degraded' | 'offline' | 'unknown';
  status_reason: string | null;
  status_message: string | null;
  models_count: number;
  health_check_interval_s: number;
  /** Requests it generates at once, as stated; null: what the server reports, or what the gateway learns. */
  max_concurrency: number | null;
  has_api_key: boolean;
  /** Set for servers the fleet file declares: change them there, not here. */
  managed_by: 'fleet_file' | null;
  last_latency_ms: number | null;
  last_health_check: string | null;
  load: ServerLoad | null;
}

export interface KindConfigField {
  name: string;
  label: string;
  type: 'text' | 'list' | 'json' | 'select';
  required: boolean;
  placeholder?: string;
  options?: string[];
  help?: string;
}

/** A kind of model server this gateway speaks (GET /api/v1/server-kinds). */
export interface ServerKindInfo {
  id: string;
  label: string;
  description: string;
  detectable: boolean;
  config_fields: KindConfigField[];
}

export interface ServerModel {
  id: string;
  capabilities: string[];
  /** True for embedders and for generators whose server embeds with any model (Ollama). */
  can_embed: boolean;
  /** What the probe learnt; TEI's batch limits are numbers under max_client_batch_size and max_batch_tokens. */
  details: Record<string, unknown>;
  embedding_dimension: number | null;
  context_length: number | null;
  status: 'loaded' | 'available';
}

export interface KeyRecord {
  id: string;
  name: string;
  prefix: string;
  scopes: string[];
  models: string[] | null;
  rpm: number | null;
  tpm: number | null;
  budget_tokens: number | null;
  used_tokens: number;
  /** In the gateway's currency (see Prices on the Usage page). */
  budget_cost?: number | null;
  used_cost?: number;
  /** Its class in the admission queues. */
  priority?: 'interactive' | 'standard' | 'batch';
  status: 'active' | 'revoked' | 'expired' | 'budget_exhausted';
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
  metadata: Record<string, unknown>;
}

export interface UsageGroup {
  group: string;
  requests: number;
  /** Answered from the response cache (hits and semantic hits). */
  cache_hits?: number;
  cache_hit_ratio?: number | null;
  /** Requests that waited for capacity in the gateway's admission queue, and the p95 of those waits. */
  queued?: number;
  p95_queue_wait_ms?: number | null;
  success_rate: number | null;
  p50_latency_ms: number | null;
  p95_latency_ms: number | null;
  prompt_tokens: number;
  completion_tokens: number;
  tokens_per_second: number | null;
  /** At the models' prices, in the gateway's currency; null when none had a price. */
  cost?: number | null;
  /** Failed requests by error code. */
  errors?: Record<string, number>;
  /** Grouped by key: whose key, and whether Switchyard made the traffic itself (benchmarks). */
  key_id?: string | null;
  key_name?: string | null;
  internal?: boolean;
}

export function canChange(session: Session): boolean {
  return session.scopes.includes('admin');
}

/** The gateway's routing strategies (src/config/config-schema.ts `routingStrategies`); null on a route means the gateway's default. */
export const routingStrategies = ['least-inflight', 'latency', 'weighted', 'priority', 'round-robin', 'prefix-affinity'] as const;

export interface RouteTargetRecord {
  model: string;
  weight: number;
  tier: number;
}

export interface RouteRecord {
  id: string;
  name: string;
  strategy: string | null;
  targets: RouteTargetRecord[];
  fallbacks: string[];
  metadata: Record<string, unknown>;
  /** Set for routes the fleet file declares: change them there, not here. */
  managed_by: 'fleet_file' | null;
  /** "unresolved" when a target names no model any server serves or declares (the console comes with its gateway). */
  status: 'resolved' | 'unresolved';
  unresolved_targets: string[];
  created_at: string;
  updated_at: string;
}

/** The API answers 409 to changes of these: the fleet file is their source of truth. */
export const cacheModes = ['exact', 'semantic'] as const;

export interface CachePolicyRecord {
  name: string;
  mode: (typeof cacheModes)[number];
  ttl_s: number;
  scope: 'key' | 'global';
  similarity: number | null;
  embedding_model: string | null;
  managed_by: 'fleet_file' | null;
  created_at: string;
  updated_at: string;
}

export function isManagedByFleetFile(record: { managed_by: 'fleet_file' | null }): boolean {
  return record.managed_by === 'fleet_file';
}

export interface CollectionRecord {
  name: string;
  model: string;
  vector_size: number;
  distance: 'cosine' | 'dot' | 'euclid';
  backend: string;
  /** Null when the backend could not be asked. */
  count: number | null;
  status: 'ready' | 'stale' | 'reembedding';
  model_digest: string | null;
  stale_digest: string | null;
  reembed: { done: number; total: number; skipped: number; dropped: number; error: string | null } | null;
  managed_by: 'fleet_file' | null;
  created_at: string;
  updated_at: string;
}

export interface VectorHit {
  id: string;
  score: number;
  text: string | null;
  metadata: Record<string, unknown>;
}

/** Storing vectors and changing collections: admin, or the vectors:write scope. */
export function canWriteVectors(session: Session): boolean {
  return session.scopes.includes('admin') || session.scopes.includes('vectors:write');
}

export interface AuditRecord {
  id: string;
  at: string;
  actor_key_id: string | null;
  action: string;
  target_type: string;
  target_id: string | null;
  before: unknown;
  after: unknown;
  request_id: string | null;
  source_ip: string | null;
}

/** The events a webhook can subscribe to (src/control/webhooks/webhook-events.ts); `*` is all of them. */
export const webhookEvents = [
  'server.down',
  'server.up',
  'model.added',
  'model.removed',
  'key.budget_exceeded',
  'circuit.opened',
  'operation.finished',
  'placement.unsatisfied',
  'model.threshold_violated',
  'model.threshold_recovered',
] as const;

export interface WebhookRecord {
  id: string;
  url: string;
  events: string[];
  is_active: boolean;
  has_secret: boolean;
  created_at: string;
  updated_at: string;
}

export interface WebhookDelivery {
  id: string;
  event: string;
  status: 'pending' | 'retrying' | 'delivered' | 'failed';
  attempts: number;
  response_status: number | null;
  error: string | null;
  created_at: string;
  updated_at: string;
  next_attempt_at: string | null;
}

/** What went wrong, as a sentence the page can show. */
export function messageOf(caught: unknown, fallback: string): string {
  return caught instanceof Error ? caught.message : fallback;
}

/** One server's part of an operation (GET /api/v1/operations/{id}). */
export interface OperationTarget {
  server_id: string | null;
  name: string;
  status: 'pending' | 'running' | 'succeeded' | 'failed' | 'cancelled';
  completed: number | null;
  total: number | null;
  digest: string | null;
  message: string | null;
  error?: string;
}

export interface OperationView {
  id: string;
  kind: 'pull' | 'delete' | 'copy' | 'load' | 'unload' | 'hub_download';
  status: 'running' | 'succeeded' | 'failed' | 'cancelled';
  model: string;
  params: Record<string, unknown>;
  actor_key_id: string | null;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
  error: string | null;
  servers: OperationTarget[];
}

export interface InventoryCell {
  server_id: string;
  name: string;
  status: 'loaded' | 'available';
  loaded: boolean;
  digest: string | null;
  size: number | null;
  family: string | null;
  parameter_size: string | null;
  quantization: string | null;
  modified_at: string | null;
  size_vram: number | null;
  expires_at: string | null;
  capabilities: string[];
  context_length: number | null;
}

export interface Inventory {
  servers: Array<{ id: string; name: string; server_type: string; health_status: string; is_active: boolean; loaded_models: number; vram_bytes: number | null; actions: string[] }>;
  models: Array<{ id: string; active: boolean; loaded_on: number; available_on: number; servers: InventoryCell[] }>;
}

/** Bytes as people read them: 4.1 GB, 274 MB. */
export function formatBytes(bytes: number | null): string {
  if (bytes === null) return '—';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value >= 100 || unit === 0 ? value.toFixed(0) : value.toFixed(1)} ${units[unit]}`;
}

export interface HubSearchHit {
  id: string;
  downloads: number;
  likes: number;
  tags: string[];
  pipeline_tag: string | null;
  library_name: string | null;
  gguf: boolean;
  last_modified: string | null;
  private: boolean;
}

export interface HubModel {
  id: string;
  sha: string;
  private: boolean;
  downloads: number;
  likes: number;
  tags: string[];
  last_modified: string | null;
  gguf: boolean;
  files: Array<{ name: string; size: number | null; sha256: string | null; quant: string | null; cached: boolean }>;
  quants: Array<{ quant: string; files: string[]; size: number; ollama_name: string }>;
}
