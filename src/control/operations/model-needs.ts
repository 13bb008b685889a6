/**
 * Who still needs a model, asked before its last copy is deleted: routes
 * (targets and fallbacks) and placements each register one check. Each
 * answers human-readable reasons ("route chat-default", "placement mixtral"),
 * empty when nothing needs it. A delete that would remove the last copy
 * anything needs is refused with 409 naming them, unless forced.
 */
export type ModelNeedsCheck = (model: string) => string[];

export class ModelNeeds {
  readonly #checks: ModelNeedsCheck[] = [];

  register(check: ModelNeedsCheck): void {
    this.#checks.push(check);
  }

  of(model: string): string[] {
    return this.#checks.flatMap((check) => check(model));
  }
}
