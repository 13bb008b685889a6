import type { Actor } from '../../domain/audit.ts';
import { defaultSimilarity, type CacheMode, type CachePolicy, type CacheScope } from '../../domain/cache-policy.ts';
import type { ManagedBy } from '../../domain/model-server.ts';
import { errors } from '../../errors/error-catalogue.ts';
import type { CachePolicyStore } from '../../storage/cache-policy-store.ts';
import { maxTtlS } from '../../config/fleet-file.ts';

/** What `PUT /api/v1/cache-policies/{name}` and the fleet file's `cache_policies:` say. */
export interface CachePolicyInput {
  mode: CacheMode;
  ttl_s: number;
  scope?: CacheScope;
  similarity?: number;
  embedding_model?: string;
}

// The names callers put in `model` (route names follow the same rule).
const namePattern = /^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,199}$/;
export { maxTtlS };

/** Cache policies in memory (read on every request), committed to storage first. */
export class CachePolicyRegistry {
  readonly #store: CachePolicyStore;
  #byName = new Map<string, CachePolicy>();

  constructor(store: CachePolicyStore) {
    this.#store = store;
  }

  async load(): Promise<void> {
    this.#byName = new Map((await this.#store.list()).map((policy) => [policy.name, policy]));
  }

  list(): CachePolicy[] {
    return [...this.#byName.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** The policy for a requested model name, or undefined (caching off). */
  byName(name: string): CachePolicy | undefined {
    return this.#byName.get(name);
  }

  require(name: string): CachePolicy {
    const policy = this.#byName.get(name);
    if (policy === undefined) throw errors.notFound(`Cache policy for "${name}"`);
    return policy;
  }

  /**
   * Creates or replaces the policy for `name`. `canEmbed` checks a semantic
   * policy's embedding model (the API checks it; the fleet file, applied
   * before the fleet's servers have answered, does not).
   */
  async put(name: string, input: CachePolicyInput, options: { managedBy?: ManagedBy; actor?: Actor; canEmbed?: (model: string) => boolean } = {}): Promise<{ policy: CachePolicy; created: boolean }> {
    const current = this.#byName.get(name);
    const now = new Date().toISOString();
    const policy = validate(name, input, options.canEmbed);
    const saved: CachePolicy = { ...policy, managedBy: options.managedBy ?? current?.managedBy ?? 'api', createdAt: current?.createdAt ?? now, updatedAt: now };
    const audit = options.actor === undefined ? undefined : { actor: options.actor, action: current === undefined ? 'cache_policy.create' : 'cache_policy.update', targetType: 'cache_policy' as const, targetId: name, before: current ?? null, after: saved };
    await this.#store.save(saved, current === undefined, audit);
    this.#byName.set(name, saved);
    return { policy: saved, created: current === undefined };
  }

  async remove(name: string, actor?: Actor): Promise<void> {
    const policy = this.require(name);
    await this.#store.delete(name, actor === undefined ? undefined : { actor, action: 'cache_policy.delete', targetType: 'cache_policy', targetId: name, before: policy, after: null });
    this.#byName.delete(name);
  }
}

function validate(name: string, input: CachePolicyInput, canEmbed: ((model: string) => boolean) | undefined): Omit<CachePolicy, 'managedBy' | 'createdAt' | 'updatedAt'> {
  if (!namePattern.test(name)) throw errors.invalidRequest('The name must be a model or route name: 1-200 characters of letters, digits and . _ : / @ + -', 'name');
  if (!Number.isInteger(input.ttl_s) || input.ttl_s < 1 || input.ttl_s > maxTtlS) throw errors.invalidRequest(`ttl_s must be a whole number of seconds from 1 to ${maxTtlS}.`, 'ttl_s');
  const scope = input.scope ?? 'key';
  if (input.mode === 'exact') {
    if (input.similarity !== undefined) throw errors.invalidRequest('similarity applies to mode "semantic" only.', 'similarity');
    if (input.embedding_model !== undefined) throw errors.invalidRequest('embedding_model applies to mode "semantic" only.', 'embedding_model');
    return { name, mode: 'exact', ttlS: input.ttl_s, scope, similarity: defaultSimilarity, embeddingModel: null };
  }
  const similarity = input.similarity ?? defaultSimilarity;
  if (!(similarity > 0 && similarity <= 1)) throw errors.invalidRequest('similarity must be above 0 and at most 1 (cosine similarity).', 'similarity');
  const model = input.embedding_model;
  if (model === undefined || model === '') throw errors.invalidRequest('Mode "semantic" needs embedding_model: a fleet model that can embed.', 'embedding_model');
  if (canEmbed !== undefined && !canEmbed(model)) throw errors.invalidRequest(`embedding_model "${model}" is not a fleet model that can embed.`, 'embedding_model');
  return { name, mode: 'semantic', ttlS: input.ttl_s, scope, similarity, embeddingModel: model };
}
