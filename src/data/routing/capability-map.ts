import type { ModelCapability } from '../../domain/server-kind.ts';

/**
 * Capability → model ids, counting the deployments behind each pair, so
 * `auto` looks only at models that can do what the request needs instead of
 * scanning the fleet. A model keeps a capability while any deployment of it has it.
 */
export class CapabilityMap {
  readonly #byCapability = new Map<ModelCapability, Map<string, number>>();

  add(modelId: string, capabilities: readonly ModelCapability[]): void {
    for (const capability of capabilities) {
      let models = this.#byCapability.get(capability);
      if (models === undefined) {
        models = new Map();
        this.#byCapability.set(capability, models);
      }
      models.set(modelId, (models.get(modelId) ?? 0) + 1);
    }
  }

  remove(modelId: string, capabilities: readonly ModelCapability[]): void {
    for (const capability of capabilities) {
      const models = this.#byCapability.get(capability);
      const count = models?.get(modelId);
      if (models === undefined || count === undefined) continue;
      if (count > 1) models.set(modelId, count - 1);
      else models.delete(modelId);
    }
  }

  /** Model ids having every one of `required` (on some deployment; the caller checks each one). */
  modelsWith(required: readonly ModelCapability[]): string[] {
    if (required.length === 0) return [];
    let smallest: Map<string, number> | undefined;
    for (const capability of required) {
      const models = this.#byCapability.get(capability);
      if (models === undefined) return [];
      if (smallest === undefined || models.size < smallest.size) smallest = models;
    }
    const result: string[] = [];
    for (const modelId of (smallest as Map<string, number>).keys()) {
      if (required.every((capability) => this.#byCapability.get(capability)?.has(modelId) === true)) result.push(modelId);
    }
    return result;
  }
}
