import type { Deployment } from './deployment.ts';
import { nameHash, promptBlocks, rendezvousScore, type BlockSettings, type PromptBlocks } from './prompt-blocks.ts';

export interface PrefixAffinitySettings extends BlockSettings {
  /** No deployment takes more than this factor above the mean load of its model's deployments. */
  loadFactor: number;
  /** Block hashes remembered (where each prefix was last sent), oldest forgotten first. */
  tableEntries: number;
}

/** How a decision came out: the label of `llm_prefix_affinity_total{result}`. */
export type AffinityResult = 'hit' | 'miss' | 'overloaded' | 'unavailable' | 'none';

export interface AffinityDecision {
  deployment: Deployment;
  result: AffinityResult;
  /** For `x-switchyard-reason`. */
  reason: string;
}

type LoadOf = (deployment: Deployment) => number;

/**
 * Prefix-affinity routing. Requests that share a prompt prefix go where that
 * prefix went before, so the server's prefix cache (vLLM's, llama.cpp's
 * slots, Ollama's runner) skips recomputing it:
 *
 * - A table remembers, for each block hash of each prompt sent, the
 *   deployment it went to. A request whose blocks match its whole opening
 *   and beyond (its own earlier turns) goes to that deployment.
 * - Otherwise its opening (system prompt and first user turn) is placed by
 *   rendezvous hashing over the deployments' names: deterministic, so
 *   replicas that share nothing still send a conversation to the same place,
 *   and adding or removing a deployment moves only its share.
 * - Bounded load: a deployment more than `loadFactor` above the mean load,
 *   or at its capacity, is passed over (the next in hash order for a new
 *   prefix; the least-loaded for a matched one), as is one that is unhealthy
 *   or whose circuit is open (the caller passes only usable deployments).
 */
export class PrefixAffinity {
  readonly #settings: PrefixAffinitySettings;
  readonly #sentTo = new Map<number, Deployment>();
  readonly #counted: (result: AffinityResult) => void;

  constructor(settings: PrefixAffinitySettings, counted: (result: AffinityResult) => void = () => undefined) {
    this.#settings = settings;
    this.#counted = counted;
  }

  /** The request's view of affinity: null when it carries no prompt (embeddings, rerank). */
  forRequest(body: Record<string, unknown>, model: string): RequestAffinity | null {
    const blocks = promptBlocks(body, model, this.#settings);
    return blocks === null ? null : new RequestAffinity(this, blocks);
  }

  /** Remembered block hashes (for tests and a gauge). */
  get size(): number {
    return this.#sentTo.size;
  }

  /** The deployment the longest remembered prefix of `chain` went to, and how many blocks matched. */
  longestMatch(chain: readonly number[]): { deployment: Deployment; blocks: number } | null {
    // The tail is what changes between turns: look from the end for the last block already seen.
    for (let index = chain.length - 1; index >= 0; index--) {
      const deployment = this.#sentTo.get(chain[index] as number);
      if (deployment !== undefined) return { deployment, blocks: index + 1 };
    }
    return null;
  }

  remember(chain: readonly number[], deployment: Deployment): void {
    const table = this.#sentTo;
    for (const hash of chain) {
      if (table.get(hash) === deployment) continue;
      // Re-inserted, so it counts as the newest: the Map's order is the forgetting order.
      table.delete(hash);
      table.set(hash, deployment);
    }
    let excess = table.size - this.#settings.tableEntries;
    if (excess <= 0) return;
    for (const hash of table.keys()) {
      table.delete(hash);
      if (--excess <= 0) break;
    }
  }

  decide(blocks: PromptBlocks, usable: readonly Deployment[], loadOf: LoadOf, random: () => number): AffinityDecision {
    const bound = loadBound(usable, loadOf, this.#settings.loadFactor);
    const match = this.longestMatch(blocks.chain);
    const total = blocks.chain.length;
    // A match that stops inside the opening (a system prompt many conversations share) says nothing about this
    // conversation; one that covers the whole opening is this conversation's earlier turn (or one identical to it).
    if (match !== null && match.blocks >= Math.max(1, blocks.openingBlocks)) {
      const matched = `${match.blocks} of ${total} blocks matched`;
      const name = match.deployment.server.name;
      if (!usable.includes(match.deployment)) {
        const other = leastLoaded(usable, loadOf, random);
        return { deployment: other, result: 'unavailable', reason: `prefix-affinity: ${matched} on ${name}, which is unavailable; least-loaded ${other.server.name}` };
      }
      if (!withinBound(match.deployment, loadOf, bound)) {
        const other = leastLoaded(usable, loadOf, random);
        return { deployment: other, result: 'overloaded', reason: `prefix-affinity: ${matched} on ${name}, which is over its load bound; least-loaded ${other.server.name}` };
      }
      return { deployment: match.deployment, result: 'hit', reason: `prefix-affinity: ${matched} on ${name}` };
    }
    const ranked = byRendezvous(usable, blocks.anchor);
    const first = ranked[0] as Deployment;
    for (const deployment of ranked) {
      if (!withinBound(deployment, loadOf, bound)) continue;
      if (deployment === first) return { deployment, result: 'miss', reason: `prefix-affinity: new prefix (${total} blocks), placed on ${deployment.server.name} by hash` };
      return { deployment, result: 'overloaded', reason: `prefix-affinity: new prefix (${total} blocks), ${first.server.name} over its load bound; next by hash ${deployment.server.name}` };
    }
    const other = leastLoaded(usable, loadOf, random);
    return { deployment: other, result: 'overloaded', reason: `prefix-affinity: every deployment over its load bound; least-loaded ${other.server.name}` };
  }

  count(result: AffinityResult): void {
    this.#counted(result);
  }
}

/**
 * One request's affinity: decides among the usable deployments of a pick,
 * then remembers where the prompt went once a deployment is tried. Counted
 * once per request, for its first decision (a retry elsewhere is failover,
 * not a second routing decision).
 */
export class RequestAffinity {
  readonly #owner: PrefixAffinity;
  readonly #blocks: PromptBlocks;
  #last: AffinityDecision | null = null;
  #counted = false;

  constructor(owner: PrefixAffinity, blocks: PromptBlocks) {
    this.#owner = owner;
    this.#blocks = blocks;
  }

  choose(usable: readonly Deployment[], loadOf: LoadOf, random: () => number): Deployment {
    this.#last = this.#owner.decide(this.#blocks, usable, loadOf, random);
    return this.#last.deployment;
  }

  /** The request goes to `deployment`: its reason (null when affinity did not choose it) and the table updated. */
  sentTo(deployment: Deployment): string | null {
    const decision = this.#last !== null && this.#last.deployment === deployment ? this.#last : null;
    this.#last = null;
    if (!this.#counted) {
      this.#counted = true;
      this.#owner.count(decision?.result ?? 'none');
    }
    this.#owner.remember(this.#blocks.chain, deployment);
    return decision?.reason ?? null;
  }
}

function loadBound(usable: readonly Deployment[], loadOf: LoadOf, factor: number): number {
  let total = 0;
  for (const deployment of usable) total += loadOf(deployment);
  // Consistent hashing with bounded loads: counting this request, no deployment above factor × the mean.
  return Math.ceil((factor * (total + 1)) / usable.length);
}

function withinBound(deployment: Deployment, loadOf: LoadOf, bound: number): boolean {
  if (deployment.capacity !== null && deployment.state.inflight >= deployment.capacity) return false;
  return loadOf(deployment) + 1 <= bound;
}

// A deployment's name hash, kept until its server is renamed (the index patches `server` in place).
const nameHashes = new WeakMap<Deployment, { name: string; hash: number }>();

function deploymentHash(deployment: Deployment): number {
  const known = nameHashes.get(deployment);
  if (known !== undefined && known.name === deployment.server.name) return known.hash;
  const hash = nameHash(`${deployment.server.name}\u0000${deployment.model.modelId}`);
  nameHashes.set(deployment, { name: deployment.server.name, hash });
  return hash;
}

function byRendezvous(usable: readonly Deployment[], anchor: number): Deployment[] {
  const scored = usable.map((deployment) => ({ deployment, score: rendezvousScore(anchor, deploymentHash(deployment)) }));
  scored.sort((a, b) => b.score - a.score);
  return scored.map((entry) => entry.deployment);
}

function leastLoaded(usable: readonly Deployment[], loadOf: LoadOf, random: () => number): Deployment {
  let best: Deployment[] = [];
  let bestLoad = Number.POSITIVE_INFINITY;
  for (const deployment of usable) {
    const load = loadOf(deployment);
    if (load < bestLoad) {
      bestLoad = load;
      best = [deployment];
    } else if (load === bestLoad) best.push(deployment);
  }
  return best[Math.floor(random() * best.length)] as Deployment;
}
