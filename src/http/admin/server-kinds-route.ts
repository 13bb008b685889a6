import type { FastifyInstance } from 'fastify';
import { serverKindModules } from '../../data/adapters/server-kinds.ts';

/** The group these routes are listed under in the published API document (/docs). */
const tags = ['Model servers'];

/**
 * `GET /api/v1/server-kinds`: the kinds this gateway speaks, with the
 * settings each takes, so the console and the CLI need no list of their own.
 */
export async function serverKindsRoute(app: FastifyInstance): Promise<void> {
  app.get('/server-kinds', { schema: { tags, summary: 'The kinds of model server Switchyard knows' } }, async () => ({
    data: serverKindModules().map((kind) => ({
      id: kind.id,
      label: kind.label,
      description: kind.description,
      detectable: kind.detection.length > 0,
      config_fields: kind.config?.fields ?? [],
    })),
  }));
}
