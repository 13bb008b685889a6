import { afterEach, describe, expect, it, vi } from 'vitest';
import { FairQueue, parseQueueWeights, ShedError, type PriorityClass } from '../../src/data/admission/fair-queue.ts';

const weights = { interactive: 8, standard: 4, batch: 1 };
const never = new AbortController().signal;

afterEach(() => {
  vi.useRealTimers();
});

/** Enqueues and records, in order, which requests were admitted. */
function recorder(queue: FairQueue) {
  const admitted: string[] = [];
  const add = (keyId: string, priority: PriorityClass, label: string, signal = never) => queue.wait({ keyId, priority, signal }).then(() => void admitted.push(label), (error: unknown) => error);
  return { admitted, add };
}

/** Runs `count` dispatches, letting each admission's promise settle. */
async function dispatch(queue: FairQueue, count: number): Promise<void> {
  for (let turn = 0; turn < count; turn++) {
    queue.dispatch();
    await Promise.resolve();
  }
  await new Promise((resolve) => setImmediate(resolve));
}

describe('the fair queue', () => {
  it('keeps one key\'s requests in arrival order', async () => {
    const queue = new FairQueue({ maxLength: 10, maxWaitMs: 60_000, weights });
    const { admitted, add } = recorder(queue);
    for (const label of ['a', 'b', 'c']) void add('key-1', 'standard', label);
    await dispatch(queue, 3);
    expect(admitted).toEqual(['a', 'b', 'c']);
    expect(queue.length).toBe(0);
  });

  it('serves an interactive key within a bounded number of turns while a batch key floods', async () => {
    const queue = new FairQueue({ maxLength: 2_000, maxWaitMs: 60_000, weights });
    const { admitted, add } = recorder(queue);
    for (let index = 0; index < 1_000; index++) void add('batch-job', 'batch', `batch-${index}`);
    await dispatch(queue, 50);
    // Arriving behind 950 batch requests, its five are served within the next six turns.
    for (let index = 0; index < 5; index++) void add('person', 'interactive', `person-${index}`);
    await dispatch(queue, 6);
    expect(admitted.slice(50).filter((label) => label.startsWith('person'))).toHaveLength(5);
  });

  it('shares turns by weight while both classes keep requests waiting', async () => {
    const queue = new FairQueue({ maxLength: 2_000, maxWaitMs: 60_000, weights });
    const { admitted, add } = recorder(queue);
    for (let index = 0; index < 500; index++) {
      void add('batch-job', 'batch', 'batch');
      void add('person', 'interactive', 'person');
    }
    await dispatch(queue, 180);
    const people = admitted.filter((label) => label === 'person').length;
    const batches = admitted.filter((label) => label === 'batch').length;
    expect(people / batches).toBeGreaterThanOrEqual(7);
    expect(people / batches).toBeLessThanOrEqual(9);
  });

  it('sheds at once when full, and after the longest wait, saying how long it waited', async () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const queue = new FairQueue({ maxLength: 2, maxWaitMs: 30_000, weights }, () => Date.now());
    const first = queue.wait({ keyId: 'k', priority: 'standard', signal: never }).catch((error: unknown) => error);
    const second = queue.wait({ keyId: 'k', priority: 'standard', signal: never }).catch((error: unknown) => error);
    const full = await queue.wait({ keyId: 'k', priority: 'standard', signal: never }).catch((error: unknown) => error);
    expect(full).toBeInstanceOf(ShedError);
    expect(full).toMatchObject({ reason: 'queue_full', waitedMs: 0 });
    vi.advanceTimersByTime(10_000);
    queue.dispatch();
    expect(await first).toBe(10_000);
    vi.advanceTimersByTime(20_000);
    expect(await second).toMatchObject({ reason: 'queue_timeout', waitedMs: 30_000 });
    expect(queue.length).toBe(0);
  });

  it('waits no longer than the request\'s own deadline when that comes first', async () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const queue = new FairQueue({ maxLength: 10, maxWaitMs: 30_000, weights }, () => Date.now());
    const hurried = queue.wait({ keyId: 'k', priority: 'standard', signal: never, deadlineAt: 1_000_000 + 2_000 }).catch((error: unknown) => error);
    const patient = queue.wait({ keyId: 'k', priority: 'standard', signal: never, deadlineAt: 1_000_000 + 120_000 }).catch((error: unknown) => error);
    vi.advanceTimersByTime(2_000);
    expect(await hurried).toMatchObject({ reason: 'queue_timeout', waitedMs: 2_000 });
    expect(queue.length).toBe(1);
    vi.advanceTimersByTime(28_000);
    expect(await patient).toMatchObject({ reason: 'queue_timeout', waitedMs: 30_000 });
  });

  it('lets a caller who leaves out at once, and gives the next turn to the one behind', async () => {
    const queue = new FairQueue({ maxLength: 10, maxWaitMs: 60_000, weights });
    const { admitted, add } = recorder(queue);
    const leaving = new AbortController();
    const left = add('k', 'standard', 'leaves', leaving.signal);
    void add('k', 'standard', 'stays');
    leaving.abort();
    expect(await left).toMatchObject({ reason: 'client_gone' });
    expect(queue.length).toBe(1);
    await dispatch(queue, 1);
    expect(admitted).toEqual(['stays']);
  });

  it('reads SWITCHYARD_QUEUE_WEIGHTS, refusing what it cannot use', () => {
    expect(parseQueueWeights('interactive=10, batch=2')).toEqual({ interactive: 10, standard: 4, batch: 2 });
    expect(() => parseQueueWeights('urgent=3')).toThrow(/urgent=3/);
    expect(() => parseQueueWeights('batch=0')).toThrow(/positive weight/);
  });
});
