import type { StatusReason } from '../../domain/model-server.ts';
import type { HealthStatus } from '../../domain/server-kind.ts';

/** What one probe saw, already classified. */
export type CheckOutcome =
  | { kind: 'success'; modelsFound: number; expectedModels: string[]; missingExpected: string[] }
  | { kind: 'failure'; reason: 'unreachable' | 'timeout' | 'http_error' | 'bad_response'; message: string }
  | { kind: 'misconfigured'; message: string };

export interface HealthState {
  healthStatus: HealthStatus;
  statusReason: StatusReason;
  statusMessage: string | null;
  consecutiveFailures: number;
}

/**
 * Hysteresis: one failed probe makes a server `degraded`, `failuresToOffline`
 * in a row make it `offline` (and it stays so while probes fail), one good probe brings it back `online`. A
 * rejected key is a configuration problem: the server answers, so it is not
 * counted as down, but it is not usable either.
 */
export function nextHealthState(current: HealthState, outcome: CheckOutcome, failuresToOffline: number): HealthState {
  switch (outcome.kind) {
    case 'failure': {
      const failures = current.consecutiveFailures + 1;
      return {
        // Offline stays offline until a probe succeeds (a server registered offline at start has no count yet).
        healthStatus: failures >= failuresToOffline || current.healthStatus === 'offline' ? 'offline' : 'degraded',
        statusReason: outcome.reason,
        statusMessage: outcome.message,
        consecutiveFailures: failures,
      };
    }
    case 'misconfigured':
      return { healthStatus: 'degraded', statusReason: 'misconfigured', statusMessage: outcome.message, consecutiveFailures: 0 };
    case 'success': {
      if (outcome.modelsFound === 0) {
        return {
          healthStatus: 'degraded',
          statusReason: 'no_models',
          statusMessage: 'The server answers but serves no models.',
          consecutiveFailures: 0,
        };
      }
      const expected = outcome.expectedModels.length;
      if (expected > 0 && outcome.missingExpected.length === expected) {
        return {
          healthStatus: 'degraded',
          statusReason: 'expected_models_missing',
          statusMessage: `None of the expected models is served (${outcome.missingExpected.join(', ')}).`,
          consecutiveFailures: 0,
        };
      }
      return {
        healthStatus: 'online',
        statusReason: null,
        statusMessage: outcome.missingExpected.length > 0 ? `Expected but not served: ${outcome.missingExpected.join(', ')}.` : null,
        consecutiveFailures: 0,
      };
    }
  }
}
