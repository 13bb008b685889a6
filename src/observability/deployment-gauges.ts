import type { Gauge } from 'prom-client';
import type { CircuitState } from '../data/routing/circuit-breaker.ts';

/** What the gauges read of a deployment. */
export interface DeploymentReading {
  key: string;
  server: { name: string };
  model: { modelId: string };
  state: { inflight: number; breaker: { state: CircuitState } };
  capacity: number | null;
}

const circuitCode: Record<CircuitState, number> = { closed: 0, open: 1, 'half-open': 2 };

/**
 * Circuit state per deployment and requests in flight per model, brought up
 * to date when Prometheus scrapes. A scrape reads each deployment once
 * without allocating, and writes to prom-client only what changed since the
 * last one (label hashing is the costly part at 10,000 deployments).
 */
export class DeploymentGauges {
  readonly #deployments: () => readonly DeploymentReading[];
  readonly #circuits = new Map<string, { server: string; model: string; value: number }>();
  readonly #capacities = new Map<string, { server: string; model: string; value: number }>();
  readonly #inflight = new Map<string, number>();
  readonly #sums = new Map<string, number>();

  constructor(deployments: () => readonly DeploymentReading[]) {
    this.#deployments = deployments;
  }

  updateCircuits(gauge: Gauge<'server' | 'model'>): void {
    this.#report(gauge, this.#circuits, (deployment) => circuitCode[deployment.state.breaker.state]);
  }

  /** Requests each deployment can run at once (stated, or reported by the server); a deployment with none known has no series. */
  updateCapacity(gauge: Gauge<'server' | 'model'>): void {
    this.#report(gauge, this.#capacities, (deployment) => deployment.capacity);
  }

  /** One series per deployment, written only where it changed; gone deployments (and unknown values) lose theirs. */
  #report(gauge: Gauge<'server' | 'model'>, reported: Map<string, { server: string; model: string; value: number }>, valueOf: (deployment: DeploymentReading) => number | null): void {
    const deployments = this.#deployments();
    let known = 0;
    for (const deployment of deployments) {
      const value = valueOf(deployment);
      const server = deployment.server.name;
      const model = deployment.model.modelId;
      const last = reported.get(deployment.key);
      if (value === null) {
        if (last !== undefined) {
          gauge.remove({ server: last.server, model: last.model });
          reported.delete(deployment.key);
        }
        continue;
      }
      known++;
      if (last === undefined) {
        reported.set(deployment.key, { server, model, value });
        gauge.set({ server, model }, value);
        continue;
      }
      if (last.value === value && last.server === server) continue;
      // A renamed server: its old series would otherwise stay forever.
      if (last.server !== server) gauge.remove({ server: last.server, model: last.model });
      last.server = server;
      last.value = value;
      gauge.set({ server, model }, value);
    }
    // Every live deployment with a value is reported now, so more entries means some are gone.
    if (reported.size === known) return;
    const live = new Set(deployments.map((deployment) => deployment.key));
    for (const [key, last] of reported) {
      if (live.has(key)) continue;
      gauge.remove({ server: last.server, model: last.model });
      reported.delete(key);
    }
  }

  updateInflight(gauge: Gauge<'model'>): void {
    const sums = this.#sums;
    sums.clear();
    for (const deployment of this.#deployments()) {
      const model = deployment.model.modelId;
      sums.set(model, (sums.get(model) ?? 0) + deployment.state.inflight);
    }
    for (const [model, count] of sums) {
      if (this.#inflight.get(model) === count) continue;
      this.#inflight.set(model, count);
      gauge.set({ model }, count);
    }
    if (this.#inflight.size === sums.size) return;
    for (const model of this.#inflight.keys()) {
      if (sums.has(model)) continue;
      gauge.remove({ model });
      this.#inflight.delete(model);
    }
  }
}
