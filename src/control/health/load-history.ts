import type { LoadMetrics } from '../../data/adapters/server-adapter.ts';

/** Probes that must see the same running count while requests wait for capacity before it is taken as the capacity. */
export const sightingsToLearn = 2;
// Running counts awaiting confirmation, per server: only the highest few can still raise what was learned.
const maxCandidates = 4;

/** What the probes of one server since it (re)started tell together; a few numbers, whatever the traffic. */
interface ServerHistory {
  learnedCapacity: number | null;
  /** Running counts seen while requests waited for capacity, with how many probes saw each. */
  candidates: Map<number, number>;
  startedAtSeconds: number | null;
  prefix: { hits: number; queries: number } | null;
  promptTokens: number | null;
  prefixCacheHitRatio: number | null;
}

/**
 * What consecutive probes of each server tell that one probe cannot (a
 * probe's LoadMetrics describe that moment only): the capacity learned from
 * a server that queues only when full, and the prefix-cache hit ratio over
 * the latest interval. Owned by the health checker; an entry goes when its
 * server is removed or its connection changes, and is started afresh when
 * the server restarts (its start time changed, or a counter went back).
 *
 * Learning (vLLM does not report max_num_seqs): while a server reports
 * requests waiting for capacity, the requests it runs are as many as it can
 * run. A running count seen so by two probes becomes the capacity: one
 * probe can catch a moment where the scheduler was held back by something
 * else (its token budget on a burst of long prompts), and an underestimate
 * would hold the server below what it can do for as long as it runs. The
 * capacity only grows: a higher count confirmed later, or more requests seen
 * running than the capacity says, raise it.
 */
export class LoadHistory {
  readonly #servers = new Map<string, ServerHistory>();

  /** This probe's load, with what it adds to the ones before: `learnedCapacity` and `prefixCacheHitRatio`. */
  record(serverId: string, load: LoadMetrics): LoadMetrics {
    let history = this.#servers.get(serverId);
    if (history === undefined || restarted(history, load)) {
      history = { learnedCapacity: null, candidates: new Map(), startedAtSeconds: null, prefix: null, promptTokens: null, prefixCacheHitRatio: null };
      this.#servers.set(serverId, history);
    }
    history.startedAtSeconds = load.startedAtSeconds ?? history.startedAtSeconds;
    history.promptTokens = load.details['prompt_tokens_total'] ?? history.promptTokens;
    learnCapacity(history, load);
    readPrefixCache(history, load.prefixCache ?? null);
    return { ...load, learnedCapacity: history.learnedCapacity, prefixCacheHitRatio: history.prefixCacheHitRatio };
  }

  forget(serverId: string): void {
    this.#servers.delete(serverId);
  }

  /** Servers remembered (one entry each, whatever their traffic). */
  get size(): number {
    return this.#servers.size;
  }
}

/** A new process behind the same URL: what the old one taught no longer holds (it may run with other settings). */
function restarted(history: ServerHistory, load: LoadMetrics): boolean {
  const startedAt = load.startedAtSeconds ?? null;
  if (startedAt !== null && history.startedAtSeconds !== null && startedAt !== history.startedAtSeconds) return true;
  // Without a start time, cumulative counters going back tell the same.
  const prefix = load.prefixCache ?? null;
  if (prefix !== null && history.prefix !== null && (prefix.queries < history.prefix.queries || prefix.hits < history.prefix.hits)) return true;
  const promptTokens = load.details['prompt_tokens_total'];
  return promptTokens !== undefined && history.promptTokens !== null && promptTokens < history.promptTokens;
}

function learnCapacity(history: ServerHistory, load: LoadMetrics): void {
  const running = load.runningRequests;
  if (running === null || !Number.isInteger(running) || running <= 0) return;
  // It ran that many at once, so it can.
  if (history.learnedCapacity !== null && running > history.learnedCapacity) history.learnedCapacity = running;
  const waiting = load.waitingAtCapacity ?? 0;
  if (!(waiting > 0)) return;
  if (history.learnedCapacity !== null && running <= history.learnedCapacity) return;
  const seen = (history.candidates.get(running) ?? 0) + 1;
  history.candidates.set(running, seen);
  if (seen >= sightingsToLearn) history.learnedCapacity = running;
  for (const candidate of history.candidates.keys()) if (history.learnedCapacity !== null && candidate <= history.learnedCapacity) history.candidates.delete(candidate);
  while (history.candidates.size > maxCandidates) history.candidates.delete(Math.min(...history.candidates.keys()));
}

/**
 * Hits over lookups in the latest interval (the counters' increase since the
 * last probe); the first probe, or the first after a restart, reads the
 * totals so far. An interval without lookups keeps the last ratio: an idle
 * server's cache has not got worse.
 */
function readPrefixCache(history: ServerHistory, counters: { hits: number; queries: number } | null): void {
  if (counters === null) return;
  const before = history.prefix ?? { hits: 0, queries: 0 };
  const queries = counters.queries - before.queries;
  const hits = counters.hits - before.hits;
  if (queries > 0) history.prefixCacheHitRatio = Math.min(1, Math.max(0, hits / queries));
  history.prefix = counters;
}
