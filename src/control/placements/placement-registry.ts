import type { Actor } from '../../domain/audit.ts';
import type { ManagedBy } from '../../domain/model-server.ts';
import { modelNameProblem } from '../../domain/model-name.ts';
import type { ActiveHours, Placement } from '../../domain/placement.ts';
import { errors } from '../../errors/error-catalogue.ts';
import type { PlacementStore } from '../../storage/placement-store.ts';
import { isKeepAlive } from '../operations/keep-alive.ts';

/** What `PUT /api/v1/placements/{model}` and the fleet file's `placements:` say. */
export interface PlacementInput {
  pulled_on?: number;
  servers?: string[];
  warm_on?: number;
  keep_alive?: string | number;
  active_hours?: string;
}

const hoursPattern = /^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$/;

/** Placements in memory (the reconciler reads them every round), committed to storage first. */
export class PlacementRegistry {
  readonly #store: PlacementStore;
  #byModel = new Map<string, Placement>();
  readonly #listeners = new Set<() => void>();

  constructor(store: PlacementStore) {
    this.#store = store;
  }

  async load(): Promise<void> {
    this.#byModel = new Map((await this.#store.list()).map((placement) => [placement.model, placement]));
  }

  list(): Placement[] {
    return [...this.#byModel.values()].sort((a, b) => a.model.localeCompare(b.model));
  }

  get(model: string): Placement | undefined {
    return this.#byModel.get(model);
  }

  require(model: string): Placement {
    const placement = this.#byModel.get(model);
    if (placement === undefined) throw errors.notFound(`Placement for "${model}"`);
    return placement;
  }

  /** Called after every change (the reconciler runs again). */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async put(model: string, input: PlacementInput, options: { managedBy?: ManagedBy; actor?: Actor } = {}): Promise<{ placement: Placement; created: boolean }> {
    const current = this.#byModel.get(model);
    const now = new Date().toISOString();
    const placement: Placement = { ...validate(model, input), managedBy: options.managedBy ?? current?.managedBy ?? 'api', createdAt: current?.createdAt ?? now, updatedAt: now };
    const audit = options.actor === undefined ? undefined : { actor: options.actor, action: current === undefined ? 'placement.create' : 'placement.update', targetType: 'placement' as const, targetId: model, before: current ?? null, after: placement };
    await this.#store.save(placement, current === undefined, audit);
    this.#byModel.set(model, placement);
    this.#changed();
    return { placement, created: current === undefined };
  }

  async remove(model: string, actor?: Actor): Promise<void> {
    const placement = this.require(model);
    await this.#store.delete(model, actor === undefined ? undefined : { actor, action: 'placement.delete', targetType: 'placement', targetId: model, before: placement, after: null });
    this.#byModel.delete(model);
    this.#changed();
  }

  #changed(): void {
    for (const listener of this.#listeners) listener();
  }
}

function validate(model: string, input: PlacementInput): Omit<Placement, 'managedBy' | 'createdAt' | 'updatedAt'> {
  const problem = modelNameProblem(model);
  if (problem !== null) throw errors.invalidRequest(`model ${problem}.`, 'model');
  if ((input.pulled_on === undefined) === (input.servers === undefined)) throw errors.invalidRequest('Give exactly one of pulled_on (how many servers) and servers (which ones).', 'pulled_on');
  if (input.pulled_on !== undefined && (!Number.isInteger(input.pulled_on) || input.pulled_on < 1 || input.pulled_on > 1000)) throw errors.invalidRequest('pulled_on must be a whole number from 1 to 1000.', 'pulled_on');
  if (input.servers !== undefined && (input.servers.length === 0 || new Set(input.servers).size !== input.servers.length)) throw errors.invalidRequest('servers must name at least one server, each once.', 'servers');
  const pulled = input.pulled_on ?? input.servers?.length ?? 0;
  const warmOn = input.warm_on ?? 0;
  if (!Number.isInteger(warmOn) || warmOn < 0 || warmOn > pulled) throw errors.invalidRequest(`warm_on must be a whole number from 0 to the number of servers it is pulled on (${pulled}).`, 'warm_on');
  if (input.keep_alive !== undefined && !isKeepAlive(input.keep_alive)) throw errors.invalidRequest('keep_alive must be a duration such as "30m", "1h30m" or "-1s", or a number of seconds.', 'keep_alive');
  let activeHours: ActiveHours | null = null;
  if (input.active_hours !== undefined) {
    const match = hoursPattern.exec(input.active_hours);
    if (match === null || input.active_hours.slice(0, 5) === input.active_hours.slice(6)) throw errors.invalidRequest('active_hours must be a daily window in UTC such as "08:00-18:00" (it may wrap midnight).', 'active_hours');
    activeHours = { from: input.active_hours.slice(0, 5), to: input.active_hours.slice(6) };
  }
  return { model, pulledOn: input.pulled_on ?? null, servers: input.servers ?? null, warmOn, keepAlive: input.keep_alive ?? null, activeHours };
}
