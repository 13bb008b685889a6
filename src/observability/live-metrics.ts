import type { RequestOutcome } from '../data/proxy/request-outcome.ts';

/** What a dashboard shows live: the last `window_s` seconds of traffic, and what is in flight now. */
export interface LiveSnapshot {
  at: string;
  window_s: number;
  requests_per_s: number;
  errors_per_s: number;
  /** Share of the window's requests that failed (0 when there were none). */
  error_ratio: number;
  in_flight: number;
  /** Median time to first token of the window's streamed requests, ms; null without any. */
  ttft_p50_ms: number | null;
  /** Median whole-request latency of the window, ms; null without requests. */
  latency_p50_ms: number | null;
  tokens_per_s: number;
}

interface Second {
  /** Epoch second this slot holds; slots of older seconds are stale. */
  second: number;
  requests: number;
  errors: number;
  tokens: number;
  latencies: number[];
  ttfts: number[];
}

/** At most this many samples a second feed the medians: a burst costs bounded memory. */
const samplesPerSecond = 256;

/**
 * A rolling window of request outcomes, one slot per second in a ring, fed by
 * the proxy's observer (O(1) per request, nothing kept past the window) and
 * read by the live feeds: `/api/v1/metrics/live`, GraphQL `metrics`,
 * `/ws/metrics`.
 */
export class LiveMetrics {
  readonly #slots: Second[];
  readonly #clock: () => number;
  readonly #inFlight: () => number;

  constructor(options: { windowS?: number; clock?: () => number; inFlight: () => number }) {
    const windowS = options.windowS ?? 60;
    this.#slots = Array.from({ length: windowS }, () => ({ second: -1, requests: 0, errors: 0, tokens: 0, latencies: [], ttfts: [] }));
    this.#clock = options.clock ?? Date.now;
    this.#inFlight = options.inFlight;
  }

  observe(outcome: RequestOutcome): void {
    const slot = this.#slotFor(Math.floor(this.#clock() / 1000));
    slot.requests++;
    if (outcome.status >= 400) slot.errors++;
    slot.tokens += outcome.promptTokens + outcome.completionTokens;
    if (slot.latencies.length < samplesPerSecond) slot.latencies.push(outcome.latencyMs);
    if (outcome.streamed && outcome.ttftMs !== null && slot.ttfts.length < samplesPerSecond) slot.ttfts.push(outcome.ttftMs);
  }

  /** The last `windowS` seconds (at most the ring's length) up to now. */
  snapshot(windowS = 10): LiveSnapshot {
    const now = this.#clock();
    const span = Math.max(1, Math.min(windowS, this.#slots.length));
    const newest = Math.floor(now / 1000);
    let requests = 0;
    let errors = 0;
    let tokens = 0;
    const latencies: number[] = [];
    const ttfts: number[] = [];
    for (const slot of this.#slots) {
      if (slot.second <= newest - span || slot.second > newest) continue;
      requests += slot.requests;
      errors += slot.errors;
      tokens += slot.tokens;
      latencies.push(...slot.latencies);
      ttfts.push(...slot.ttfts);
    }
    return {
      at: new Date(now).toISOString(),
      window_s: span,
      requests_per_s: round(requests / span),
      errors_per_s: round(errors / span),
      error_ratio: requests === 0 ? 0 : round(errors / requests),
      in_flight: this.#inFlight(),
      ttft_p50_ms: median(ttfts),
      latency_p50_ms: median(latencies),
      tokens_per_s: round(tokens / span),
    };
  }

  #slotFor(second: number): Second {
    const slot = this.#slots[second % this.#slots.length] as Second;
    if (slot.second !== second) {
      slot.second = second;
      slot.requests = 0;
      slot.errors = 0;
      slot.tokens = 0;
      slot.latencies.length = 0;
      slot.ttfts.length = 0;
    }
    return slot;
  }
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  values.sort((a, b) => a - b);
  const middle = values.length >> 1;
  const value = values.length % 2 === 1 ? (values[middle] as number) : ((values[middle - 1] as number) + (values[middle] as number)) / 2;
  return round(value);
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
