import { describe, expect, it } from 'vitest';
import type { ModelServer, ServerModel } from '../../src/domain/model-server.ts';
import { CircuitBreaker } from '../../src/data/routing/circuit-breaker.ts';
import { DeploymentState, type Deployment } from '../../src/data/routing/deployment.ts';
import { pickDeployment } from '../../src/data/routing/deployment-picker.ts';
import { pickFromGroups } from '../../src/data/proxy/answer-bytes.ts';
import type { CandidateGroup } from '../../src/data/routing/resolve-candidates.ts';
import { SseBoundary } from '../../src/data/proxy/sse-boundary.ts';
import { backoffDelay, RetryBudget } from '../../src/data/proxy/retry-budget.ts';
import { closeNames } from '../../src/data/routing/name-suggester.ts';

function deployment(name: string, overrides: { server?: Partial<ModelServer>; model?: Partial<ServerModel>; queue?: number } = {}): Deployment {
  return {
    key: name,
    server: { name, isActive: true, healthStatus: 'online', statusReason: null, ...overrides.server } as ModelServer,
    model: { modelId: 'm', status: 'loaded', details: {}, ...overrides.model } as ServerModel,
    state: new DeploymentState(3, 1_000),
    reportedQueue: overrides.queue ?? 0,
    capacity: null,
  };
}

const pick = (candidates: Deployment[], exclude: string[] = [], now = 0) =>
  pickDeployment(candidates, { strategy: 'least-inflight', now, exclude: new Set(exclude) })?.key ?? null;

describe('pickDeployment', () => {
  it('prefers the deployment with the fewest requests in flight plus the server\'s own queue', () => {
    const a = deployment('a');
    const b = deployment('b', { queue: 5 });
    const c = deployment('c');
    a.state.inflight = 2;
    expect(pick([a, b, c])).toBe('c');
  });

  it('prefers a server where the model is already loaded over one that would cold-load it', () => {
    expect(pick([deployment('cold', { model: { status: 'available' } }), deployment('warm')])).toBe('warm');
  });

  it('skips offline, inactive, misconfigured and cooling-down servers', () => {
    const cooling = deployment('cooling');
    cooling.state.cooldownUntil = 10_000;
    const candidates = [
      deployment('offline', { server: { healthStatus: 'offline' } }),
      deployment('inactive', { server: { isActive: false } }),
      deployment('misconfigured', { server: { healthStatus: 'degraded', statusReason: 'misconfigured' } }),
      cooling,
    ];
    expect(pick(candidates, [], 5_000)).toBeNull();
    expect(pick([...candidates, deployment('degraded', { server: { healthStatus: 'degraded', statusReason: 'timeout' } })], [], 5_000)).toBe('degraded');
  });

  it('sends a retry to a deployment not yet tried, and back to a tried one only when none is left', () => {
    const a = deployment('a');
    const b = deployment('b');
    expect(pick([a, b], ['a'])).toBe('b');
    expect(pick([a], ['a'])).toBe('a');
  });

  it('skips an open circuit, but never ejects the last deployment of a model', () => {
    const sick = deployment('sick');
    for (let failure = 0; failure < 3; failure++) sick.state.breaker.onFailure(0);
    expect(pick([sick, deployment('well')])).toBe('well');
    expect(pick([sick])).toBe('sick');
  });

  it('goes to a fallback model rather than ask a primary whose every circuit is open, and asks that primary when nothing else is left', () => {
    const sick = deployment('primary-only');
    for (let failure = 0; failure < 3; failure++) sick.state.breaker.onFailure(0);
    const fallback = deployment('fallback');
    const group = (deployments: Deployment[]): CandidateGroup => ({ model: deployments[0]?.key ?? '', deployments, strategy: 'least-inflight', weights: null, defaulted: false });
    const groups = [group([sick]), group([fallback])];
    expect(pickFromGroups(groups, new Set(), 1)).toMatchObject({ deployment: { key: 'fallback' }, group: 1 });
    // The fallback was tried (and failed): the open primary is the one left, and it is asked rather than nothing.
    expect(pickFromGroups(groups, new Set(['fallback']), 1)).toMatchObject({ deployment: { key: 'primary-only' }, group: 0 });
    // Without a fallback, the open primary is asked at once.
    expect(pickFromGroups([group([sick])], new Set(), 1)?.deployment.key).toBe('primary-only');
    // Once its cooldown has passed, the primary gets its half-open probe before the fallback.
    expect(pickFromGroups(groups, new Set(), 2_000)).toMatchObject({ deployment: { key: 'primary-only' }, group: 0 });
  });

  it('spreads equal deployments evenly', () => {
    const candidates = [deployment('a'), deployment('b'), deployment('c')];
    const counts: Record<string, number> = { a: 0, b: 0, c: 0 };
    for (let round = 0; round < 3_000; round++) counts[pick(candidates) as string]! += 1;
    for (const count of Object.values(counts)) expect(count).toBeGreaterThan(850);
  });

  it('follows measured time to first byte under the latency strategy', () => {
    const fast = deployment('fast');
    const slow = deployment('slow');
    fast.state.recordTtfb(20);
    slow.state.recordTtfb(200);
    expect(pickDeployment([slow, fast], { strategy: 'latency', now: 0, exclude: new Set() })?.key).toBe('fast');
  });
});

describe('CircuitBreaker', () => {
  it('opens after the threshold, lets one probe through after the cooldown, and closes on its success', () => {
    const breaker = new CircuitBreaker(2, 1_000);
    breaker.onFailure(0);
    expect(breaker.state).toBe('closed');
    breaker.onFailure(0);
    expect(breaker.state).toBe('open');
    expect(breaker.canPass(500)).toBe(false);
    expect(breaker.canPass(1_000)).toBe(true);
    breaker.onAttempt();
    expect(breaker.canPass(1_001)).toBe(false);
    breaker.onSuccess();
    expect(breaker.state).toBe('closed');
  });

  it('re-opens when the half-open probe fails', () => {
    const breaker = new CircuitBreaker(1, 100);
    breaker.onFailure(0);
    expect(breaker.canPass(100)).toBe(true);
    breaker.onAttempt();
    breaker.onFailure(100);
    expect(breaker.state).toBe('open');
    expect(breaker.canPass(150)).toBe(false);
  });
});

describe('SseBoundary', () => {
  it('passes whole events through untouched and holds back a split one until it completes', () => {
    const boundary = new SseBoundary();
    const whole = Buffer.from('data: {"a":1}\n\n');
    expect(boundary.push(whole)).toBe(whole);
    expect(boundary.push(Buffer.from('data: {"b":')).toString()).toBe('');
    expect(boundary.hasPartialEvent).toBe(true);
    expect(boundary.push(Buffer.from('2}\n\ndata: [DO')).toString()).toBe('data: {"b":2}\n\n');
    expect(boundary.push(Buffer.from('NE]\r\n\r\n')).toString()).toBe('data: [DONE]\r\n\r\n');
    expect(boundary.flush()).toBeNull();
  });

  it('keeps a UTF-8 character split across chunks intact', () => {
    const boundary = new SseBoundary();
    const bytes = Buffer.from('data: {"t":"é"}\n\n');
    const split = bytes.indexOf(0xc3) + 1;
    const out = Buffer.concat([boundary.push(bytes.subarray(0, split)), boundary.push(bytes.subarray(split))]);
    expect(out.toString('utf8')).toBe('data: {"t":"é"}\n\n');
  });
});

describe('retry budget and backoff', () => {
  it('allows retries up to the ratio of requests plus a small floor', () => {
    const budget = new RetryBudget(0.2, 10_000, 1);
    for (let request = 0; request < 10; request++) budget.onRequest(0);
    const granted = Array.from({ length: 10 }, () => budget.tryRetry(0)).filter(Boolean).length;
    expect(granted).toBe(3);
  });

  it('backs off exponentially with jitter, capped', () => {
    expect(backoffDelay(1, 100, () => 1)).toBe(100);
    expect(backoffDelay(3, 100, () => 1)).toBe(400);
    expect(backoffDelay(30, 100, () => 1)).toBe(2_000);
    expect(backoffDelay(3, 100, () => 0)).toBe(0);
  });
});

describe('closeNames', () => {
  it('suggests known models near a mistyped name', () => {
    expect(closeNames('mixtrall', ['mixtral', 'mixtral:latest', 'phi3', 'yi34b'])).toEqual(['mixtral']);
    expect(closeNames('zzzzzzzzzz', ['phi3'])).toEqual([]);
  });
});

describe('deployments at their capacity', () => {
  const sized = (name: string, capacity: number, inflight: number) => {
    const made = deployment(name);
    made.capacity = capacity;
    made.state.inflight = inflight;
    return made;
  };

  it('are passed over while another has room, even one with more requests in flight', () => {
    // least-inflight by raw counts would fill the small server past its 2 slots.
    expect(pick([sized('small', 2, 2), sized('big', 8, 5)])).toBe('big');
    // When every one is full, the least loaded still takes it (admission decides whether it may run at all).
    expect(pick([sized('small', 2, 2), sized('big', 8, 8)])).toBe('small');
    // An unknown capacity is never full.
    const unknown = deployment('unknown');
    unknown.state.inflight = 9;
    expect(pick([sized('small', 2, 2), unknown])).toBe('unknown');
  });
});
