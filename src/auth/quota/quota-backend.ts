/** The limits of one key, as the quota check needs them. */
export interface QuotaLimits {
  keyId: string;
  rpm: number | null;
  tpm: number | null;
  budgetTokens: number | null;
}

export type QuotaRefusal = 'rpm' | 'tpm' | 'budget';

export interface QuotaState {
  requests: number;
  tokens: number;
  usedTokens: number;
  /** Milliseconds until the current minute window ends. */
  resetMs: number;
  /** When the current window began (epoch ms on the service's clock); settlement finds the window by it. */
  windowStart: number;
}

export type Admission = { allowed: true; state: QuotaState } | { allowed: false; refusal: QuotaRefusal; state: QuotaState };

/**
 * Counts requests and tokens per key per minute and tokens against a budget.
 * `admit` is atomic: it checks every limit and, only if all allow, counts the
 * request and reserves its estimated tokens. Refused requests count nothing.
 *
 * A window is the minute that began with the first request after the last
 * window ended, on the clock the caller passes as `now` (never the backend's
 * own), so tests inject time and windows never straddle a wall-clock minute.
 */
export interface QuotaBackend {
  /**
   * `storedUsed` gives what storage says a key has used; a shared backend calls
   * it when its counter is missing (Redis restarted empty) and seeds from it.
   */
  admit(limits: QuotaLimits, estimatedTokens: number, now: number, storedUsed: () => Promise<number>): Promise<Admission>;
  /**
   * Replaces a reservation by what the response says was really used (delta may
   * be negative). Returns the key's used tokens afterwards, or null when the
   * counter is gone (the next admission seeds it from storage).
   */
  settle(keyId: string, tokenDelta: number, windowStart: number): Promise<number | null>;
  /** Seeds a key's budget counter from storage at start (never lowers a shared counter). */
  seedUsed(keyId: string, usedTokens: number): Promise<void>;
  usedTokens(keyId: string): Promise<number>;
  /**
   * A shared spend counter (currency) for budgets in currency, when the
   * backend is shared between replicas (Redis). `spent` answers null when the
   * counter is missing, so the service seeds it from storage. A process-local
   * backend leaves these out: the service counts in memory.
   */
  addSpend?(keyId: string, cost: number): Promise<void>;
  spent?(keyId: string): Promise<number | null>;
  seedSpend?(keyId: string, spent: number): Promise<void>;
  close(): Promise<void>;
}

export const windowMs = 60_000;

/** The backend (Redis) cannot answer: the service applies its fail-open or fail-closed policy. */
export class QuotaBackendError extends Error {
  readonly code = 'SY_QUOTA_BACKEND';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'QuotaBackendError';
  }
}
