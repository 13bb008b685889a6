import type { FastifyInstance } from 'fastify';
import { buildInventory } from '../../control/inventory/inventory.ts';
import type { ServerRegistry } from '../../control/servers/server-registry.ts';

/** The group these routes are listed under in the published API document (/docs). */
const tags = ['Model lifecycle'];

/** `GET /api/v1/inventory`: the model × server matrix (read scope). */
export async function inventoryRoutes(app: FastifyInstance, dependencies: { registry: ServerRegistry; isInactive?: (modelId: string) => boolean }): Promise<void> {
  app.get('/inventory', { schema: { tags, summary: 'Every model on every server, loaded or on disk' } }, async () => buildInventory(dependencies.registry, dependencies.isInactive));
}
