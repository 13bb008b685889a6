import type { FastifyInstance } from 'fastify';
import type { FleetEvent } from '../../control/servers/server-events.ts';
import type { ServerRegistry } from '../../control/servers/server-registry.ts';
import type { FleetOwnership } from '../../control/fleet/fleet-ownership.ts';
import { toServerRecord } from './server-record.ts';

/** The group these routes are listed under in the published API document (/docs). */
const tags = ['Model servers'];

const heartbeatMs = 15_000;

/**
 * `GET /api/v1/events`: fleet changes as Server-Sent Events, so the console's
 * cards change colour as servers come and go, without polling or reloading.
 */
export async function eventsRoute(app: FastifyInstance, dependencies: { registry: ServerRegistry; ownership: FleetOwnership }): Promise<void> {
  const { registry, ownership } = dependencies;
  app.get('/events', { schema: { tags, summary: 'Fleet events as a live SSE stream' } }, async (request, reply) => {
    reply.hijack();
    const response = reply.raw;
    response.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no', 'x-request-id': request.id });
    // HEAD gets the headers and nothing more (Node sends them only at end() for HEAD).
    if (request.method === 'HEAD') return void response.end();
    response.write(': connected\n\n');
    const send = (event: FleetEvent) => {
      if (event.type === 'server.deleted') {
        response.write(`event: server.deleted\ndata: ${JSON.stringify({ id: event.server.id })}\n\n`);
        return;
      }
      const server = registry.get(event.server.id);
      if (server === undefined) return;
      response.write(`event: server\ndata: ${JSON.stringify({ type: event.type, server: toServerRecord(server, registry.modelsOf(server.id).length, registry.loadOf(server.id) ?? null, ownership) })}\n\n`);
    };
    const unsubscribe = registry.onEvent(send);
    const heartbeat = setInterval(() => response.write(': heartbeat\n\n'), heartbeatMs);
    heartbeat.unref();
    response.on('close', () => {
      clearInterval(heartbeat);
      unsubscribe();
    });
  });
}
