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
}

export type Admission = { allowed: true; state: QuotaState } | { allowed: false; refusal: QuotaRefusal; state: QuotaState };

/**
 * Counts requests and tokens per key per minute and tokens against a budget.
 * `admit` is atomic: it checks every limit and, only if all allow, counts the
 * request and reserves its estimated tokens. Refused requests count nothing.
 */
export interface QuotaBackend {
  admit(limits: QuotaLimits, estimatedTokens: number, now: number): Promise<Admission>;
  /** Replaces a reservation by what the response says was really used (delta may be negative). */
  settle(keyId: string, tokenDelta: number, windowStart: number): Promise<void>;
  /** Seeds a key's budget counter from storage at start (never lowers a shared counter). */
  seedUsed(keyId: string, usedTokens: number): Promise<void>;
  usedTokens(keyId: string): Promise<number>;
  close(): Promise<void>;
}

export const windowMs = 60_000;

export function windowStartOf(now: number): number {
  return now - (now % windowMs);
}
