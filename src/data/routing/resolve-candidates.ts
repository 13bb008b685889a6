import type { RoutingStrategy } from '../../config/config-schema.ts';
import type { Route } from '../../domain/route.ts';
import type { Deployment } from './deployment.ts';
import type { ModelIndex } from './model-index.ts';

/** What routing needs of the route registry (kept to an interface: data does not depend on control). */
export interface RouteLookup {
  byName(name: string): Route | undefined;
  list(): Route[];
}

/** Deployments tried together, under one strategy; a route's fallbacks are later groups. */
export interface CandidateGroup {
  model: string;
  deployments: readonly Deployment[];
  strategy: RoutingStrategy;
  weights: ReadonlyMap<string, { weight: number; tier: number }> | null;
  /** No route chose the strategy: the gateway's default applies (and may depend on the request). */
  defaulted: boolean;
}

export interface Resolution {
  route: string | null;
  groups: CandidateGroup[];
}

/**
 * The route's models (targets, then fallbacks) when none of them names a model
 * any server serves or declares: such a route can never answer, which is not
 * the same as its servers being down for now. Null otherwise, and for a
 * resolution that has any deployment at all (checked first: the usual case
 * costs nothing).
 */
export function unresolvableRoute(resolution: Resolution, routes: RouteLookup | null, index: ModelIndex): { name: string; targets: string[]; fallbacks: string[] } | null {
  if (resolution.route === null || resolution.groups.some((group) => group.deployments.length > 0)) return null;
  const route = routes?.byName(resolution.route);
  if (route === undefined) return null;
  const targets = [...new Set(route.targets.map((target) => target.model))];
  if ([...targets, ...route.fallbacks].some((model) => index.isKnown(model))) return null;
  return { name: route.name, targets, fallbacks: route.fallbacks };
}

/** A name resolves through a route (alias) when one exists, else straight to the model's deployments. */
export function resolveCandidates(name: string, index: ModelIndex, routes: RouteLookup | null, defaultStrategy: RoutingStrategy): Resolution | null {
  const route = routes?.byName(name);
  if (route === undefined) {
    const deployments = index.deploymentsOf(name);
    return deployments.length === 0 ? null : { route: null, groups: [{ model: name, deployments, strategy: defaultStrategy, weights: null, defaulted: true }] };
  }
  const weights = new Map<string, { weight: number; tier: number }>();
  const primary: Deployment[] = [];
  for (const target of route.targets) {
    for (const deployment of index.deploymentsOf(target.model)) {
      if (weights.has(deployment.key)) continue;
      weights.set(deployment.key, { weight: target.weight, tier: target.tier });
      primary.push(deployment);
    }
  }
  const strategy = route.strategy ?? defaultStrategy;
  const groups: CandidateGroup[] = [{ model: route.targets.map((target) => target.model).join('+'), deployments: primary, strategy, weights, defaulted: route.strategy === null }];
  for (const fallback of route.fallbacks) {
    groups.push({ model: fallback, deployments: index.deploymentsOf(fallback), strategy: defaultStrategy, weights: null, defaulted: true });
  }
  return { route: route.name, groups };
}
