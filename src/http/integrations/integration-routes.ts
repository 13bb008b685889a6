import type { FastifyInstance } from 'fastify';
import type {} from '@fastify/swagger';
import { hasScope, type KeyRing } from '../../auth/key-ring.ts';
import { errors } from '../../errors/error-catalogue.ts';
import { presentedKey } from '../plugins/authenticate.ts';
import { integrationHealth, publicSummary, type IntegrationSources } from './integration-health.ts';

const tags = ['Health'];
const description =
  'Storage, Redis, the OTLP exporter, webhook delivery and every model server, each with its status and last error. 503 when storage (the one required integration) is down; `degraded` (200) when an optional one or a model server is not ok.';

/** `GET /api/v1/integration/health` (inside the admin API: a `read` key). */
export async function integrationHealthRoute(app: FastifyInstance, dependencies: { sources: IntegrationSources }): Promise<void> {
  app.get('/integration/health', { schema: { summary: 'Every integration\'s health', description: `${description} Needs the \`read\` scope.`, tags } }, async (_request, reply) => {
    const health = await integrationHealth(dependencies.sources);
    return reply.status(health.status === 'down' ? 503 : 200).send(health);
  });
}

/**
 * `GET /integrations/status`, for dashboards and load balancers that hold no
 * key: without one, each integration's kind and status and the model servers
 * counted by status (no names, errors or ids: they can describe the network);
 * with a `read` key, the whole answer of /api/v1/integration/health. A key
 * that is presented must be valid.
 */
export async function integrationStatusRoute(app: FastifyInstance, dependencies: { sources: IntegrationSources; keyRing: KeyRing }): Promise<void> {
  app.get('/integrations/status', { schema: { summary: 'Integration status (public summary, or detail with a key)', description: `${description} Open without a key (a summary); with a \`read\` key, the detail.`, tags } }, async (request, reply) => {
    const key = presentedKey(request);
    const principal = key === null ? null : dependencies.keyRing.authenticate(key);
    if (key !== null && principal === null) throw errors.unauthenticated();
    const health = await integrationHealth(dependencies.sources);
    reply.status(health.status === 'down' ? 503 : 200);
    return principal !== null && hasScope(principal, 'read') ? health : publicSummary(health);
  });
}
