import { describe, expect, it } from 'vitest';
import { nextHealthState, type CheckOutcome, type HealthState } from '../../src/control/health/health-transition.ts';

const fresh: HealthState = { healthStatus: 'unknown', statusReason: null, statusMessage: null, consecutiveFailures: 0 };
const failure: CheckOutcome = { kind: 'failure', reason: 'unreachable', message: 'connection refused' };
const success: CheckOutcome = { kind: 'success', modelsFound: 3, expectedModels: [], missingExpected: [] };

function run(outcomes: CheckOutcome[], start: HealthState = fresh): HealthState[] {
  const states: HealthState[] = [];
  let state = start;
  for (const outcome of outcomes) {
    state = nextHealthState(state, outcome, 3);
    states.push(state);
  }
  return states;
}

describe('nextHealthState', () => {
  it('goes degraded on the first failure and offline on the third in a row', () => {
    expect(run([failure, failure, failure, failure]).map((state) => state.healthStatus)).toEqual(['degraded', 'degraded', 'offline', 'offline']);
  });

  it('comes back online after one success and restarts the failure count', () => {
    const states = run([failure, failure, failure, success, failure]);
    expect(states.map((state) => state.healthStatus)).toEqual(['degraded', 'degraded', 'offline', 'online', 'degraded']);
    expect(states[3]).toMatchObject({ consecutiveFailures: 0, statusReason: null, statusMessage: null });
  });

  it('treats a rejected key as misconfiguration: degraded with that reason, never offline', () => {
    const misconfigured: CheckOutcome = { kind: 'misconfigured', message: 'HTTP 401' };
    const states = run([misconfigured, misconfigured, misconfigured, misconfigured]);
    expect(states.every((state) => state.healthStatus === 'degraded' && state.statusReason === 'misconfigured')).toBe(true);
  });

  it('marks a server that answers with no models degraded', () => {
    expect(run([{ kind: 'success', modelsFound: 0, expectedModels: [], missingExpected: [] }])[0]).toMatchObject({
      healthStatus: 'degraded',
      statusReason: 'no_models',
    });
  });

  it('marks a server serving none of its expected models degraded, and one serving some online with a note', () => {
    expect(run([{ kind: 'success', modelsFound: 2, expectedModels: ['a', 'b'], missingExpected: ['a', 'b'] }])[0]).toMatchObject({
      healthStatus: 'degraded',
      statusReason: 'expected_models_missing',
    });
    expect(run([{ kind: 'success', modelsFound: 2, expectedModels: ['a', 'b'], missingExpected: ['b'] }])[0]).toMatchObject({
      healthStatus: 'online',
      statusMessage: 'Expected but not served: b.',
    });
  });

  it('keeps the failure reason and message for the console', () => {
    expect(run([{ kind: 'failure', reason: 'timeout', message: 'GET /api/tags: timed out' }])[0]).toMatchObject({
      statusReason: 'timeout',
      statusMessage: 'GET /api/tags: timed out',
    });
  });
});
