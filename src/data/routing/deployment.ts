import type { ModelServer, ServerModel } from '../../domain/model-server.ts';
import { CircuitBreaker } from './circuit-breaker.ts';

/** Live numbers about one deployment (a model on a server), kept across index rebuilds. */
export class DeploymentState {
  inflight = 0;
  /** EWMA of time to first byte, ms; null until measured. */
  ttfbEwmaMs: number | null = null;
  /** No traffic until this time (Retry-After from a 429/503). */
  cooldownUntil = 0;
  readonly breaker: CircuitBreaker;

  constructor(breakerThreshold: number, breakerCooldownMs: number, onCircuitOpen?: () => void) {
    this.breaker = new CircuitBreaker(breakerThreshold, breakerCooldownMs, onCircuitOpen);
  }

  /** EWMA of generated tokens per second after the first byte; null until measured. */
  tokensPerSecondEwma: number | null = null;

  recordThroughput(tokens: number, milliseconds: number): void {
    if (tokens <= 0 || milliseconds <= 0) return;
    const rate = (tokens * 1000) / milliseconds;
    this.tokensPerSecondEwma = this.tokensPerSecondEwma === null ? rate : this.tokensPerSecondEwma * 0.7 + rate * 0.3;
  }

  recordTtfb(milliseconds: number): void {
    // α = 0.3: follows a change within a handful of requests, smooths single outliers.
    this.ttfbEwmaMs = this.ttfbEwmaMs === null ? milliseconds : this.ttfbEwmaMs * 0.7 + milliseconds * 0.3;
  }
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
}

export function deploymentKey(serverId: string, modelId: string): string {
  return `${serverId}\u0000${modelId}`;
}
