// Two ways to drive one POST endpoint for a bounded time, with every answer
// classified: closed loop (a fixed number of callers, each sending again when
// answered: what a server sustains at that concurrency) and open loop
// (requests sent at a fixed rate whatever happens to the earlier ones: offered
// load, the only honest way to overload a server that answers fast when it sheds).
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';

export interface LoadResult {
  /** Requests sent (open loop: how many the schedule called for and the client could send). */
  sent: number;
  /** Open loop only: due by the schedule but not sent, because `maxOutstanding` were already waiting. */
  skipped: number;
  /** Latency of each 2xx answer, ms. */
  okMs: number[];
  /** 429 answers, and how many of them said SY_MODEL_SATURATED with a Retry-After. */
  shed: number;
  shedSaturatedWithRetryAfter: number;
  /** Latency of each 429, ms (how fast a shed request is turned away). */
  shedMs: number[];
  /** Any other status, by status. */
  otherStatuses: Map<number, number>;
  /** Transport errors (connection refused, reset, timed out). */
  errors: number;
  /** The same, by undici's error code. */
  errorCodes: Map<string, number>;
  /** Wall time from the first request sent to the last answer, ms. */
  elapsedMs: number;
}

interface Target {
  url: string;
  body: string;
  headers: Record<string, string>;
}

function emptyResult(): LoadResult {
  return { sent: 0, skipped: 0, okMs: [], shed: 0, shedSaturatedWithRetryAfter: 0, shedMs: [], otherStatuses: new Map(), errors: 0, errorCodes: new Map(), elapsedMs: 0 };
}

async function sendOne(pool: Pool, path: string, target: Target, result: LoadResult): Promise<void> {
  const started = performance.now();
  try {
    const response = await pool.request({ path, method: 'POST', body: target.body, headers: target.headers });
    const status = response.statusCode;
    if (status === 429) {
      const text = await response.body.text();
      result.shedMs.push(performance.now() - started);
      result.shed++;
      if (text.includes('SY_MODEL_SATURATED') && response.headers['retry-after'] !== undefined) result.shedSaturatedWithRetryAfter++;
      return;
    }
    await response.body.dump();
    if (status >= 200 && status < 300) result.okMs.push(performance.now() - started);
    else result.otherStatuses.set(status, (result.otherStatuses.get(status) ?? 0) + 1);
  } catch (error) {
    result.errors++;
    const code = (error as { code?: unknown }).code;
    const name = typeof code === 'string' ? code : String(error);
    result.errorCodes.set(name, (result.errorCodes.get(name) ?? 0) + 1);
  }
}

/** `concurrency` callers, each sending its next request when the last is answered, for `seconds`. */
export async function closedLoop(target: Target, concurrency: number, seconds: number): Promise<LoadResult> {
  const url = new URL(target.url);
  const pool = new Pool(url.origin, { connections: concurrency, pipelining: 1 });
  const result = emptyResult();
  const started = performance.now();
  const endAt = started + seconds * 1_000;
  const caller = async () => {
    while (performance.now() < endAt) {
      result.sent++;
      await sendOne(pool, url.pathname, target, result);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, caller));
  result.elapsedMs = performance.now() - started;
  await pool.close();
  return result;
}

/**
 * `rate` requests a second for `seconds`, sent on schedule whether or not the
 * earlier ones were answered; at most `maxOutstanding` wait at once (one
 * connection each, so none waits in the client), the rest are counted as skipped.
 * `onTick` runs about every 250 ms while it drives (say, to sample memory).
 */
export async function openLoop(target: Target, rate: number, seconds: number, maxOutstanding: number, onTick: () => void = () => undefined): Promise<LoadResult> {
  const url = new URL(target.url);
  const pool = new Pool(url.origin, { connections: maxOutstanding, pipelining: 1 });
  const result = emptyResult();
  const pending = new Set<Promise<void>>();
  const started = performance.now();
  let due = 0;
  let lastTick = started;
  for (;;) {
    const now = performance.now();
    if (now - started >= seconds * 1_000) break;
    const owed = Math.floor(((now - started) / 1_000) * rate) - due;
    for (let index = 0; index < owed; index++) {
      due++;
      if (pending.size >= maxOutstanding) {
        result.skipped++;
        continue;
      }
      result.sent++;
      const sending = sendOne(pool, url.pathname, target, result).finally(() => pending.delete(sending));
      pending.add(sending);
    }
    if (now - lastTick >= 250) {
      lastTick = now;
      onTick();
    }
    // Timers fire about every millisecond at best: requests due meanwhile go out together on the next turn.
    await sleep(1);
  }
  await Promise.all(pending);
  result.elapsedMs = performance.now() - started;
  await pool.close();
  return result;
}
