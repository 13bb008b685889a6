/**
 * Writes that arrive close together committed in one transaction. On SQLite
 * every commit is an fsync that holds the event loop (better-sqlite3 is
 * synchronous; 4 ms typical, tens of ms on a busy disk), and a fleet of
 * 1,000 servers checked every 30 s commits 33 times a second. A write waits
 * at most `windowMs`; a batch that fails is retried write by write, so one
 * bad write fails alone and the others still land.
 */
export class GroupCommit<T> {
  readonly #commit: (items: T[]) => Promise<void>;
  readonly #windowMs: number;
  readonly #maxBatch: number;
  #pending: Array<{ item: T; resolve: () => void; reject: (error: unknown) => void }> = [];
  #timer: NodeJS.Timeout | null = null;

  constructor(commit: (items: T[]) => Promise<void>, options: { windowMs: number; maxBatch: number }) {
    this.#commit = commit;
    this.#windowMs = options.windowMs;
    this.#maxBatch = options.maxBatch;
  }

  /** Resolves once the item is committed; rejects with its own failure. */
  add(item: T): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ item, resolve, reject });
      if (this.#windowMs <= 0 || this.#pending.length >= this.#maxBatch) void this.#flush();
      else this.#timer ??= setTimeout(() => void this.#flush(), this.#windowMs);
    });
  }

  async #flush(): Promise<void> {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    const batch = this.#pending;
    this.#pending = [];
    if (batch.length === 0) return;
    try {
      await this.#commit(batch.map((entry) => entry.item));
      for (const entry of batch) entry.resolve();
    } catch (error) {
      if (batch.length === 1) {
        batch[0]?.reject(error);
        return;
      }
      for (const entry of batch) {
        try {
          await this.#commit([entry.item]);
          entry.resolve();
        } catch (own) {
          entry.reject(own);
        }
      }
    }
  }
}
