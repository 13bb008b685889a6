import type { RoutingStrategy } from '../../config/config-schema.ts';
import type { Deployment } from './deployment.ts';
import { isModelHeld } from '../../domain/model-server.ts';
import type { RequestAffinity } from './prefix-affinity.ts';

// A model that is not loaded (Ollama would load it first, seconds) counts as this many queued requests.
const coldLoadPenalty = 4;

/** Is it below its capacity (always, when the capacity is unknown)? */
export function hasRoom(deployment: Deployment): boolean {
  return deployment.capacity === null || deployment.state.inflight < deployment.capacity;
}

/** Can this deployment take traffic at all? */
export function isRoutable(deployment: Deployment, now: number): boolean {
  const server = deployment.server;
  if (!server.isActive || server.healthStatus === 'offline' || server.statusReason === 'misconfigured') return false;
  // Held by live traffic (an embedding of the wrong dimension) until the next health check.
  if (isModelHeld(deployment.model)) return false;
  return deployment.state.cooldownUntil <= now;
}

export interface PickOptions {
  strategy: RoutingStrategy;
  now: number;
  /** Keys already tried by this request: a retry goes elsewhere when it can. */
  exclude: ReadonlySet<string>;
  /** When every candidate was tried, may one be tried again? (No when a fallback group is next.) */
  allowRepeat?: boolean;
  /** Route weights and tiers by deployment key. */
  weights?: ReadonlyMap<string, { weight: number; tier: number }> | null;
  random?: () => number;
  /** Only a deployment whose circuit lets traffic through (none rather than an open circuit: a fallback may be next). */
  admittedOnly?: boolean;
  /** The request's prompt prefix, for `prefix-affinity` (without it, that strategy picks the least loaded). */
  affinity?: RequestAffinity | null;
}

/**
 * Chooses one deployment. Open circuits and cooling-down or unhealthy servers
 * are skipped; when that leaves nothing, the least-bad open circuit is still
 * tried rather than failing a model whose every deployment looks sick (never
 * eject the last one).
 */
export function pickDeployment(candidates: readonly Deployment[], options: PickOptions): Deployment | null {
  const random = options.random ?? Math.random;
  if (options.strategy === 'least-inflight' && options.exclude.size === 0 && candidates.length > sampleAbove) {
    const sampled = choose(randomWindow(candidates, random), options, random, true);
    if (sampled !== null) return sampled;
  }
  // A first attempt excludes nothing: skip the copy.
  const fresh = options.exclude.size === 0 ? candidates : candidates.filter((deployment) => !options.exclude.has(deployment.key));
  const pool = fresh.length > 0 || options.allowRepeat === false ? fresh : candidates;
  return choose(pool, options, random, options.admittedOnly === true);
}

// A model on hundreds of servers: least-inflight compares a random window of
// `sampleSize` of them (the power of choices that Envoy's least_request uses),
// which spreads load about as well, and a decision costs the same at 200
// deployments as at 8 (each one read is a few cache misses). A window with
// nothing admissible falls back to looking at all of them.
const sampleAbove = 32;
const sampleSize = 8;

function randomWindow(candidates: readonly Deployment[], random: () => number): Deployment[] {
  const start = Math.floor(random() * candidates.length);
  const window: Deployment[] = [];
  for (let offset = 0; offset < sampleSize; offset++) window.push(candidates[(start + offset) % candidates.length] as Deployment);
  return window;
}

function choose(pool: readonly Deployment[], options: PickOptions, random: () => number, onlyAdmitted: boolean): Deployment | null {
  const routable: Deployment[] = [];
  const admitted: Deployment[] = [];
  for (const deployment of pool) {
    if (!isRoutable(deployment, options.now)) continue;
    routable.push(deployment);
    if (deployment.state.breaker.canPass(options.now)) admitted.push(deployment);
  }
  if (onlyAdmitted && admitted.length === 0) return null;
  let usable = withRoomFirst(admitted.length > 0 ? admitted : routable);
  if (usable.length === 0) return null;
  const weights = options.weights ?? null;
  if (options.strategy === 'priority' && weights !== null) {
    // Tier 2 only when tier 1 has nothing usable, and so on.
    const best = Math.min(...usable.map((deployment) => weights.get(deployment.key)?.tier ?? 1));
    usable = usable.filter((deployment) => (weights.get(deployment.key)?.tier ?? 1) === best);
  }
  // Asked even with one choice left, so the request's reason says why its prefix's deployment was not it.
  if (options.strategy === 'prefix-affinity' && options.affinity != null) return options.affinity.choose(usable, loadScore, random);
  if (usable.length === 1) return usable[0] as Deployment;
  switch (options.strategy) {
    case 'round-robin':
      return roundRobin(usable);
    case 'latency':
      return lowest(usable, (deployment) => deployment.state.ttfbEwmaMs ?? 0, random);
    case 'weighted':
      return weightedChoice(usable, (deployment) => weights?.get(deployment.key)?.weight ?? 1, random);
    case 'priority':
    case 'prefix-affinity':
    case 'least-inflight':
      return lowest(usable, loadScore, random);
  }
}

/**
 * Those below their capacity, when some are and some are not: admission keeps
 * a model's requests within the sum of its deployments' capacities, and this
 * keeps each deployment within its own (a small server beside a big one would
 * otherwise be filled past its slots by least-inflight's raw counts).
 */
function withRoomFirst(usable: Deployment[]): Deployment[] {
  let full = 0;
  for (const deployment of usable) if (!hasRoom(deployment)) full++;
  return full === 0 || full === usable.length ? usable : usable.filter(hasRoom);
}

function weightedChoice(deployments: readonly Deployment[], weightOf: (deployment: Deployment) => number, random: () => number): Deployment {
  const total = deployments.reduce((sum, deployment) => sum + weightOf(deployment), 0);
  let point = random() * total;
  for (const deployment of deployments) {
    point -= weightOf(deployment);
    if (point < 0) return deployment;
  }
  return deployments[deployments.length - 1] as Deployment;
}

/** In-flight through us, plus the server's own queue, plus a penalty for a cold model. */
export function loadScore(deployment: Deployment): number {
  return deployment.state.inflight + deployment.reportedQueue + (deployment.model.status === 'loaded' ? 0 : coldLoadPenalty);
}

function lowest(deployments: readonly Deployment[], score: (deployment: Deployment) => number, random: () => number): Deployment {
  let best: Deployment[] = [];
  let bestScore = Number.POSITIVE_INFINITY;
  for (const deployment of deployments) {
    const value = score(deployment);
    if (value < bestScore) {
      bestScore = value;
      best = [deployment];
    } else if (value === bestScore) {
      best.push(deployment);
    }
  }
  // Ties are broken at random so equal servers share the load.
  return best[Math.floor(random() * best.length)] as Deployment;
}

let counter = 0;
function roundRobin(deployments: readonly Deployment[]): Deployment {
  counter = (counter + 1) % 1_000_000_007;
  return deployments[counter % deployments.length] as Deployment;
}
