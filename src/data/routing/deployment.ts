import type { ModelServer, ServerModel } from '../../domain/model-server.ts';
import { CircuitBreaker } from './circuit-breaker.ts';

/**
 * Measurements of one model id across every server it runs on: what a
 * request for that model can expect. `auto` ranks models by these, so it
 * need not visit each deployment per request.
 */
export class ModelStats {
  ttfbEwmaMs: number | null = null;
  tokensPerSecondEwma: number | null = null;
}

/** Live numbers about one deployment (a model on a server), kept across index patches. */
export class DeploymentState {
  inflight = 0;
  /** EWMA of time to first byte, ms; null until measured. */
  ttfbEwmaMs: number | null = null;
  /** No traffic until this time (Retry-After from a 429/503). */
  cooldownUntil = 0;
  readonly breaker: CircuitBreaker;
  /** The model's numbers across servers (fed by this deployment too); null when built outside an index. */
  readonly model: ModelStats | null;

  constructor(breakerThreshold: number, breakerCooldownMs: number, onCircuitOpen?: () => void, model: ModelStats | null = null) {
    this.breaker = new CircuitBreaker(breakerThreshold, breakerCooldownMs, onCircuitOpen);
    this.model = model;
  }

  /** EWMA of generated tokens per second after the first byte; null until measured. */
  tokensPerSecondEwma: number | null = null;

  recordThroughput(tokens: number, milliseconds: number): void {
    if (tokens <= 0 || milliseconds <= 0) return;
    const rate = (tokens * 1000) / milliseconds;
    this.tokensPerSecondEwma = ewma(this.tokensPerSecondEwma, rate);
    if (this.model !== null) this.model.tokensPerSecondEwma = ewma(this.model.tokensPerSecondEwma, rate);
  }

  recordTtfb(milliseconds: number): void {
    this.ttfbEwmaMs = ewma(this.ttfbEwmaMs, milliseconds);
    if (this.model !== null) this.model.ttfbEwmaMs = ewma(this.model.ttfbEwmaMs, milliseconds);
  }
}

// α = 0.3: follows a change within a handful of requests, smooths single outliers.
function ewma(previous: number | null, sample: number): number {
  return previous === null ? sample : previous * 0.7 + sample * 0.3;
}

/**
 * A model on a server: what routing chooses between. The model index keeps
 * one object per deployment for its whole life and refreshes `server`,
 * `model` and `reportedQueue` in place when a health check reports, so
 * `state` and anything holding the deployment stay current.
 */
export interface Deployment {
  key: string;
  server: ModelServer;
  model: ServerModel;
  state: DeploymentState;
  /** The server's own queue (vLLM waiting, llama.cpp busy slots) from its last probe. */
  reportedQueue: number;
  /** Requests it can run at once: the server's stated max_concurrency, else what it reports (llama.cpp slots, TEI permits), else what the gateway learned (vLLM); null when unknown. */
  capacity: number | null;
  /** Where `capacity` comes from; null when it is unknown (absent on a deployment built outside an index). */
  capacitySource?: CapacitySource | null;
}

/** `stated`: the server's max_concurrency; `reported`: the server says (llama.cpp slots, TEI permits); `learned`: seen running while it queued (vLLM). */
export type CapacitySource = 'stated' | 'reported' | 'learned';

export function deploymentKey(serverId: string, modelId: string): string {
  return `${serverId}\u0000${modelId}`;
}
