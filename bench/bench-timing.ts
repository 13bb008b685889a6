// One-at-a-time request timing shared by the benchmarks: to the whole body, or to a stream's first bytes.
import { performance } from 'node:perf_hooks';
import { request } from 'undici';

export interface TimedAnswer {
  ms: number;
  status: number;
  headers: Record<string, string | string[] | undefined>;
}

/**
 * One POST, timed to its whole body (or, for a stream, its first bytes; the rest is read untimed).
 * A stream is read to its end, as a real client does: leaving it after the first bytes would close
 * the connection, and the gateway's to the model server with it, so every next stream would pay
 * for two new connections (issue 15: that was in the streaming time to first byte until 2026-12-04).
 */
export async function timedPost(url: string, body: string, headers: Record<string, string>, stream: boolean): Promise<TimedAnswer> {
  const started = performance.now();
  const response = await request(url, { method: 'POST', body, headers });
  let ms: number;
  if (stream) {
    const chunks = response.body[Symbol.asyncIterator]();
    await chunks.next();
    ms = performance.now() - started;
    while (!(await chunks.next()).done);
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
