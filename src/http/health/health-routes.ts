import type { FastifyInstance } from 'fastify';

/** The group these routes are listed under in the published API document (/docs). */
const tags = ['Health'];

/** Liveness and readiness for load balancers and orchestrators; no auth. */
export async function healthRoutes(app: FastifyInstance, dependencies: { isStorageReachable: () => Promise<boolean>; isDraining: () => boolean }): Promise<void> {
  // Liveness: the process serves. Storage and Redis being away must not get it restarted.
  app.get('/health', { schema: { tags, summary: 'Liveness: the process serves' } }, async () => ({ status: 'ok' }));

  // Readiness: 503 while shutting down (at once, so load balancers stop sending)
  // and while storage is unreachable (admin writes fail then; inference does not).
  app.get('/ready', { schema: { tags, summary: 'Readiness: 503 while draining or while storage is unreachable' } }, async (_request, reply) => {
    if (dependencies.isDraining()) return reply.status(503).send({ status: 'draining', checks: { shutdown: 'draining' } });
    const storage = await dependencies.isStorageReachable();
    return reply.status(storage ? 200 : 503).send({ status: storage ? 'ready' : 'not_ready', checks: { storage: storage ? 'ok' : 'unreachable' } });
  });
}
