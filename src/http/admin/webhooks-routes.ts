import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { webhookEvents } from '../../control/webhooks/webhook-events.ts';
import type { WebhookService } from '../../control/webhooks/webhook-service.ts';
import { actorOf } from '../plugins/authenticate.ts';
import { HistoryQuery, limitOf } from './model-server-schemas.ts';

/** The group these routes are listed under in the published API document (/docs). */
const tags = ['Webhooks'];

const CreateWebhookBody = Type.Object(
  {
    url: Type.String({ minLength: 1, maxLength: 2048 }),
    events: Type.Array(Type.Enum([...webhookEvents, '*'] as const), { minItems: 1, maxItems: 10 }),
    secret: Type.String({ minLength: 16, maxLength: 512 }),
  },
  { additionalProperties: false },
);
const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) });

/** `/api/v1/webhooks`: signed fleet events, with a delivery log per subscription. */
export async function webhooksRoutes(instance: FastifyInstance, dependencies: { webhooks: WebhookService }): Promise<void> {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  const { webhooks } = dependencies;
  app.get('/webhooks', { schema: { tags, summary: 'List webhooks' } }, async () => ({ data: await webhooks.list() }));
  app.post('/webhooks', { schema: { tags, summary: 'Create a webhook (its signing secret is shown once)', body: CreateWebhookBody } }, async (request, reply) => reply.status(201).send(await webhooks.create(request.body, actorOf(request))));
  app.get('/webhooks/:id', { schema: { tags, summary: 'Get a webhook', params: IdParams } }, async (request) => webhooks.get(request.params.id));
  app.delete('/webhooks/:id', { schema: { tags, summary: 'Delete a webhook', params: IdParams } }, async (request, reply) => {
    await webhooks.remove(request.params.id, actorOf(request));
    return reply.status(204).send();
  });
  app.post('/webhooks/:id/test', { schema: { tags, summary: 'Send a test event to a webhook', params: IdParams } }, async (request) => webhooks.sendTest(request.params.id));
  app.get('/webhooks/:id/deliveries', { schema: { tags, summary: 'A webhook\'s delivery log', params: IdParams, querystring: HistoryQuery } }, async (request) => ({
    data: await webhooks.deliveries(request.params.id, limitOf(request.query, 50)),
  }));
}
