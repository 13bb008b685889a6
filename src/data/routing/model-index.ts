import { modelAliases } from '../../domain/model-server.ts';
import type { ServerRegistry } from '../../control/servers/server-registry.ts';
import { deploymentKey, DeploymentState, type Deployment } from './deployment.ts';

/**
 * Model name → deployments, rebuilt from the registry on every fleet change
 * (cheap: one pass over the models). The request path only reads the map.
 */
export class ModelIndex {
  readonly #registry: ServerRegistry;
  readonly #states = new Map<string, DeploymentState>();
  readonly #breakerThreshold: number;
  readonly #breakerCooldownMs: number;
  #byName = new Map<string, Deployment[]>();
  #modelNames: string[] = [];

  readonly #onCircuitOpen: (server: { id: string; name: string }, modelId: string) => void;

  constructor(
    registry: ServerRegistry,
    breaker: { threshold: number; cooldownMs: number },
    onCircuitOpen: (server: { id: string; name: string }, modelId: string) => void = () => undefined,
  ) {
    this.#registry = registry;
    this.#onCircuitOpen = onCircuitOpen;
    this.#breakerThreshold = breaker.threshold;
    this.#breakerCooldownMs = breaker.cooldownMs;
    this.rebuild();
    registry.onEvent(() => this.rebuild());
  }

  rebuild(): void {
    const byName = new Map<string, Deployment[]>();
    const live = new Set<string>();
    for (const server of this.#registry.list()) {
      const load = this.#registry.loadOf(server.id);
      const reportedQueue = (load?.waitingRequests ?? 0) + (server.serverType === 'openai' ? (load?.runningRequests ?? 0) : 0);
      for (const model of this.#registry.modelsOf(server.id)) {
        const key = deploymentKey(server.id, model.modelId);
        live.add(key);
        let state = this.#states.get(key);
        if (state === undefined) {
          const serverRef = { id: server.id, name: server.name };
          const modelId = model.modelId;
          state = new DeploymentState(this.#breakerThreshold, this.#breakerCooldownMs, () => this.#onCircuitOpen(serverRef, modelId));
          this.#states.set(key, state);
        }
        const deployment: Deployment = { key, server, model, state, reportedQueue };
        for (const name of [model.modelId, ...modelAliases(model.modelId)]) {
          const list = byName.get(name);
          if (list === undefined) byName.set(name, [deployment]);
          else list.push(deployment);
        }
      }
    }
    for (const key of this.#states.keys()) if (!live.has(key)) this.#states.delete(key);
    this.#byName = byName;
    this.#modelNames = [...byName.keys()].sort();
  }

  /** Every deployment once (not once per alias). */
  allDeployments(): Deployment[] {
    const seen = new Map<string, Deployment>();
    for (const list of this.#byName.values()) for (const deployment of list) seen.set(deployment.key, deployment);
    return [...seen.values()];
  }

  deploymentsOf(name: string): Deployment[] {
    return this.#byName.get(name) ?? [];
  }

  /** Every name a model answers to, sorted. */
  names(): string[] {
    return this.#modelNames;
  }
}
