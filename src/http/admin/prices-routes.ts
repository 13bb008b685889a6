import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { FleetOwnership } from '../../control/fleet/fleet-ownership.ts';
import type { Price, PriceBook } from '../../control/prices/price-book.ts';
import { actorOf } from '../plugins/authenticate.ts';
import { wildcardParams } from '../docs/wildcard-params.ts';

/** A wildcard route's name, for the published document. */
const ModelPath = wildcardParams('The model\'s name (`org/model`, `llama3:8b`), as it is or URL-encoded.');

/** The group these routes are listed under in the published API document (/docs). */
const tags = ['Prices'];

const PriceBody = Type.Object(
  { input_per_million: Type.Optional(Type.Number()), output_per_million: Type.Optional(Type.Number()), per_hour: Type.Optional(Type.Number()) },
  { additionalProperties: false },
);

/** `/api/v1/prices/{model}`: what each model costs, in the gateway's currency (the name is the rest of the path). */
export async function pricesRoutes(instance: FastifyInstance, dependencies: { prices: PriceBook; currency: string; ownership: FleetOwnership }): Promise<void> {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  const { prices, currency, ownership } = dependencies;
  const record = (price: Price) => ({
    model: price.model,
    currency,
    input_per_million: price.inputPerMillion,
    output_per_million: price.outputPerMillion,
    per_hour: price.perHour,
    managed_by: ownership.view(price),
    created_at: price.createdAt,
    updated_at: price.updatedAt,
  });
  const modelOf = (params: unknown) => (params as { '*': string })['*'];
  app.get('/prices', { schema: { tags, summary: 'List model prices' } }, async () => ({ currency, data: prices.list().map(record) }));
  app.get('/prices/*', { schema: { tags, params: ModelPath, summary: 'Get a model\'s price' } }, async (request) => record(prices.require(modelOf(request.params))));
  app.put('/prices/*', { schema: { tags, params: ModelPath, summary: 'Set a model\'s price', body: PriceBody } }, async (request, reply) => {
    const model = modelOf(request.params);
    const current = prices.get(model);
    if (current !== undefined) ownership.assertEditable(current, `Price of "${model}"`);
    const { price, created } = await prices.put(model, request.body, { actor: actorOf(request) });
    return reply.status(created ? 201 : 200).send(record(price));
  });
  app.delete('/prices/*', { schema: { tags, params: ModelPath, summary: 'Remove a model\'s price' } }, async (request, reply) => {
    const model = modelOf(request.params);
    ownership.assertEditable(prices.require(model), `Price of "${model}"`);
    await prices.remove(model, actorOf(request));
    return reply.status(204).send();
  });
}
