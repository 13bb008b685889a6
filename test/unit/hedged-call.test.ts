import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { hedgedRequestsCounter } from '../../src/data/embeddings/embedding-metrics.ts';
import { HedgedCaller, type Schedule } from '../../src/data/embeddings/hedged-call.ts';
import type { InferenceProxy, InternalAnswer, InternalCall } from '../../src/data/proxy/inference-proxy.ts';
import { DeploymentState, type Deployment } from '../../src/data/routing/deployment.ts';
import type { ModelServer, ServerModel } from '../../src/domain/model-server.ts';

function deployment(name: string): Deployment {
  const server = { id: name, name, isActive: true, healthStatus: 'online', statusReason: null, metadata: {} } as unknown as ModelServer;
  const model = { serverId: name, modelId: 'general', details: {}, capabilities: ['embedding'], embeddingDimension: 384 } as unknown as ServerModel;
  return { key: `${name}/general`, server, model, state: new DeploymentState(5, 1_000), reportedQueue: 0, capacity: null };
}

interface Pending {
  call: InternalCall;
  deployment: Deployment;
  answer: () => void;
}

/** A proxy whose calls the test answers by hand: each goes to the first deployment not excluded. */
function scriptedProxy(deployments: Deployment[], budget: { retries: number }) {
  const pending: Pending[] = [];
  const proxy = {
    takeRetry: () => budget.retries-- > 0,
    callJson: (call: InternalCall) =>
      new Promise<InternalAnswer>((resolve, reject) => {
        const chosen = deployments.find((candidate) => !call.exclude?.has(candidate.key)) as Deployment;
        call.signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
        pending.push({ call, deployment: chosen, answer: () => resolve({ status: 200, body: { from: chosen.server.name }, deployment: chosen, outcome: {} as InternalAnswer['outcome'] }) });
        call.onAttempt?.(chosen);
      }),
  };
  return { proxy: proxy as unknown as InferenceProxy, pending };
}

/** Hedge timers the test fires by hand (no waiting on the clock). */
function manualTimers() {
  const timers: Array<{ run: () => void; delayMs: number; cancelled: boolean }> = [];
  const schedule: Schedule = (run, delayMs) => {
    const timer = { run, delayMs, cancelled: false };
    timers.push(timer);
    return () => (timer.cancelled = true);
  };
  return { timers, schedule };
}

const call: InternalCall = { operation: 'embeddings', body: { input: ['a'] }, modelName: 'general', requestId: 'r1' };

async function hedgeMetric(registry: Registry, outcome: string): Promise<number> {
  const metric = await registry.getSingleMetric('llm_hedged_requests_total')?.get();
  return metric?.values.find((value) => value.labels['outcome'] === outcome)?.value ?? 0;
}

describe('HedgedCaller', () => {
  it('asks a second deployment once the first is past its p95, answers the first answer and aborts the other', async () => {
    const [first, second] = [deployment('first'), deployment('second')];
    const { proxy, pending } = scriptedProxy([first, second], { retries: 5 });
    const registry = new Registry();
    const { timers, schedule } = manualTimers();
    const hedger = new HedgedCaller(proxy, { enabled: true, floor_ms: 50, min_samples: 1 }, hedgedRequestsCounter(registry), () => [first, second], schedule);
    // Before any answer there is no p95 to be late against: no timer.
    const warm = hedger.call(call);
    expect(timers).toHaveLength(0);
    pending[0]?.answer();
    expect((await warm).hedged).toBe(false);

    const hedged = hedger.call(call);
    // The first answered within a few ms: the floor decides.
    expect(timers[0]?.delayMs).toBe(50);
    timers[0]?.run();
    expect(pending).toHaveLength(3);
    expect(pending[2]?.deployment).toBe(second);
    expect(pending[2]?.call.exclude?.has(first.key)).toBe(true);
    pending[2]?.answer();
    const answer = await hedged;
    expect(answer).toMatchObject({ hedged: true, body: { from: 'second' } });
    expect(pending[1]?.call.signal?.aborted).toBe(true);
    expect(await hedgeMetric(registry, 'won')).toBe(1);
  });

  it('sends no hedge when the retry budget is spent, nor when no other deployment exists', async () => {
    const [first, second] = [deployment('first'), deployment('second')];
    const budget = { retries: 0 };
    const { proxy, pending } = scriptedProxy([first, second], budget);
    const registry = new Registry();
    let candidates = [first, second];
    const { timers, schedule } = manualTimers();
    const hedger = new HedgedCaller(proxy, { enabled: true, floor_ms: 1, min_samples: 1 }, hedgedRequestsCounter(registry), () => candidates, schedule);
    const warm = hedger.call(call);
    pending[0]?.answer();
    await warm;

    const refused = hedger.call(call);
    timers[0]?.run();
    expect(await hedgeMetric(registry, 'no_budget')).toBe(1);
    expect(pending).toHaveLength(2);
    pending[1]?.answer();
    expect((await refused).hedged).toBe(false);

    budget.retries = 5;
    candidates = [first];
    const alone = hedger.call(call);
    timers[1]?.run();
    expect(pending).toHaveLength(3);
    expect(budget.retries).toBe(5);
    pending[2]?.answer();
    expect((await alone).hedged).toBe(false);
    // The winner's answer cancels a timer that has not fired.
    const quick = hedger.call(call);
    pending[3]?.answer();
    await quick;
    expect(timers[2]?.cancelled).toBe(true);
  });
});
