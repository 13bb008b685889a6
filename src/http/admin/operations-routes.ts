import { openEventStream } from '../plugins/event-stream.ts';
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { OperationRunner, OperationView } from '../../control/operations/operation.ts';
import { errors } from '../../errors/error-catalogue.ts';
import { actorOf } from '../plugins/authenticate.ts';

/** The group these routes are listed under in the published API document (/docs). */
const tags = ['Model lifecycle'];

const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) });
const ListQuery = Type.Object(
  {
    status: Type.Optional(Type.Union([Type.Literal('running'), Type.Literal('succeeded'), Type.Literal('failed'), Type.Literal('cancelled')])),
    kind: Type.Optional(Type.Union(['pull', 'delete', 'copy', 'load', 'unload', 'hub_download'].map((kind) => Type.Literal(kind)))),
    limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,3}$' })),
  },
  { additionalProperties: false },
);

/**
 * `/api/v1/operations`: long-running fleet work (docs/decisions/0018), listed,
 * read, watched as Server-Sent Events, and cancelled.
 */
export async function operationsRoutes(parent: FastifyInstance, dependencies: { operations: OperationRunner }): Promise<void> {
  const app = parent.withTypeProvider<TypeBoxTypeProvider>();
  const { operations } = dependencies;

  app.get('/operations', { schema: { tags, summary: 'List fleet operations (pulls, deletes, loads …)', querystring: ListQuery } }, async (request) => {
    const limit = request.query.limit === undefined ? 50 : Number(request.query.limit);
    if (limit < 1 || limit > 500) throw errors.invalidRequest('limit must be between 1 and 500.', 'limit');
    const { status, kind } = request.query;
    return { data: await operations.list({ limit, ...(status === undefined ? {} : { status }), ...(kind === undefined ? {} : { kind: kind as OperationView['kind'] }) }) };
  });

  app.get('/operations/:id', { schema: { tags, summary: 'Get an operation with each server\'s progress', params: IdParams } }, async (request) => {
    const view = await operations.get(request.params.id);
    if (view === null) throw errors.notFound(`Operation ${request.params.id}`);
    return view;
  });

  app.delete('/operations/:id', { schema: { tags, summary: 'Cancel an operation', params: IdParams } }, async (request) => {
    const view = await operations.cancel(request.params.id, actorOf(request));
    if (view === null) throw errors.notFound(`Operation ${request.params.id}`);
    return view;
  });

  // The current state first, then every change; the stream ends with the final state.
  app.get('/operations/:id/events', { schema: { tags, summary: 'An operation\'s progress as a live SSE stream', params: IdParams } }, async (request, reply) => {
    const current = await operations.get(request.params.id);
    if (current === null) throw errors.notFound(`Operation ${request.params.id}`);
    const stream = openEventStream(request, reply);
    if (stream === null) return;
    const send = (view: OperationView) => {
      stream.send('operation', view);
      if (view.status !== 'running') stream.end();
    };
    stream.onClose(operations.subscribe(current.id, send));
    // Read again after subscribing: an operation that ended in between is sent as it ended.
    send((await operations.get(current.id)) ?? current);
  });
}
