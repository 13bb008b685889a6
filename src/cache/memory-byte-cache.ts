import type { ByteCache } from './byte-cache.ts';

interface Entry {
  value: Buffer;
  /** Epoch ms; null: until evicted. */
  expiresAt: number | null;
  bytes: number;
}

// What a Map entry costs beyond the key and value bytes (object, pointers, Buffer header).
const entryOverheadBytes = 96;

/**
 * An LRU in this process, bounded in bytes (keys, values and per-entry
 * overhead): the least recently used entries go first when it is full. A Map
 * keeps insertion order, so a hit moves its entry to the end.
 */
export class MemoryByteCache implements ByteCache {
  readonly backend = 'memory' as const;
  readonly #entries = new Map<string, Entry>();
  readonly #maxBytes: number;
  readonly #clock: () => number;
  #bytes = 0;

  constructor(options: { maxBytes: number; clock?: () => number }) {
    this.#maxBytes = options.maxBytes;
    this.#clock = options.clock ?? Date.now;
  }

  /** Bytes held now (for tests and gauges). */
  get bytes(): number {
    return this.#bytes;
  }

  get size(): number {
    return this.#entries.size;
  }

  async get(key: string): Promise<Buffer | null> {
    return this.#read(key);
  }

  async getMany(keys: readonly string[]): Promise<Array<Buffer | null>> {
    return keys.map((key) => this.#read(key));
  }

  async set(key: string, value: Buffer, ttlMs: number | null): Promise<void> {
    this.#write(key, value, ttlMs);
  }

  async setMany(entries: ReadonlyArray<{ key: string; value: Buffer }>, ttlMs: number | null): Promise<void> {
    for (const entry of entries) this.#write(entry.key, entry.value, ttlMs);
  }

  async delete(key: string): Promise<void> {
    const entry = this.#entries.get(key);
    if (entry !== undefined) this.#remove(key, entry);
  }

  async close(): Promise<void> {
    this.#entries.clear();
    this.#bytes = 0;
  }

  #read(key: string): Buffer | null {
    const entry = this.#entries.get(key);
    if (entry === undefined) return null;
    if (entry.expiresAt !== null && entry.expiresAt <= this.#clock()) {
      this.#remove(key, entry);
      return null;
    }
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return entry.value;
  }

  #write(key: string, value: Buffer, ttlMs: number | null): void {
    const bytes = key.length * 2 + value.length + entryOverheadBytes;
    // One value larger than the whole cache would only evict everything else.
    if (bytes > this.#maxBytes) return;
    const previous = this.#entries.get(key);
    if (previous !== undefined) this.#remove(key, previous);
    this.#entries.set(key, { value, expiresAt: ttlMs === null ? null : this.#clock() + ttlMs, bytes });
    this.#bytes += bytes;
    for (const [oldestKey, oldest] of this.#entries) {
      if (this.#bytes <= this.#maxBytes) break;
      this.#remove(oldestKey, oldest);
    }
  }

  #remove(key: string, entry: Entry): void {
    this.#entries.delete(key);
    this.#bytes -= entry.bytes;
  }
}
