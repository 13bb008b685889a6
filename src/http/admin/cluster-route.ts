import type { FastifyInstance } from 'fastify';
import type { ClusterStatus } from '../../cluster/cluster-link.ts';

const tags = ['Health'];

/**
 * `GET /api/v1/cluster`: the replicas of this gateway (on one PostgreSQL
 * database and schema), which one probes the fleet, and whether this one
 * hears the others' changes. What the console's Cluster panel shows.
 */
export async function clusterRoute(app: FastifyInstance, dependencies: { status: () => ClusterStatus }): Promise<void> {
  app.get('/cluster', { schema: { tags, summary: 'The replicas of this gateway and which one probes the fleet', description: 'Replicas sharing one PostgreSQL database tell each other their changes (LISTEN/NOTIFY) and elect one health checker. On SQLite there is one replica. Needs the `read` scope.' } }, async () => dependencies.status());
}
