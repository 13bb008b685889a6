import { performance } from 'node:perf_hooks';
import type { ErrorCode } from '../../errors/app-error.ts';
import type { Operation } from '../adapters/inference-mapping.ts';

/** The API a request came in on: its front door (one engine behind all of them). */
export type ClientApi = 'openai' | 'ollama' | 'anthropic' | 'responses' | 'rest' | 'graphql' | 'grpc' | 'websocket';

export const clientApis: readonly ClientApi[] = ['openai', 'ollama', 'anthropic', 'responses', 'rest', 'graphql', 'grpc', 'websocket'];

/** Everything known about one /v1 request when it is over: feeds metrics, usage records and traces. */
export interface RequestOutcome {
  requestId: string;
  /** Epoch ms. */
  startedAt: number;
  /** performance.now() at the start, for precise durations. */
  startedPerf: number;
  operation: Operation;
  /** The API the caller spoke (`llm_requests_total{api}`, the usage record's `api`). */
  api: ClientApi;
  keyId: string | null;
  requestedModel: string;
  servedModel: string | null;
  serverId: string | null;
  serverName: string | null;
  route: string | null;
  strategy: string | null;
  attempts: number;
  status: number;
  /** The catalogue code the client received (or would have, for SY_CLIENT_DISCONNECTED); null on success. */
  errorType: ErrorCode | null;
  promptTokens: number;
  completionTokens: number;
  latencyMs: number;
  ttftMs: number | null;
  streamed: boolean;
  cacheHit: boolean;
  /** Time spent waiting for capacity in the model's admission queue, ms (shed requests included). */
  queueWaitMs: number;
}

export type RequestObserver = (outcome: RequestOutcome) => void;

export function newOutcome(requestId: string, operation: Operation, requestedModel: string, keyId: string | null, streamed: boolean, api: ClientApi = 'openai'): RequestOutcome {
  return {
    requestId,
    startedAt: Date.now(),
    startedPerf: performance.now(),
    operation,
    api,
    keyId,
    requestedModel,
    servedModel: null,
    serverId: null,
    serverName: null,
    route: null,
    strategy: null,
    attempts: 0,
    status: 0,
    errorType: null,
    promptTokens: 0,
    completionTokens: 0,
    latencyMs: 0,
    ttftMs: null,
    streamed,
    cacheHit: false,
    queueWaitMs: 0,
  };
}
