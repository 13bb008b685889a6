/**
 * Upper bounds (ms) of the buckets usage rollups count latencies, times to
 * first token and queue waits in; the last bucket holds everything above.
 * Roughly logarithmic (each about 1.5 times the last): a quantile read from
 * them is within one bucket's width of the exact one. Few buckets keep the
 * rollup rows small (decision 0029).
 */
export const bucketBoundsMs = [5, 10, 20, 35, 50, 75, 100, 150, 250, 400, 600, 1_000, 1_500, 2_500, 4_000, 6_000, 10_000, 20_000, 45_000, 90_000] as const;

/** Bucket count, the overflow bucket included. */
export const bucketCount = bucketBoundsMs.length + 1;

export function bucketOf(ms: number): number {
  // 20 bounds: a linear scan is as fast as a search here, and obvious.
  for (let index = 0; index < bucketBoundsMs.length; index++) if (ms <= (bucketBoundsMs[index] as number)) return index;
  return bucketBoundsMs.length;
}

/**
 * The quantile of what `counts` counted, by nearest rank as the raw-row
 * figures are, interpolated linearly inside the bucket the rank falls in
 * (the overflow bucket answers its lower bound). Null when nothing was counted.
 */
export function quantileOf(counts: readonly number[], quantile: number): number | null {
  let total = 0;
  for (const count of counts) total += count;
  if (total === 0) return null;
  const rank = Math.min(total, Math.max(1, Math.ceil(quantile * total)));
  let seen = 0;
  for (let index = 0; index < counts.length; index++) {
    const count = counts[index] as number;
    if (count === 0 || seen + count < rank) {
      seen += count;
      continue;
    }
    const lower = index === 0 ? 0 : (bucketBoundsMs[index - 1] as number);
    if (index >= bucketBoundsMs.length) return lower;
    const upper = bucketBoundsMs[index] as number;
    return Math.round((lower + ((upper - lower) * (rank - seen)) / count) * 1000) / 1000;
  }
  return null;
}
