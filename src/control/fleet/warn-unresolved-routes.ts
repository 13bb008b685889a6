import type { FastifyBaseLogger } from 'fastify';
import type { FleetFile } from '../../config/fleet-file.ts';
import type { RouteRegistry } from '../routes/route-registry.ts';
import { resolveRoute } from '../routes/route-resolution.ts';
import type { ServerRegistry } from '../servers/server-registry.ts';

/**
 * Logs one warning per fleet-file route with a target that names no known
 * model. It waits until every active server the file names has had its first
 * health check: until then a fresh fleet knows no models at all and every
 * route would look unresolved. Returns a function that stops waiting.
 */
export function warnUnresolvedRoutes(options: {
  fleet: FleetFile;
  registry: ServerRegistry;
  routes: RouteRegistry;
  isKnown: (model: string) => boolean;
  log: FastifyBaseLogger;
}): () => void {
  const { fleet, registry, routes, isKnown, log } = options;
  const warn = () => {
    for (const entry of fleet.routes) {
      const route = routes.byName(entry.name);
      if (route === undefined) continue;
      const { status, unresolvedTargets } = resolveRoute(route, isKnown);
      if (status === 'resolved') continue;
      // Only a route none of whose models is known answers 404 (unresolvableRoute); the others serve from what is.
      const serves = [...route.targets.map((target) => target.model), ...route.fallbacks].some(isKnown);
      const consequence = serves ? 'its other models carry its requests meanwhile' : 'requests for the route answer 404 until a server has one';
      log.warn(
        { route: route.name, unresolved_targets: unresolvedTargets },
        `fleet file: route "${route.name}" targets ${unresolvedTargets.join(', ')}, which no registered server serves or lists in its models; ${consequence}`,
      );
    }
  };
  const pending = new Set(
    fleet.servers
      .map((entry) => registry.getByName(entry.name))
      .filter((server) => server !== undefined && server.isActive)
      .map((server) => server?.id as string),
  );
  if (fleet.routes.length === 0) return () => undefined;
  if (pending.size === 0) {
    warn();
    return () => undefined;
  }
  const unsubscribe = registry.onEvent((event) => {
    if (event.type !== 'server.checked' && event.type !== 'server.deleted') return;
    pending.delete(event.server.id);
    if (pending.size > 0) return;
    unsubscribe();
    warn();
  });
  return unsubscribe;
}
