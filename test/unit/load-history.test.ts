import { describe, expect, it } from 'vitest';
import { LoadHistory } from '../../src/control/health/load-history.ts';
import type { LoadMetrics } from '../../src/data/adapters/server-adapter.ts';

function probe(fields: Partial<LoadMetrics> & { promptTokens?: number } = {}): LoadMetrics {
  const { promptTokens, ...rest } = fields;
  return {
    runningRequests: null,
    waitingRequests: null,
    kvCacheUsage: null,
    loadedModels: [],
    memoryBytes: null,
    details: promptTokens === undefined ? {} : { prompt_tokens_total: promptTokens },
    ...rest,
  };
}

const full = (running: number, waiting = 3) => probe({ runningRequests: running, waitingRequests: waiting, waitingAtCapacity: waiting });

describe('capacity learned from a server that queues only when full', () => {
  it('is unknown until two probes see the same running count while requests wait, then is that count', () => {
    const history = new LoadHistory();
    expect(history.record('gpu', probe({ runningRequests: 6, waitingAtCapacity: 0 })).learnedCapacity).toBeNull();
    expect(history.record('gpu', full(8)).learnedCapacity).toBeNull();
    expect(history.record('gpu', full(8)).learnedCapacity).toBe(8);
    // Remembered across probes that see nothing waiting, or an idle server.
    expect(history.record('gpu', probe({ runningRequests: 0, waitingAtCapacity: 0 })).learnedCapacity).toBe(8);
  });

  it('is not learned from one probe that caught the scheduler held back by something else', () => {
    const history = new LoadHistory();
    // A burst of long prompts: the token budget, not the sequence limit, kept these waiting.
    expect(history.record('gpu', full(2, 19)).learnedCapacity).toBeNull();
    expect(history.record('gpu', full(5, 12)).learnedCapacity).toBeNull();
    expect(history.record('gpu', full(8)).learnedCapacity).toBeNull();
    expect(history.record('gpu', full(8)).learnedCapacity).toBe(8);
  });

  it('only grows: a higher count confirmed later raises it, a lower one never lowers it, more seen running raises it at once', () => {
    const history = new LoadHistory();
    history.record('gpu', full(4));
    expect(history.record('gpu', full(4)).learnedCapacity).toBe(4);
    history.record('gpu', full(3));
    expect(history.record('gpu', full(3)).learnedCapacity).toBe(4);
    history.record('gpu', full(6));
    expect(history.record('gpu', full(6)).learnedCapacity).toBe(6);
    expect(history.record('gpu', probe({ runningRequests: 9, waitingAtCapacity: 0 })).learnedCapacity).toBe(9);
  });

  it('is never learned from a server whose kind does not say its queue means it is full', () => {
    const history = new LoadHistory();
    // TEI's queue is its batcher's, not a sign of a concurrency limit: its kind leaves waitingAtCapacity unset.
    for (let probeCount = 0; probeCount < 3; probeCount++) expect(history.record('tei', probe({ runningRequests: 4, waitingRequests: 9 })).learnedCapacity).toBeNull();
  });

  it('is forgotten when the server restarts (a new start time, or counters gone back) and when it is forgotten by name', () => {
    const history = new LoadHistory();
    history.record('gpu', { ...full(8), startedAtSeconds: 100 });
    expect(history.record('gpu', { ...full(8), startedAtSeconds: 100 }).learnedCapacity).toBe(8);
    expect(history.record('gpu', probe({ startedAtSeconds: 200 })).learnedCapacity).toBeNull();

    history.record('other', { ...full(4), details: { prompt_tokens_total: 5000 } });
    expect(history.record('other', { ...full(4), details: { prompt_tokens_total: 6000 } }).learnedCapacity).toBe(4);
    expect(history.record('other', probe({ promptTokens: 10 })).learnedCapacity).toBeNull();

    history.record('gpu', full(2));
    history.forget('gpu');
    expect(history.record('gpu', full(2)).learnedCapacity).toBeNull();
    history.forget('gpu');
    history.forget('other');
    expect(history.size).toBe(0);
  });
});

describe('prefix-cache hit ratio', () => {
  const counters = (hits: number, queries: number) => probe({ prefixCache: { hits, queries } });

  it('is the totals on the first probe, then hits over lookups in each interval; an interval without lookups keeps the last', () => {
    const history = new LoadHistory();
    expect(history.record('gpu', counters(30, 100)).prefixCacheHitRatio).toBe(0.3);
    expect(history.record('gpu', counters(120, 200)).prefixCacheHitRatio).toBe(0.9);
    expect(history.record('gpu', counters(120, 200)).prefixCacheHitRatio).toBe(0.9);
    expect(history.record('gpu', counters(120, 300)).prefixCacheHitRatio).toBe(0);
  });

  it('is null until anything was looked up, and for a server that reports no prefix cache', () => {
    const history = new LoadHistory();
    expect(history.record('gpu', counters(0, 0)).prefixCacheHitRatio).toBeNull();
    expect(history.record('plain', probe()).prefixCacheHitRatio).toBeNull();
  });

  it('starts from the new totals after a restart, when the counters went back', () => {
    const history = new LoadHistory();
    history.record('gpu', counters(500, 1000));
    expect(history.record('gpu', counters(10, 40)).prefixCacheHitRatio).toBe(0.25);
  });
});
