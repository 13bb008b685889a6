import type { FastifyBaseLogger } from 'fastify';
import type { ClientApi, RequestOutcome } from '../proxy/request-outcome.ts';

/**
 * Turns texts into vectors through the data plane (routing, failover, and
 * whatever the implementation adds: the embedding cache, batch splitting,
 * dimension pinning, hedging). The vector store and the semantic cache use
 * it; `/v1/embeddings` answers from it.
 */
export interface Embedder {
  embed(request: EmbedRequest): Promise<EmbedResult>;
}

export interface EmbedRequest {
  /** The model (or route) name as the caller wrote it. */
  model: string;
  inputs: readonly string[];
  requestId: string;
  /** Who asked (usage records, `scope: key` caches). */
  keyId: string | null;
  /** The caller's allow-list; a model outside it does not exist for the caller. */
  isAllowed?: (name: string) => boolean;
  /** OpenAI's `dimensions` (Matryoshka models), passed on when set. */
  dimensions?: number;
  signal?: AbortSignal;
  log?: FastifyBaseLogger;
  /** Record one usage record and metrics for the whole call (default true). */
  recorded?: boolean;
  /**
   * The embedding cache for this call: `use` (the default), `no-cache`
   * (do not read, do store) or `no-store` (neither), as Cache-Control asks.
   */
  cache?: 'use' | 'no-cache' | 'no-store';
  /** Other fields passed to the server as they are (they change the vectors, so they are part of the cache key). */
  options?: Readonly<Record<string, unknown>>;
  /** Called once with the call's outcome (tokens, status), whether it succeeded or not. */
  onSettled?: (outcome: RequestOutcome) => void;
  /** The API the call came in on, for its usage record and metrics (default `openai`). */
  api?: ClientApi;
}

export interface EmbedResult {
  /** One vector per input, in the inputs' order. */
  vectors: number[][];
  dimension: number;
  /** The model id the server(s) served. */
  servedModel: string;
  /** The server that answered (the last one, when sub-batches went to several). */
  serverName: string | null;
  promptTokens: number;
  /** How many inputs came from the embedding cache. */
  cachedCount: number;
  /** True when a hedged request answered. */
  hedged: boolean;
  /** `hit`: every input from the cache; `miss`: some went upstream; `bypass`: the cache was not used. */
  cache?: 'hit' | 'miss' | 'bypass';
  /** Upstream attempts over all sub-batches (0 on a full hit). */
  attempts?: number;
  /** The route the name resolved through, if any. */
  route?: string | null;
}
