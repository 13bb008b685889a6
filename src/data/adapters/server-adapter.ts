import type { ModelCapability } from '../../domain/server-kind.ts';
import type { UpstreamCall, UpstreamHttp } from '../upstream/upstream-http.ts';

/** What an adapter needs to reach one server; passed in, never looked up. */
export interface AdapterContext {
  baseUrl: string;
  apiKey: string | null;
  http: UpstreamHttp;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Sub-flavour found by detection (e.g. `tei` behind the embedding kind). */
  flavor?: string | null;
  /** The kind's auth headers for this server; when absent, `apiKey` goes as a Bearer token. */
  authHeaders?: Record<string, string>;
  /** The server's own settings for its kind (the `custom` kind's paths and fields). */
  kindConfig?: Record<string, unknown> | null;
}

export type ModelStatus = 'loaded' | 'available';

export interface DiscoveredModel {
  id: string;
  capabilities: ModelCapability[];
  embeddingDimension: number | null;
  contextLength: number | null;
  status: ModelStatus;
  /** Facts worth showing (family, size, quantisation, digest…); small and JSON-safe. */
  details: Record<string, unknown>;
}

export interface LoadMetrics {
  runningRequests: number | null;
  waitingRequests: number | null;
  /** 0..1 */
  kvCacheUsage: number | null;
  loadedModels: string[];
  memoryBytes: number | null;
  details: Record<string, number>;
  /**
   * Each loaded model, as the server lists it (Ollama's /api/ps): what it
   * holds in VRAM and when it unloads. Kept in memory with the load, not in
   * the model's stored details: it changes on every probe.
   */
  running?: RunningModel[];
  /**
   * Requests the server holds back only because it already runs as many as
   * it can (vLLM's waiting queue). Set only by kinds whose queue means that:
   * while it is above 0, the running count is the server's capacity, and the
   * health checker learns it (see LoadHistory).
   */
  waitingAtCapacity?: number | null;
  /** The server's prefix-cache lookups and hits since it started (vLLM counts tokens); absent when it reports none. */
  prefixCache?: { hits: number; queries: number } | null;
  /** When the server process started, Unix seconds: a change means it restarted. Absent when it does not say. */
  startedAtSeconds?: number | null;
  /** Filled in by the health checker from consecutive probes: the capacity learned from waitingAtCapacity (null: not learned). */
  learnedCapacity?: number | null;
  /**
   * Per model, where each model runs on slots of its own (a llama.cpp
   * router's child processes): requests running and slots, as the model's
   * own /slots says. Kept in memory with the load, like `running`.
   */
  perModel?: Record<string, { running: number | null; slots: number | null }>;
  /** Filled in by the health checker: the prefix-cache hit ratio (0..1) over the latest probe interval (null: nothing looked up yet). */
  prefixCacheHitRatio?: number | null;
}

export interface RunningModel {
  model: string;
  vramBytes: number | null;
  /** ISO time; null when the server does not say. */
  expiresAt: string | null;
}

export interface ProbeResult {
  models: DiscoveredModel[];
  load: LoadMetrics | null;
}

export function joinUrl(baseUrl: string, path: string): string {
  return `${baseUrl.replace(/\/+$/, '')}${path}`;
}

/** The common shape of one probe call to `path` on the context's server. */
export function upstreamCall(
  context: AdapterContext,
  path: string,
  what: string,
  request: { method?: 'GET' | 'POST' | 'PUT'; body?: unknown } = {},
): UpstreamCall {
  return {
    url: joinUrl(context.baseUrl, path),
    apiKey: context.apiKey,
    ...(context.authHeaders === undefined ? {} : { headers: context.authHeaders }),
    timeoutMs: context.timeoutMs,
    what,
    ...(request.method === undefined ? {} : { method: request.method }),
    ...(request.body === undefined ? {} : { body: request.body }),
    ...(context.signal === undefined ? {} : { signal: context.signal }),
  };
}
