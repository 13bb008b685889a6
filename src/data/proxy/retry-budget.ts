/**
 * Retries may add at most `ratio` extra load (plus a small floor so a quiet
 * gateway can still retry): when a whole fleet is failing, retries would
 * only multiply the storm.
 */
export class RetryBudget {
  readonly #ratio: number;
  readonly #windowMs: number;
  readonly #floor: number;
  #windowStart = 0;
  #requests = 0;
  #retries = 0;

  constructor(ratio: number, windowMs = 10_000, floor = 3) {
    this.#ratio = ratio;
    this.#windowMs = windowMs;
    this.#floor = floor;
  }

  onRequest(now: number): void {
    this.#roll(now);
    this.#requests++;
  }

  /** Takes one retry from the budget if there is one. */
  tryRetry(now: number): boolean {
    this.#roll(now);
    if (this.#retries >= this.#floor + this.#requests * this.#ratio) return false;
    this.#retries++;
    return true;
  }

  #roll(now: number): void {
    if (now - this.#windowStart >= this.#windowMs) {
      this.#windowStart = now;
      this.#requests = 0;
      this.#retries = 0;
    }
  }
}

/** Exponential backoff with full jitter: base · 2^(attempt-1) · random, capped at 2 s. */
export function backoffDelay(attempt: number, baseMs: number, random: () => number = Math.random): number {
  return Math.min(2_000, baseMs * 2 ** (attempt - 1)) * random();
}
