import type { ModelIndex } from '../../data/routing/model-index.ts';
import type { RouteLookup } from '../../data/routing/resolve-candidates.ts';
import type { Deployment } from '../../data/routing/deployment.ts';

/** Every deployment a request for `name` may reach: the model's, or a route's targets and fallbacks'. */
export function reachableDeployments(index: ModelIndex, routes: RouteLookup | null, name: string): Deployment[] {
  const route = routes?.byName(name);
  const models = route === undefined ? [name] : [...route.targets.map((target) => target.model), ...route.fallbacks];
  return models.flatMap((model) => [...index.deploymentsOf(model)]);
}
