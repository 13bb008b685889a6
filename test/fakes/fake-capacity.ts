import { createHash } from 'node:crypto';

/**
 * How a fake models a real engine's limits (vLLM's running sequences,
 * llama.cpp's slots, Ollama's parallel requests): a fixed number of requests
 * generate at once, the rest wait inside the server in arrival order (so
 * latency grows, as it does on a saturated GPU), and prompt processing takes
 * time per block of prompt the prefix cache has not seen.
 */
export interface FakeCapacity {
  /** Requests generating at once; more wait inside the fake. */
  slots: number;
  /** Prompt processing: milliseconds per block not found in the prefix cache (default 0: none). */
  prefillMsPerBlock?: number;
  /** Characters per cache block (vLLM's 16-token block is about 64 characters; default 64). */
  blockChars?: number;
  /** Blocks the prefix cache keeps, least recently used dropped first (default 0: no cache). */
  prefixCacheBlocks?: number;
}

/** What a capacity-modelling fake has seen: what a test asserts on. */
export interface CapacityReadings {
  running: number;
  waiting: number;
  /** The most requests that ever generated at once: never above `slots`. */
  maxRunning: number;
  /** The most that ever waited inside the fake (0 when a gateway in front kept it from being overloaded). */
  maxWaiting: number;
  /** Prompt blocks found in the prefix cache, and looked up, in all (vLLM's prefix_cache_hits/queries). */
  prefixHits: number;
  prefixQueries: number;
}

/** The request paths that generate (and so take a slot); listings, health and metrics never wait. */
const generationPaths = new Set(['/v1/chat/completions', '/v1/completions', '/v1/messages', '/v1/responses', '/api/chat', '/api/generate', '/completion']);

export function takesSlot(method: string, path: string): boolean {
  return method === 'POST' && generationPaths.has(path);
}

/** The prompt text of a generation request, in any of the APIs the fakes speak. */
export function promptOf(body: unknown): string {
  if (body === null || typeof body !== 'object') return '';
  const fields = body as Record<string, unknown>;
  if (typeof fields['prompt'] === 'string') return fields['prompt'];
  const turns = Array.isArray(fields['messages']) ? fields['messages'] : Array.isArray(fields['input']) ? fields['input'] : [];
  return turns.map((turn) => JSON.stringify((turn as Record<string, unknown>)?.['content'] ?? turn)).join('\n');
}

export class CapacityModel {
  readonly #capacity: Required<FakeCapacity>;
  readonly #queue: Array<() => void> = [];
  // Chained block hashes, in least-recently-used order (a Map keeps insertion order).
  readonly #cache = new Map<string, true>();
  #running = 0;
  #maxRunning = 0;
  #maxWaiting = 0;
  #prefixHits = 0;
  #prefixQueries = 0;

  constructor(capacity: FakeCapacity) {
    if (!Number.isInteger(capacity.slots) || capacity.slots < 1) throw new Error('A fake needs at least one slot.');
    this.#capacity = { prefillMsPerBlock: 0, blockChars: 64, prefixCacheBlocks: 0, ...capacity };
  }

  readings(): CapacityReadings {
    return { running: this.#running, waiting: this.#queue.length, maxRunning: this.#maxRunning, maxWaiting: this.#maxWaiting, prefixHits: this.#prefixHits, prefixQueries: this.#prefixQueries };
  }

  /** Starts the peaks (maxRunning, maxWaiting) afresh from now, keeping the queue and the cache: a test's second phase asserts on its own. */
  resetPeaks(): void {
    this.#maxRunning = this.#running;
    this.#maxWaiting = this.#queue.length;
  }

  /**
   * Waits for a slot (in arrival order) and takes it; resolves with the
   * release. A request whose client leaves while it waits leaves the queue.
   */
  async admit(signal: AbortSignal): Promise<() => void> {
    if (this.#running >= this.#capacity.slots) {
      await new Promise<void>((resolve, reject) => {
        const turn = () => {
          signal.removeEventListener('abort', leave);
          resolve();
        };
        const leave = () => {
          const at = this.#queue.indexOf(turn);
          if (at !== -1) this.#queue.splice(at, 1);
          reject(signal.reason);
        };
        this.#queue.push(turn);
        this.#maxWaiting = Math.max(this.#maxWaiting, this.#queue.length);
        signal.addEventListener('abort', leave, { once: true });
      });
    }
    this.#running++;
    this.#maxRunning = Math.max(this.#maxRunning, this.#running);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#running--;
      // The slot goes straight to the next in line.
      this.#queue.shift()?.();
    };
  }

  /** How long this prompt's processing takes, remembering its blocks: a prefix served recently costs nothing again. */
  prefillMs(prompt: string): number {
    const { blockChars, prefillMsPerBlock, prefixCacheBlocks } = this.#capacity;
    const blocks = Math.max(1, Math.ceil(prompt.length / blockChars));
    let chain = '';
    let matched = 0;
    let stillMatching = true;
    for (let index = 0; index < blocks; index++) {
      chain = createHash('sha256').update(chain).update(prompt.slice(index * blockChars, (index + 1) * blockChars)).digest('hex');
      if (prefixCacheBlocks === 0) continue;
      const known = this.#cache.delete(chain);
      if (known && stillMatching) matched++;
      else stillMatching = false;
      this.#cache.set(chain, true);
    }
    while (this.#cache.size > prefixCacheBlocks) this.#cache.delete(this.#cache.keys().next().value as string);
    this.#prefixQueries += blocks;
    this.#prefixHits += matched;
    return (blocks - matched) * prefillMsPerBlock;
  }
}
