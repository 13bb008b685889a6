import type { FastifyBaseLogger } from 'fastify';
import { systemActor } from '../../domain/audit.ts';
import { modelMatches, type ModelServer } from '../../domain/model-server.ts';
import type { Placement } from '../../domain/placement.ts';
import type { ModelLifecycleActions } from '../operations/model-lifecycle.ts';
import type { OperationRunner } from '../operations/operation.ts';
import { lifecycleOf } from '../operations/server-lifecycle.ts';
import type { ServerRegistry } from '../servers/server-registry.ts';
import { planPlacement, type PlacementStatus, type PlanServer } from './placement-plan.ts';
import type { PlacementRegistry } from './placement-registry.ts';

export interface PlacementState {
  status: PlacementStatus;
  reason: string | null;
  holders: string[];
  warm: string[];
  operations: string[];
  checked_at: string | null;
}

export interface ReconcilerOptions {
  placements: PlacementRegistry;
  registry: ServerRegistry;
  lifecycle: ModelLifecycleActions;
  operations: OperationRunner;
  /** `placement.unsatisfied`, once each time a placement turns failed. */
  onUnsatisfied: (placement: Placement, reason: string) => void;
  log: FastifyBaseLogger;
  /** How long a server whose pull or load failed is left out before it is tried again. */
  retryAfterMs?: number;
  /** Waits this long after a fleet event for more before acting (a health round is many events). */
  debounceMs?: number;
  now?: () => number;
  /** With replicas, only the health checker starts pulls and loads and announces failures; the others plan, to show the state (decision 0033). */
  mayAct?: () => boolean;
}

const actor = systemActor('gateway');

/**
 * Keeps every placement true: on every health round and fleet change it
 * plans each one (placement-plan.ts) and starts the pulls and loads it needs
 * through the lifecycle actions, never two for the same model and server at
 * once. Nothing here runs on the request path or inside a health check.
 */
export class PlacementReconciler {
  readonly #options: ReconcilerOptions;
  readonly #states = new Map<string, PlacementState>();
  readonly #inFlight = new Map<string, Map<string, string>>();
  readonly #failures = new Map<string, Map<string, { message: string; at: number }>>();
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #again = false;
  #stopped = false;
  readonly #unsubscribes: Array<() => void> = [];

  constructor(options: ReconcilerOptions) {
    this.#options = options;
  }

  start(): void {
    this.#unsubscribes.push(
      this.#options.registry.onEvent((event) => {
        if (event.type === 'server.checked' || event.type === 'server.status_changed' || event.type === 'model.removed' || event.type === 'model.added' || event.type === 'server.deleted') this.schedule();
      }),
      this.#options.placements.onChange(() => this.schedule()),
    );
    this.schedule();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    for (const unsubscribe of this.#unsubscribes) unsubscribe();
  }

  stateOf(model: string): PlacementState {
    return this.#states.get(model) ?? { status: 'progressing', reason: 'not checked yet', holders: [], warm: [], operations: [], checked_at: null };
  }

  schedule(): void {
    if (this.#stopped || this.#timer !== null) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.reconcileNow();
    }, this.#options.debounceMs ?? 100);
    this.#timer.unref();
  }

  /** One pass over every placement; a pass asked for while one runs follows it. */
  async reconcileNow(): Promise<void> {
    if (this.#running !== null) {
      this.#again = true;
      return this.#running;
    }
    const pass = this.#pass();
    this.#running = pass;
    return pass;
  }

  async #pass(): Promise<void> {
    // Yield first, so #running is set before anything here can finish and clear it.
    await Promise.resolve();
    try {
      do {
        this.#again = false;
        for (const placement of this.#options.placements.list()) await this.#reconcile(placement);
        for (const model of this.#states.keys()) if (this.#options.placements.get(model) === undefined) this.#states.delete(model);
      } while (this.#again && !this.#stopped);
    } catch (error) {
      this.#options.log.warn({ err: error instanceof Error ? error.message : 'unknown' }, 'placement reconciliation failed; it runs again on the next health round');
    } finally {
      this.#running = null;
    }
  }

  async #reconcile(placement: Placement): Promise<void> {
    const now = (this.#options.now ?? Date.now)();
    const inFlight = this.#inFlight.get(placement.model) ?? new Map<string, string>();
    const failures = this.#failures.get(placement.model) ?? new Map<string, { message: string; at: number }>();
    for (const [serverId, failure] of failures) if (now - failure.at > (this.#options.retryAfterMs ?? 60_000)) failures.delete(serverId);
    const servers = this.#options.registry.list().map((server) => this.#view(server, placement.model));
    const plan = planPlacement({
      placement,
      servers,
      modelBytes: this.#modelBytes(placement.model),
      inFlight: new Set(inFlight.keys()),
      failures: new Map([...failures].map(([id, failure]) => [id, failure.message])),
      now: new Date(now),
    });
    const mayAct = this.#options.mayAct?.() ?? true;
    if (mayAct && plan.pullOn.length > 0) await this.#act('pull', placement, plan.pullOn, inFlight, failures);
    if (mayAct && plan.loadOn.length > 0) await this.#act('load', placement, plan.loadOn, inFlight, failures);
    const previous = this.#states.get(placement.model);
    const state: PlacementState = { status: plan.status, reason: plan.reason, holders: plan.holders, warm: plan.warm, operations: [...new Set(inFlight.values())], checked_at: new Date(now).toISOString() };
    this.#states.set(placement.model, state);
    if (mayAct && state.status === 'failed' && previous?.status !== 'failed') {
      this.#options.log.warn({ model: placement.model, reason: state.reason }, 'a placement cannot be met');
      this.#options.onUnsatisfied(placement, state.reason ?? 'unknown');
    }
  }

  async #act(action: 'pull' | 'load', placement: Placement, serverIds: string[], inFlight: Map<string, string>, failures: Map<string, { message: string; at: number }>): Promise<void> {
    const { lifecycle, operations, log } = this.#options;
    try {
      const view =
        action === 'pull'
          ? await lifecycle.pull({ model: placement.model, servers: serverIds, actor })
          : await lifecycle.load({ model: placement.model, servers: serverIds, actor, ...(placement.keepAlive === null ? {} : { keepAlive: placement.keepAlive }) });
      for (const id of serverIds) inFlight.set(id, view.id);
      this.#inFlight.set(placement.model, inFlight);
      this.#failures.set(placement.model, failures);
      void operations.settled(view.id).then((ended) => {
        for (const target of ended.servers) {
          if (target.server_id === null) continue;
          inFlight.delete(target.server_id);
          if (target.status === 'failed') failures.set(target.server_id, { message: target.error ?? 'failed', at: (this.#options.now ?? Date.now)() });
        }
        this.schedule();
      });
    } catch (error) {
      log.warn({ model: placement.model, action, err: error instanceof Error ? error.message : 'unknown' }, 'a placement could not start its work');
      for (const id of serverIds) failures.set(id, { message: error instanceof Error ? error.message : 'could not start', at: (this.#options.now ?? Date.now)() });
      this.#failures.set(placement.model, failures);
    }
  }

  #view(server: ModelServer, model: string): PlanServer {
    const held = this.#options.registry.modelsOf(server.id);
    const lifecycle = lifecycleOf(server, held);
    const copy = held.find((entry) => modelMatches(entry.modelId, model));
    const free = server.metadata['disk_free_bytes'];
    return {
      id: server.id,
      name: server.name,
      usable: server.isActive && (server.healthStatus === 'online' || server.healthStatus === 'degraded'),
      canPull: lifecycle?.pull !== undefined,
      // A kind that loads only LoRA adapters (vLLM) cannot warm a model.
      canLoad: lifecycle?.load !== undefined && lifecycle.loadsWhat === undefined,
      holds: copy !== undefined,
      loaded: copy?.status === 'loaded',
      freeBytes: typeof free === 'number' ? free : null,
      heldBytes: held.reduce((sum, entry) => sum + (typeof entry.details['size_bytes'] === 'number' ? entry.details['size_bytes'] : 0), 0),
    };
  }

  #modelBytes(model: string): number | null {
    for (const server of this.#options.registry.list()) {
      const size = this.#options.registry.modelsOf(server.id).find((entry) => modelMatches(entry.modelId, model))?.details['size_bytes'];
      if (typeof size === 'number') return size;
    }
    return null;
  }
}
