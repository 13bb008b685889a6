import type { ModelCapability, ServerKind } from '../../domain/server-kind.ts';
import type { UpstreamCall, UpstreamHttp } from '../upstream/upstream-http.ts';

/** What an adapter needs to reach one server; passed in, never looked up. */
export interface AdapterContext {
  baseUrl: string;
  apiKey: string | null;
  http: UpstreamHttp;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Sub-flavour found by detection (e.g. `llamacpp` behind the openai kind). */
  flavor?: string | null;
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
}

export interface ProbeResult {
  models: DiscoveredModel[];
  load: LoadMetrics | null;
}

/**
 * One per server kind. Probes cost no tokens: they use listing, info and
 * metrics endpoints only, so a probe never wakes a model or bills a call.
 */
export interface ServerAdapter {
  readonly kind: ServerKind;
  /**
   * Lists the server's models and reads its load. `previous` holds what the
   * last probe found, so details that need one call per model are fetched
   * only for new or changed models.
   */
  probe(context: AdapterContext, previous: ReadonlyMap<string, DiscoveredModel>): Promise<ProbeResult>;
  /** One real embed call to learn a dimension the server does not state. */
  probeEmbeddingDimension(context: AdapterContext, modelId: string): Promise<number | null>;
}

export function joinUrl(baseUrl: string, path: string): string {
  return `${baseUrl.replace(/\/+$/, '')}${path}`;
}

/** The common shape of one probe call to `path` on the context's server. */
export function upstreamCall(
  context: AdapterContext,
  path: string,
  what: string,
  request: { method?: 'GET' | 'POST'; body?: unknown } = {},
): UpstreamCall {
  return {
    url: joinUrl(context.baseUrl, path),
    apiKey: context.apiKey,
    timeoutMs: context.timeoutMs,
    what,
    ...(request.method === undefined ? {} : { method: request.method }),
    ...(request.body === undefined ? {} : { body: request.body }),
    ...(context.signal === undefined ? {} : { signal: context.signal }),
  };
}
