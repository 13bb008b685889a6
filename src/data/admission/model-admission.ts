import { FairQueue, ShedError, type FairQueueSettings, type PriorityClass, type QueueEntry, type ShedReason } from './fair-queue.ts';

/** A request's hold on its model's capacity, from admission until it is over (retries and failover included). */
export interface Permit {
  /** Milliseconds it waited in the queue (0 when admitted at once). */
  readonly waitedMs: number;
  /** Gives the capacity back; the next waiting request is admitted at once. Idempotent. */
  release(): void;
}

export interface AdmissionObserver {
  waited?(model: string, waitedMs: number): void;
  shed?(model: string, reason: ShedReason): void;
}

interface ModelState {
  queue: FairQueue;
  /** Requests admitted and not yet over, those just dispatched from the queue included. */
  running: number;
  /** The capacity the latest request saw (null: unbounded). */
  capacity: number | null;
}

/** One model's admission now: what the console's queue panels and GET /api/v1/queues show. */
export interface QueueState {
  model: string;
  waiting: number;
  waiting_by_class: Record<PriorityClass, number>;
  /** How long the longest-waiting request has waited, ms. */
  oldest_wait_ms: number;
  /** Requests admitted and not yet over. */
  running: number;
  /** What its deployments can run at once (null: unknown, so not limited). */
  capacity: number | null;
}

const admittedAtOnce = { waitedMs: 0, release: () => undefined } as const satisfies Permit;

/**
 * Admission per model: while its deployments have room, requests go straight
 * through; once every one is at capacity, they wait in the model's FairQueue
 * and are admitted, one for each request that ends, the moment it ends.
 * A request that arrives while others wait queues behind them, so it cannot
 * overtake them by landing just as capacity frees. A model whose capacity is
 * unknown (any deployment without one) is not limited at all.
 */
export class ModelAdmission {
  readonly #settings: FairQueueSettings;
  readonly #observer: AdmissionObserver;
  readonly #clock: () => number;
  readonly #models = new Map<string, ModelState>();

  constructor(settings: FairQueueSettings, observer: AdmissionObserver = {}, clock: () => number = Date.now) {
    this.#settings = settings;
    this.#observer = observer;
    this.#clock = clock;
  }

  /** Requests waiting per model (for `llm_queue_depth`). */
  depths(): Array<{ model: string; waiting: number }> {
    return [...this.#models].map(([model, state]) => ({ model, waiting: state.queue.length }));
  }

  /** Every model with requests running under a known capacity or waiting (a model idle, or unlimited, has none). */
  states(): QueueState[] {
    return [...this.#models].map(([model, state]) => {
      const { byClass, oldestWaitMs } = state.queue.summary();
      return { model, waiting: state.queue.length, waiting_by_class: byClass, oldest_wait_ms: oldestWaitMs, running: state.running, capacity: state.capacity };
    });
  }

  /**
   * Admits a request for `model`, whose deployments can run `capacity`
   * requests at once (null: unbounded): a permit at once, or a promise of one
   * after waiting, which rejects with a ShedError when it cannot be admitted.
   */
  admit(model: string, capacity: number | null, entry: QueueEntry): Permit | Promise<Permit> {
    let state = this.#models.get(model);
    // The usual case, nothing known to limit: no state, no promise, nothing awaited.
    if (capacity === null && state === undefined) return admittedAtOnce;
    if (state === undefined) {
      state = { queue: new FairQueue(this.#settings, this.#clock), running: 0, capacity };
      this.#models.set(model, state);
    }
    state.capacity = capacity;
    // Room grown since the last release (a server added, a capacity raised): let waiting requests in first.
    this.#pump(state);
    if (state.queue.length === 0 && (capacity === null || state.running < capacity)) {
      state.running++;
      return this.#permit(model, state, 0);
    }
    return this.#queued(model, state, entry);
  }

  async #queued(model: string, state: ModelState, entry: QueueEntry): Promise<Permit> {
    try {
      const waitedMs = await state.queue.wait(entry);
      this.#observer.waited?.(model, waitedMs);
      return this.#permit(model, state, waitedMs);
    } catch (error) {
      if (error instanceof ShedError) this.#observer.shed?.(model, error.reason);
      this.#forgetIfIdle(model, state);
      throw error;
    }
  }

  #permit(model: string, state: ModelState, waitedMs: number): Permit {
    let released = false;
    return {
      waitedMs,
      release: () => {
        if (released) return;
        released = true;
        state.running--;
        this.#pump(state);
        this.#forgetIfIdle(model, state);
      },
    };
  }

  /** Admits waiting requests while there is room: each dispatched one is counted as running at once. */
  #pump(state: ModelState): void {
    while (state.queue.length > 0 && (state.capacity === null || state.running < state.capacity)) {
      state.running++;
      if (!state.queue.dispatch()) {
        state.running--;
        return;
      }
    }
  }

  #forgetIfIdle(model: string, state: ModelState): void {
    if (state.running === 0 && state.queue.length === 0) this.#models.delete(model);
  }
}
