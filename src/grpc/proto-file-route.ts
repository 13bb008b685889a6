import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { modelServiceProtoPath } from './model-service-definition.ts';

/** Where the console and the README point gRPC users for the service definition. */
export const protoFileUrl = '/proto/gateway/model_service.proto';

/**
 * `GET /proto/gateway/model_service.proto`: the shipped service definition,
 * for clients that generate code from it (reflection serves the same). It
 * holds no secret, so it needs no key.
 */
export async function protoFileRoute(app: FastifyInstance): Promise<void> {
  const text = readFileSync(modelServiceProtoPath, 'utf8');
  app.get(protoFileUrl, { schema: { tags: ['gRPC'], summary: 'The gRPC service definition (gateway.ModelService)' } }, async (_request, reply) => reply.type('text/plain; charset=utf-8').send(text));
}
