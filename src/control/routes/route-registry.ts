import { randomUUID } from 'node:crypto';
import type { RoutingStrategy } from '../../config/config-schema.ts';
import type { Actor } from '../../domain/audit.ts';
import type { ManagedBy } from '../../domain/model-server.ts';
import type { Route } from '../../domain/route.ts';
import { errors } from '../../errors/error-catalogue.ts';
import type { RouteStore } from '../../storage/route-store.ts';

export interface RouteInput {
  name?: string;
  strategy?: RoutingStrategy | null;
  targets?: Array<string | { model: string; weight?: number; tier?: number }>;
  fallbacks?: string[];
  metadata?: Record<string, unknown>;
}

// Route names are what callers put in `model`: the same characters model ids use.
const namePattern = /^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,199}$/;

/** Routes in memory (read on every request), committed to storage first. */
export class RouteRegistry {
  readonly #store: RouteStore;
  #byName = new Map<string, Route>();

  constructor(store: RouteStore) {
    this.#store = store;
  }

  async load(): Promise<void> {
    this.#byName = new Map((await this.#store.list()).map((route) => [route.name, route]));
  }

  list(): Route[] {
    return [...this.#byName.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  byName(name: string): Route | undefined {
    return this.#byName.get(name);
  }

  require(id: string): Route {
    const route = this.list().find((candidate) => candidate.id === id);
    if (route === undefined) throw errors.notFound(`Route ${id}`);
    return route;
  }

  async create(input: RouteInput & { name: string; targets: NonNullable<RouteInput['targets']> }, managedBy: ManagedBy = 'api', actor?: Actor): Promise<Route> {
    const now = new Date().toISOString();
    const route = validate({ id: randomUUID(), name: '', strategy: null, targets: [], fallbacks: [], metadata: {}, managedBy, createdAt: now, updatedAt: now }, input);
    if (this.#byName.has(route.name)) throw errors.conflict(`A route named "${route.name}" already exists.`, 'name');
    await this.#store.insert(route, actor === undefined ? undefined : { actor, action: 'route.create', targetType: 'route', targetId: route.id, before: null, after: route });
    this.#byName.set(route.name, route);
    return route;
  }

  /** `managedBy` is for the fleet file taking over a route of the same name; the API never passes it. */
  async update(id: string, input: RouteInput, actor?: Actor, managedBy?: ManagedBy): Promise<Route> {
    const current = this.require(id);
    const route = validate({ ...current, ...(managedBy === undefined ? {} : { managedBy }), updatedAt: new Date().toISOString() }, input);
    const clash = this.#byName.get(route.name);
    if (clash !== undefined && clash.id !== id) throw errors.conflict(`A route named "${route.name}" already exists.`, 'name');
    await this.#store.update(route, actor === undefined ? undefined : { actor, action: 'route.update', targetType: 'route', targetId: id, before: current, after: route });
    this.#byName.delete(current.name);
    this.#byName.set(route.name, route);
    return route;
  }

  async remove(id: string, actor?: Actor): Promise<void> {
    const route = this.require(id);
    await this.#store.delete(id, actor === undefined ? undefined : { actor, action: 'route.delete', targetType: 'route', targetId: id, before: route, after: null });
    this.#byName.delete(route.name);
  }
}

function validate(base: Route, input: RouteInput): Route {
  const route: Route = { ...base };
  if (input.name !== undefined) {
    if (!namePattern.test(input.name)) throw errors.invalidRequest('name must be 1-200 characters of letters, digits and . _ : / @ + -', 'name');
    route.name = input.name;
  }
  if (input.strategy !== undefined) route.strategy = input.strategy;
  if (input.targets !== undefined) {
    if (input.targets.length === 0) throw errors.invalidRequest('targets must name at least one model.', 'targets');
    route.targets = input.targets.map((target) =>
      typeof target === 'string' ? { model: target, weight: 1, tier: 1 } : { model: target.model, weight: target.weight ?? 1, tier: target.tier ?? 1 },
    );
  }
  if (input.fallbacks !== undefined) route.fallbacks = input.fallbacks;
  if (input.metadata !== undefined) route.metadata = input.metadata;
  // A route may target a model of its own name (that sets the model's strategy): targets are
  // models, never routes, so this cannot loop. A fallback to itself would only repeat.
  if (route.fallbacks.includes(route.name)) throw errors.invalidRequest('A route cannot fall back to itself.', 'fallbacks');
  return route;
}
