import { modelAliases, modelMatches, type ModelServer, type ServerModel } from '../../domain/model-server.ts';
import type { ModelCapability } from '../../domain/server-kind.ts';
import type { LoadMetrics } from '../adapters/server-adapter.ts';
import { findServerKind } from '../adapters/server-kinds.ts';
import { CapabilityMap } from './capability-map.ts';
import { deploymentKey, DeploymentState, ModelStats, type CapacitySource, type Deployment } from './deployment.ts';
import { NameSuggester, type SuggestOptions } from './name-suggester.ts';

/** What the index reads of the fleet (the server registry; a fake in tests). */
export interface FleetView {
  list(): readonly ModelServer[];
  get(id: string): ModelServer | undefined;
  modelsOf(id: string): readonly ServerModel[];
  loadOf(id: string): LoadMetrics | undefined;
  onEvent(listener: (event: { server: { id: string } }) => void): unknown;
}

/** Counters that let tests and the scale bench see how much work the index did. */
export interface IndexStats {
  /** Times pending changes were applied (one per burst of events). */
  flushes: number;
  /** Servers whose entries were re-read from the fleet. */
  serverPatches: number;
  /** Times the sorted list of names was rebuilt. */
  nameSorts: number;
}

/**
 * Model name → deployments, kept per server. A fleet event marks its server
 * dirty; the dirty servers are patched together once per burst (at the end
 * of the current tick, or before any read, so a reader never sees a stale
 * index). A patch touches only that server's deployments: each keeps its
 * object and its live state (breaker, EWMAs, in flight); its `server`,
 * `model` and `reportedQueue` are refreshed in place, and lists by name are
 * rebuilt only when a deployment joins or leaves them.
 */
export class ModelIndex {
  readonly #fleet: FleetView;
  readonly #breakerThreshold: number;
  readonly #breakerCooldownMs: number;
  readonly #onCircuitOpen: (server: { id: string; name: string }, modelId: string) => void;
  readonly #byServer = new Map<string, Map<string, Deployment>>();
  readonly #byName = new Map<string, Map<string, Deployment>>();
  // Arrays handed to readers, rebuilt lazily after membership changes (readers never see one mutate).
  readonly #listsByName = new Map<string, Deployment[]>();
  readonly #all = new Map<string, Deployment>();
  #allList: Deployment[] | null = null;
  #sortedNames: string[] | null = null;
  readonly #suggester = new NameSuggester();
  readonly #capabilities = new CapabilityMap();
  // One per model id while any deployment of it exists, with how many do.
  readonly #modelStats = new Map<string, { stats: ModelStats; deployments: number }>();
  readonly #dirty = new Set<string>();
  #flushQueued = false;
  readonly stats: IndexStats = { flushes: 0, serverPatches: 0, nameSorts: 0 };
  #version = 0;

  constructor(
    fleet: FleetView,
    breaker: { threshold: number; cooldownMs: number },
    onCircuitOpen: (server: { id: string; name: string }, modelId: string) => void = () => undefined,
  ) {
    this.#fleet = fleet;
    this.#onCircuitOpen = onCircuitOpen;
    this.#breakerThreshold = breaker.threshold;
    this.#breakerCooldownMs = breaker.cooldownMs;
    for (const server of fleet.list()) this.#dirty.add(server.id);
    this.flush();
    fleet.onEvent((event) => this.#markDirty(event.server.id));
  }

  /** Applies pending fleet changes now (reads do this themselves; tests and the bench call it to count work). */
  flush(): void {
    if (this.#dirty.size === 0) return;
    this.stats.flushes++;
    for (const serverId of this.#dirty) {
      this.#patch(serverId);
      this.#dirty.delete(serverId);
    }
  }

  /** Another replica opened this deployment's circuit: open it here for the time it has left. */
  openCircuit(serverId: string, modelId: string, ms: number, now = Date.now()): boolean {
    this.flush();
    const deployment = this.#byServer.get(serverId)?.get(modelId);
    deployment?.state.breaker.openFor(ms, now);
    return deployment !== undefined;
  }

  /** Another replica's server asked for a pause (Retry-After): send it nothing here either until then. */
  coolDown(serverId: string, modelId: string, ms: number, now = Date.now()): boolean {
    this.flush();
    const deployment = this.#byServer.get(serverId)?.get(modelId);
    if (deployment !== undefined) deployment.state.cooldownUntil = Math.max(deployment.state.cooldownUntil, now + ms);
    return deployment !== undefined;
  }

  /** Every deployment once (not once per alias). */
  allDeployments(): readonly Deployment[] {
    this.flush();
    this.#allList ??= [...this.#all.values()];
    return this.#allList;
  }

  deploymentsOf(name: string): readonly Deployment[] {
    this.flush();
    const cached = this.#listsByName.get(name);
    if (cached !== undefined) return cached;
    const members = this.#byName.get(name);
    if (members === undefined) return [];
    const list = [...members.values()];
    this.#listsByName.set(name, list);
    return list;
  }

  /** Every name a model answers to, sorted. */
  names(): readonly string[] {
    this.flush();
    if (this.#sortedNames === null) {
      this.stats.nameSorts++;
      this.#sortedNames = [...this.#byName.keys()].sort();
    }
    return this.#sortedNames;
  }

  /**
   * Changes whenever a deployment joins or leaves, a model's details change, or
   * a server's routability (active, status) changes; not on a health result
   * that changed nothing. Lets readers reuse what they derived from the index.
   */
  get version(): number {
    this.flush();
    return this.#version;
  }

  /**
   * Whether any registered server serves `name` (found by a probe, and still
   * remembered while that server is down) or is declared to (its expected
   * models). A name nobody knows can never be served, a known one waits for a
   * server: routing answers the first 404 and the second 503.
   */
  isKnown(name: string): boolean {
    if (this.deploymentsOf(name).length > 0) return true;
    // Rare path (a name with no deployment): a scan of the fleet is fine here.
    return this.#fleet.list().some((server) => server.expectedModels.some((model) => modelMatches(model.name, name)));
  }

  /** Model ids (not aliases) with at least one deployment that has every capability. */
  modelsWith(required: readonly ModelCapability[]): string[] {
    this.flush();
    return this.#capabilities.modelsWith(required);
  }

  /** Known names near a mistyped one, at a bounded cost (see NameSuggester). */
  suggest(wanted: string, options: SuggestOptions = {}): string[] {
    this.flush();
    return this.#suggester.suggest(wanted, options);
  }

  #markDirty(serverId: string): void {
    this.#dirty.add(serverId);
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    queueMicrotask(() => {
      this.#flushQueued = false;
      try {
        this.flush();
      } catch {
        // Not here, with no caller to tell: the server stays dirty and the next read retries and throws.
      }
    });
  }

  #patch(serverId: string): void {
    this.stats.serverPatches++;
    const server = this.#fleet.get(serverId);
    const current = this.#byServer.get(serverId) ?? new Map<string, Deployment>();
    if (server === undefined) {
      for (const deployment of current.values()) this.#remove(deployment);
      this.#byServer.delete(serverId);
      return;
    }
    const models = this.#fleet.modelsOf(serverId);
    const load = this.#fleet.loadOf(serverId);
    const serverQueue = queueOf(server, load);
    const serverCapacity = capacityOf(server, load);
    // Most servers share one capacity among their models; a llama.cpp router's models each have their own.
    const perModel = load?.perModel !== undefined;
    const before = current.values().next().value?.server;
    if (before !== undefined && !sameRoutability(before, server)) this.#version++;
    let kept = 0;
    for (const model of models) {
      const reportedQueue = perModel ? queueOf(server, load, model.modelId) : serverQueue;
      const { capacity, source } = perModel ? capacityOf(server, load, model.modelId) : serverCapacity;
      const existing = current.get(model.modelId);
      if (existing === undefined) {
        const deployment = this.#create(server, model, reportedQueue, capacity, source);
        current.set(model.modelId, deployment);
        this.#add(deployment);
        continue;
      }
      kept++;
      if (existing.model !== model) {
        this.#capabilities.remove(existing.model.modelId, existing.model.capabilities);
        this.#capabilities.add(model.modelId, model.capabilities);
        existing.model = model;
        this.#version++;
      }
      existing.server = server;
      existing.reportedQueue = reportedQueue;
      existing.capacity = capacity;
      existing.capacitySource = source;
    }
    if (kept < current.size - (models.length - kept)) {
      const live = new Set(models.map((model) => model.modelId));
      for (const [modelId, deployment] of current) {
        if (live.has(modelId)) continue;
        current.delete(modelId);
        this.#remove(deployment);
      }
    }
    this.#byServer.set(serverId, current);
  }

  #create(server: ModelServer, model: ServerModel, reportedQueue: number, capacity: number | null, source: CapacitySource | null): Deployment {
    const key = deploymentKey(server.id, model.modelId);
    let shared = this.#modelStats.get(model.modelId);
    if (shared === undefined) {
      shared = { stats: new ModelStats(), deployments: 0 };
      this.#modelStats.set(model.modelId, shared);
    }
    // The callback reads the deployment when the circuit opens, so a renamed server is reported by its new name.
    const state = new DeploymentState(this.#breakerThreshold, this.#breakerCooldownMs, () => this.#onCircuitOpen({ id: deployment.server.id, name: deployment.server.name }, deployment.model.modelId), shared.stats);
    // Every field set here, in one order: deployments share one shape on the routing path.
    const deployment: Deployment = { key, server, model, state, reportedQueue, capacity, capacitySource: source };
    return deployment;
  }

  #add(deployment: Deployment): void {
    this.#version++;
    const shared = this.#modelStats.get(deployment.model.modelId);
    if (shared !== undefined) shared.deployments++;
    this.#all.set(deployment.key, deployment);
    this.#allList = null;
    this.#capabilities.add(deployment.model.modelId, deployment.model.capabilities);
    for (const name of namesOf(deployment.model)) {
      let members = this.#byName.get(name);
      if (members === undefined) {
        members = new Map();
        this.#byName.set(name, members);
        this.#suggester.add(name);
        this.#sortedNames = null;
      }
      members.set(deployment.key, deployment);
      this.#listsByName.delete(name);
    }
  }

  #remove(deployment: Deployment): void {
    this.#version++;
    const shared = this.#modelStats.get(deployment.model.modelId);
    if (shared !== undefined && --shared.deployments <= 0) this.#modelStats.delete(deployment.model.modelId);
    this.#all.delete(deployment.key);
    this.#allList = null;
    this.#capabilities.remove(deployment.model.modelId, deployment.model.capabilities);
    for (const name of namesOf(deployment.model)) {
      const members = this.#byName.get(name);
      if (members === undefined) continue;
      members.delete(deployment.key);
      this.#listsByName.delete(name);
      if (members.size > 0) continue;
      this.#byName.delete(name);
      this.#suggester.remove(name);
      this.#sortedNames = null;
    }
  }
}

function namesOf(model: ServerModel): string[] {
  return [model.modelId, ...modelAliases(model.modelId)];
}

function sameRoutability(before: ModelServer, after: ModelServer): boolean {
  return before.isActive === after.isActive && before.healthStatus === after.healthStatus && before.statusReason === after.statusReason;
}

/** A stated max_concurrency wins over what the server reports, which wins over what the health checker learned. */
function capacityOf(server: ModelServer, load: LoadMetrics | undefined, modelId?: string): { capacity: number | null; source: CapacitySource | null } {
  const stated = server.maxConcurrency ?? null;
  if (stated !== null) return { capacity: stated, source: 'stated' };
  const reported = findServerKind(server.serverType)?.capacity(load, modelId).max ?? null;
  if (reported !== null) return { capacity: reported, source: 'reported' };
  const learned = load?.learnedCapacity ?? null;
  return learned === null ? { capacity: null, source: null } : { capacity: learned, source: 'learned' };
}

/** Each kind says what its load figures mean for the queue (llama.cpp: busy slots count). */
function queueOf(server: ModelServer, load: LoadMetrics | undefined, modelId?: string): number {
  return findServerKind(server.serverType)?.capacity(load, modelId).queue ?? (load?.waitingRequests ?? 0);
}
