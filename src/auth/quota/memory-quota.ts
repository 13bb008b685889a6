import { windowMs, type Admission, type QuotaBackend, type QuotaLimits } from './quota-backend.ts';

interface Window {
  start: number;
  requests: number;
  tokens: number;
}

/**
 * One process: counters in memory, seeded from storage at start. JavaScript
 * runs one callback at a time, so admit is atomic. The map holds one entry per
 * key that made a limited request (keys are created by administrators).
 */
export class MemoryQuota implements QuotaBackend {
  readonly #windows = new Map<string, Window>();
  readonly #used = new Map<string, number>();

  async admit(limits: QuotaLimits, estimatedTokens: number, now: number): Promise<Admission> {
    let window = this.#windows.get(limits.keyId);
    if (window === undefined || now >= window.start + windowMs || now < window.start) {
      window = { start: now, requests: 0, tokens: 0 };
      this.#windows.set(limits.keyId, window);
    }
    const used = this.#used.get(limits.keyId) ?? 0;
    const state = { requests: window.requests, tokens: window.tokens, usedTokens: used, resetMs: window.start + windowMs - now, windowStart: window.start };
    if (limits.rpm !== null && window.requests + 1 > limits.rpm) return { allowed: false, refusal: 'rpm', state };
    if (limits.tpm !== null && window.tokens + estimatedTokens > limits.tpm) return { allowed: false, refusal: 'tpm', state };
    if (limits.budgetTokens !== null && used + estimatedTokens > limits.budgetTokens) return { allowed: false, refusal: 'budget', state };
    window.requests += 1;
    window.tokens += estimatedTokens;
    this.#used.set(limits.keyId, used + estimatedTokens);
    return { allowed: true, state: { ...state, requests: window.requests, tokens: window.tokens, usedTokens: used + estimatedTokens } };
  }

  async settle(keyId: string, tokenDelta: number, windowStart: number): Promise<number> {
    const window = this.#windows.get(keyId);
    if (window !== undefined && window.start === windowStart) window.tokens = Math.max(0, window.tokens + tokenDelta);
    const used = Math.max(0, (this.#used.get(keyId) ?? 0) + tokenDelta);
    this.#used.set(keyId, used);
    return used;
  }

  async seedUsed(keyId: string, usedTokens: number): Promise<void> {
    this.#used.set(keyId, Math.max(this.#used.get(keyId) ?? 0, usedTokens));
  }

  async usedTokens(keyId: string): Promise<number> {
    return this.#used.get(keyId) ?? 0;
  }

  async close(): Promise<void> {}
}
