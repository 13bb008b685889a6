import type { Route } from '../../domain/route.ts';

export interface RouteResolution {
  status: 'resolved' | 'unresolved';
  /** Targets that name no model any registered server serves or is declared to serve. */
  unresolvedTargets: string[];
}

/**
 * Computed on every read, from the live model index: a route flips to
 * resolved as soon as a server with one of its models appears. A route is
 * unresolved while any target names an unknown model, so a typo shows even
 * when the other targets carry the traffic.
 */
export function resolveRoute(route: Route, isKnown: (model: string) => boolean): RouteResolution {
  const unresolvedTargets = [...new Set(route.targets.map((target) => target.model).filter((model) => !isKnown(model)))];
  return { status: unresolvedTargets.length === 0 ? 'resolved' : 'unresolved', unresolvedTargets };
}
