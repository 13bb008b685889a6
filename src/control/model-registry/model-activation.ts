import type { Actor } from '../../domain/audit.ts';
import { modelAliases, modelMatches } from '../../domain/model-server.ts';
import { modelNameProblem } from '../../domain/model-name.ts';
import { errors } from '../../errors/error-catalogue.ts';
import type { ModelRegistryStore } from '../../storage/model-registry-store.ts';

/**
 * Deactivated models: listed (marked inactive) but never routed to. Held in
 * memory, so the request path asks a Set, never storage; an empty set (the
 * usual case) costs one size check per request.
 */
export class ModelActivation {
  readonly #store: ModelRegistryStore;
  #inactive = new Set<string>();

  constructor(store: ModelRegistryStore) {
    this.#store = store;
  }

  async load(): Promise<void> {
    this.#inactive = new Set(await this.#store.inactiveModels());
  }

  get anyInactive(): boolean {
    return this.#inactive.size > 0;
  }

  /** True when `modelId` (or a name it answers to: `mixtral` for `mixtral:latest`) was deactivated. */
  isInactive(modelId: string): boolean {
    if (this.#inactive.size === 0) return false;
    if (this.#inactive.has(modelId)) return true;
    for (const name of this.#inactive) if (modelMatches(modelId, name)) return true;
    return false;
  }

  inactive(): string[] {
    return [...this.#inactive].sort();
  }

  async deactivate(model: string, actor: Actor): Promise<void> {
    this.#check(model);
    await this.#store.setActive(model, false, { actor, action: 'model.deactivate', targetType: 'model', targetId: model, before: { active: !this.#inactive.has(model) }, after: { active: false } });
    this.#inactive.add(model);
  }

  async activate(model: string, actor: Actor): Promise<void> {
    this.#check(model);
    await this.#store.setActive(model, true, { actor, action: 'model.activate', targetType: 'model', targetId: model, before: { active: !this.#inactive.has(model) }, after: { active: true } });
    this.#inactive.delete(model);
    // Deactivated under another name it answers to (`mixtral` for `mixtral:latest`): that goes too.
    for (const alias of modelAliases(model)) if (this.#inactive.has(alias)) await this.activate(alias, actor);
  }

  #check(model: string): void {
    const problem = modelNameProblem(model);
    if (problem !== null) throw errors.invalidRequest(`model ${problem}.`, 'model');
  }
}
