export type CircuitState = 'closed' | 'open' | 'half-open';

/**
 * Per deployment: `threshold` consecutive failures open the circuit; after
 * the cooldown one request is let through (half-open); its success closes the
 * circuit, its failure opens it again for another cooldown.
 */
export class CircuitBreaker {
  #state: CircuitState = 'closed';
  #failures = 0;
  #openedAt = 0;
  #probeInFlight = false;
  readonly #threshold: number;
  readonly #cooldownMs: number;
  readonly #onOpen: () => void;

  constructor(threshold: number, cooldownMs: number, onOpen: () => void = () => undefined) {
    this.#threshold = threshold;
    this.#cooldownMs = cooldownMs;
    this.#onOpen = onOpen;
  }

  /** May a request go through now? Moves open → half-open once the cooldown has passed. */
  canPass(now: number): boolean {
    if (this.#state === 'closed') return true;
    if (this.#state === 'open' && now - this.#openedAt >= this.#cooldownMs) {
      this.#state = 'half-open';
      this.#probeInFlight = false;
    }
    return this.#state === 'half-open' && !this.#probeInFlight;
  }

  /** Marks the start of a request that `canPass` admitted. */
  onAttempt(): void {
    if (this.#state === 'half-open') this.#probeInFlight = true;
  }

  onSuccess(): void {
    this.#state = 'closed';
    this.#failures = 0;
    this.#probeInFlight = false;
  }

  onFailure(now: number): void {
    this.#failures++;
    this.#probeInFlight = false;
    if (this.#state === 'half-open' || (this.#state === 'closed' && this.#failures >= this.#threshold)) {
      this.#state = 'open';
      this.#openedAt = now;
      this.#onOpen();
    } else if (this.#state === 'open') {
      this.#openedAt = now;
    }
  }

  /**
   * Another replica saw this deployment's circuit open: keep it open here for
   * the `ms` it has left, without counting failures of our own or announcing it again.
   */
  openFor(ms: number, now: number): void {
    this.#state = 'open';
    this.#probeInFlight = false;
    this.#openedAt = Math.max(this.#openedAt, now + ms - this.#cooldownMs);
  }

  get state(): CircuitState {
    return this.#state;
  }
}
