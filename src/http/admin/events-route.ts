import type { FastifyInstance } from 'fastify';
import type { FleetEvent } from '../../control/servers/server-events.ts';
import type { ServerRegistry } from '../../control/servers/server-registry.ts';
import type { FleetOwnership } from '../../control/fleet/fleet-ownership.ts';
import { toServerRecord } from './server-record.ts';
import { openEventStream } from '../plugins/event-stream.ts';

/** The group these routes are listed under in the published API document (/docs). */
const tags = ['Model servers'];

/**
 * `GET /api/v1/events`: fleet changes as Server-Sent Events, so the console's
 * cards change colour as servers come and go, without polling or reloading.
 */
export async function eventsRoute(app: FastifyInstance, dependencies: { registry: ServerRegistry; ownership: FleetOwnership }): Promise<void> {
  const { registry, ownership } = dependencies;
  app.get('/events', { schema: { tags, summary: 'Fleet events as a live SSE stream' } }, async (request, reply) => {
    const stream = openEventStream(request, reply);
    if (stream === null) return;
    const send = (event: FleetEvent) => {
      if (event.type === 'server.deleted') {
        stream.send('server.deleted', { id: event.server.id });
        return;
      }
      const server = registry.get(event.server.id);
      if (server === undefined) return;
      stream.send('server', { type: event.type, server: toServerRecord(server, registry.modelsOf(server.id).length, registry.loadOf(server.id) ?? null, ownership) });
    };
    stream.onClose(registry.onEvent(send));
  });
}
