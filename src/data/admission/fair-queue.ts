/** A key's priority class; the queue serves classes in proportion to their weights. */
export type PriorityClass = 'interactive' | 'standard' | 'batch';

export const priorityClasses: readonly PriorityClass[] = ['interactive', 'standard', 'batch'];

export interface FairQueueSettings {
  /** Requests that may wait (not counting those running); one more is shed at once. */
  maxLength: number;
  /** How long a request may wait before it is shed. */
  maxWaitMs: number;
  /** Share of dispatches per class while several wait (default interactive 8, standard 4, batch 1). */
  weights: Readonly<Record<PriorityClass, number>>;
}

/** Why a request was not admitted: a full queue, a wait past the limit, or a caller that left while waiting. */
export type ShedReason = 'queue_full' | 'queue_timeout' | 'client_gone';

export class ShedError extends Error {
  readonly reason: ShedReason;
  /** How long the request waited before it was shed. */
  readonly waitedMs: number;

  constructor(reason: ShedReason, waitedMs: number) {
    super(reason === 'queue_full' ? 'The queue for this model is full.' : reason === 'queue_timeout' ? 'The request waited too long for this model.' : 'The caller left while waiting.');
    this.name = 'ShedError';
    this.reason = reason;
    this.waitedMs = waitedMs;
  }
}

export interface QueueEntry {
  keyId: string;
  priority: PriorityClass;
  /** Aborting it (the client disconnected) takes the request out of the queue at once. */
  signal: AbortSignal;
  /** The request's deadline (clock ms): it waits no longer than this, nor than maxWaitMs. */
  deadlineAt?: number;
}

interface Waiting {
  entry: QueueEntry;
  /** Start-time fair queueing: the virtual time at which this request's share begins. */
  tag: number;
  enqueuedAt: number;
  admit: (waitedMs: number) => void;
  shed: (error: ShedError) => void;
  timer: ReturnType<typeof setTimeout>;
  onAbort: () => void;
}

/**
 * One model's waiting room when every deployment is at capacity: requests
 * wait here rather than piling onto full servers, and are dispatched the
 * moment `dispatch` says capacity freed (event-driven, never polled).
 *
 * Fairness is start-time fair queueing by key: each key's next request is
 * tagged one weighted step after its previous one (or after the queue's
 * current virtual time, for a key that has been idle), and the smallest tag
 * goes first. A batch key with a thousand waiting requests therefore takes
 * one turn in every `weight` rounds, never all of them; an interactive key's
 * request waits behind at most a bounded number of others.
 */
export class FairQueue {
  readonly #settings: FairQueueSettings;
  readonly #clock: () => number;
  readonly #waiting: Waiting[] = [];
  /** The next tag each key would start from; dropped when the key has nothing waiting and has fallen behind. */
  readonly #keyTags = new Map<string, number>();
  #virtualTime = 0;

  constructor(settings: FairQueueSettings, clock: () => number = Date.now) {
    this.#settings = settings;
    this.#clock = clock;
  }

  get length(): number {
    return this.#waiting.length;
  }

  /** Requests waiting by priority class, and how long the longest-waiting one has waited (ms). */
  summary(): { byClass: Record<PriorityClass, number>; oldestWaitMs: number } {
    const byClass: Record<PriorityClass, number> = { interactive: 0, standard: 0, batch: 0 };
    let oldest = Number.POSITIVE_INFINITY;
    for (const waiting of this.#waiting) {
      byClass[waiting.entry.priority]++;
      oldest = Math.min(oldest, waiting.enqueuedAt);
    }
    return { byClass, oldestWaitMs: oldest === Number.POSITIVE_INFINITY ? 0 : Math.max(0, this.#clock() - oldest) };
  }

  /**
   * Waits for a turn. Resolves with the milliseconds waited once `dispatch`
   * hands this request the capacity that freed; rejects with a ShedError
   * when the queue is full, the wait passes `maxWaitMs`, or the caller leaves.
   */
  wait(entry: QueueEntry): Promise<number> {
    if (entry.signal.aborted) return Promise.reject(new ShedError('client_gone', 0));
    if (this.#waiting.length >= this.#settings.maxLength) return Promise.reject(new ShedError('queue_full', 0));
    const step = 1 / Math.max(this.#settings.weights[entry.priority], Number.MIN_VALUE);
    const tag = Math.max(this.#virtualTime, this.#keyTags.get(entry.keyId) ?? 0);
    this.#keyTags.set(entry.keyId, tag + step);
    const enqueuedAt = this.#clock();
    return new Promise<number>((resolve, reject) => {
      const waiting: Waiting = {
        entry,
        tag,
        enqueuedAt,
        admit: resolve,
        shed: reject,
        timer: setTimeout(() => this.#drop(waiting, 'queue_timeout'), Math.max(0, Math.min(this.#settings.maxWaitMs, (entry.deadlineAt ?? Number.POSITIVE_INFINITY) - enqueuedAt))),
        onAbort: () => this.#drop(waiting, 'client_gone'),
      };
      waiting.timer.unref?.();
      entry.signal.addEventListener('abort', waiting.onAbort, { once: true });
      this.#insert(waiting);
    });
  }

  /**
   * Capacity freed: admits the next request in fair order, if one waits.
   * Returns whether one was admitted (the caller then has handed its slot on).
   */
  dispatch(): boolean {
    const next = this.#waiting.shift();
    if (next === undefined) return false;
    this.#settle(next);
    this.#virtualTime = Math.max(this.#virtualTime, next.tag);
    next.admit(this.#clock() - next.enqueuedAt);
    return true;
  }

  /** Keeps the waiting list sorted by tag, arrival order among equal tags. */
  #insert(waiting: Waiting): void {
    let at = this.#waiting.length;
    while (at > 0 && (this.#waiting[at - 1] as Waiting).tag > waiting.tag) at--;
    this.#waiting.splice(at, 0, waiting);
  }

  #drop(waiting: Waiting, reason: ShedReason): void {
    const at = this.#waiting.indexOf(waiting);
    if (at === -1) return;
    this.#waiting.splice(at, 1);
    this.#settle(waiting);
    waiting.shed(new ShedError(reason, this.#clock() - waiting.enqueuedAt));
  }

  #settle(waiting: Waiting): void {
    clearTimeout(waiting.timer);
    waiting.entry.signal.removeEventListener('abort', waiting.onAbort);
    // Keys that are idle and behind the virtual clock need no memory: they would restart from it anyway.
    if (this.#keyTags.size > this.#waiting.length * 2 + 64) {
      for (const [key, next] of this.#keyTags) if (next <= this.#virtualTime) this.#keyTags.delete(key);
    }
  }
}

/** `interactive=8,standard=4,batch=1` (SWITCHYARD_QUEUE_WEIGHTS) as weights; a missing class keeps its default. */
export function parseQueueWeights(text: string): Record<PriorityClass, number> {
  const weights: Record<PriorityClass, number> = { interactive: 8, standard: 4, batch: 1 };
  for (const part of text.split(',')) {
    if (part.trim() === '') continue;
    const [name, value] = part.split('=').map((piece) => piece.trim());
    const weight = Number(value);
    if (!priorityClasses.includes(name as PriorityClass) || !Number.isFinite(weight) || weight <= 0) throw new Error(`"${part.trim()}" is not class=weight with a class of ${priorityClasses.join(', ')} and a positive weight.`);
    weights[name as PriorityClass] = weight;
  }
  return weights;
}
