import type { FastifyInstance } from 'fastify';
import { Registry, collectDefaultMetrics } from 'prom-client';
import type { KeyRing } from '../../auth/key-ring.ts';
import { requireScope, type SessionLookup } from '../plugins/authenticate.ts';

/** The group these routes are listed under in the published API document (/docs). */
const tags = ['Health'];

/**
 * Prometheus `/metrics`. It says a lot about the fleet, so it needs a `read`
 * (or `admin`) key unless SWITCHYARD_METRICS_PUBLIC=true.
 */
export async function metricsRoute(app: FastifyInstance, dependencies: { keyRing: KeyRing; isPublic: boolean; registry: Registry; sessions: SessionLookup }): Promise<void> {
  app.get('/metrics', { schema: { tags, summary: 'Prometheus metrics' }, onRequest: dependencies.isPublic ? [] : [requireScope(dependencies.keyRing, () => 'read', dependencies.sessions)] }, async (_request, reply) => {
    reply.header('content-type', dependencies.registry.contentType);
    return dependencies.registry.metrics();
  });
}

export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}
