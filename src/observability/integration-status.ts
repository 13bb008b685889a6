/** What the gateway knows of one integration it depends on: for /api/v1/integration/health and /integrations/status. */
export interface IntegrationStatus {
  /** `ok`; `degraded` (working, with failures); `down`; `disabled` (not configured). */
  status: 'ok' | 'degraded' | 'down' | 'disabled';
  /** The last failure, safe to show (no secret, no upstream body); null when none was seen. */
  lastError: string | null;
  /** ISO time of that failure. */
  lastErrorAt: string | null;
}

/** Remembers the last failure of something that runs in the background (exports, deliveries). */
export class FailureMemory {
  #lastError: string | null = null;
  #lastErrorAt: string | null = null;
  #lastSuccessAt = 0;
  #lastFailureAt = 0;

  fail(message: string): void {
    this.#lastError = message.slice(0, 500);
    this.#lastFailureAt = Date.now();
    this.#lastErrorAt = new Date(this.#lastFailureAt).toISOString();
  }

  succeed(): void {
    this.#lastSuccessAt = Date.now();
  }

  /** Down while the last attempt failed; degraded after a recent failure (the last hour), ok otherwise. */
  status(): IntegrationStatus {
    const failingNow = this.#lastFailureAt > this.#lastSuccessAt;
    const recent = Date.now() - this.#lastFailureAt < 3_600_000;
    return { status: failingNow ? 'down' : recent && this.#lastFailureAt > 0 ? 'degraded' : 'ok', lastError: this.#lastError, lastErrorAt: this.#lastErrorAt };
  }
}
