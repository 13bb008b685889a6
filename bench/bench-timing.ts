// One-at-a-time request timing shared by the benchmarks: to the whole body, or to a stream's first bytes.
import { performance } from 'node:perf_hooks';
import { request } from 'undici';

export interface TimedAnswer {
  ms: number;
  status: number;
  headers: Record<string, string | string[] | undefined>;
}

/** One POST, timed to its whole body (or, for a stream, its first bytes; the rest is drained untimed). */
export async function timedPost(url: string, body: string, headers: Record<string, string>, stream: boolean): Promise<TimedAnswer> {
  const started = performance.now();
  const response = await request(url, { method: 'POST', body, headers });
  let ms: number;
  if (stream) {
    for await (const _first of response.body) break;
    ms = performance.now() - started;
    await response.body.dump();
  } else {
    await response.body.arrayBuffer();
    ms = performance.now() - started;
  }
  return { ms, status: response.statusCode, headers: response.headers };
}

/** p50, p95 and p99 of the samples, in their unit (sorts them in place; NaN when there are none). */
export function percentiles(samples: number[]): { p50: number; p95: number; p99: number } {
  samples.sort((a, b) => a - b);
  const at = (quantile: number) => (samples.length === 0 ? Number.NaN : (samples[Math.min(samples.length - 1, Math.floor(quantile * samples.length))] as number));
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99) };
}
