/** The last `size` latencies of something (a deployment), for a recent percentile. */
export class LatencyWindow {
  readonly #samples: Float64Array;
  #count = 0;
  #next = 0;

  constructor(size = 64) {
    this.#samples = new Float64Array(size);
  }

  get count(): number {
    return this.#count;
  }

  record(milliseconds: number): void {
    this.#samples[this.#next] = milliseconds;
    this.#next = (this.#next + 1) % this.#samples.length;
    if (this.#count < this.#samples.length) this.#count++;
  }

  /** The q-quantile (0..1) of the samples, nearest rank; null with none. */
  quantile(q: number): number | null {
    if (this.#count === 0) return null;
    const sorted = Array.from(this.#samples.subarray(0, this.#count)).sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number;
  }
}
