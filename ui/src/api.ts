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
  has_api_key: boolean;
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
  revoked_at: string | null;
  last_used_at: string | null;
}

export interface UsageGroup {
  group: string;
  requests: number;
  success_rate: number | null;
  p50_latency_ms: number | null;
  p95_latency_ms: number | null;
  prompt_tokens: number;
  completion_tokens: number;
  tokens_per_second: number | null;
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
