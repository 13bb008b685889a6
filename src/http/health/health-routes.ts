import type { FastifyInstance } from 'fastify';

/** Liveness and readiness for load balancers and orchestrators; no auth. */
export async function healthRoutes(app: FastifyInstance, dependencies: { isStorageReachable: () => Promise<boolean> }): Promise<void> {
  app.get('/health', async () => ({ status: 'ok' }));

  app.get('/ready', async (_request, reply) => {
    const storage = await dependencies.isStorageReachable();
    return reply.status(storage ? 200 : 503).send({ status: storage ? 'ready' : 'not_ready', checks: { storage: storage ? 'ok' : 'unreachable' } });
  });
}
