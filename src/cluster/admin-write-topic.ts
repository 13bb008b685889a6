/**
 * Which cluster topic an admin write (`POST/PUT/PATCH/DELETE /api/v1/...`)
 * changed, from its route pattern: every way in (REST, the CLI, GraphQL and
 * gRPC, which call REST in process) passes here, so no write is missed.
 * Servers are not here: the server registry announces its own changes (they
 * also come from probes and the fleet file).
 */
export function adminWriteTopic(method: string, routePattern: string, params: unknown): { topic: string; id?: string } | null {
  if (method === 'GET' || method === 'HEAD' || method === 'OPTIONS') return null;
  if (!routePattern.startsWith('/api/v1/')) return null;
  const segments = routePattern.slice('/api/v1/'.length).split('/');
  const id = typeof (params as { id?: unknown } | null)?.id === 'string' ? ((params as { id: string }).id) : undefined;
  switch (segments[0]) {
    case 'keys':
      // A new key has no id in its path: reload them all (they are few).
      return id === undefined ? { topic: 'keys' } : { topic: 'keys', id };
    case 'routes':
      return { topic: 'routes' };
    case 'webhooks':
      return segments.at(-1) === 'test' ? null : { topic: 'webhooks' };
    case 'placements':
      return { topic: 'placements' };
    case 'cache-policies':
      return { topic: 'cache-policies' };
    case 'prices':
      return { topic: 'prices' };
    case 'collections':
      return { topic: 'collections' };
    case 'models': {
      const last = segments.at(-1);
      return last === 'activate' || last === 'deactivate' || last === 'thresholds' ? { topic: 'model-registry' } : null;
    }
    default:
      return null;
  }
}
