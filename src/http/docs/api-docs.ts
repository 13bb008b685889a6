import type { FastifyInstance, FastifySchema } from 'fastify';
import type { FastifyDynamicSwaggerOptions } from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { TSchema } from 'typebox';

declare module 'fastify' {
  interface FastifySchema {
    /**
     * A body its handler checks itself (so that a 400 names the exact item at
     * fault): shown in the published document as the request body, but not
     * validated by Fastify. Prefer `body` wherever Fastify's check will do.
     */
    documentedBody?: TSchema;
  }
}

/** Paths anyone may call: health, the docs themselves, and the integration summary (a key adds detail). */
const openPaths = new Set(['/health', '/ready', '/integrations/status', '/openapi.json', '/proto/gateway/model_service.proto']);

/**
 * The groups of the document, in the order /docs lists them. Every route names
 * its group in its own schema (`tags`); api-docs.test.ts fails on a route
 * without one, or with a group not declared here.
 */
export const apiTags: ReadonlyArray<{ name: string; description: string }> = [
  { name: 'OpenAI-compatible API', description: 'OpenAI Chat Completions, completions, embeddings, rerank and models at /v1, over every server of the fleet.' },
  { name: 'OpenAI Responses API', description: 'OpenAI\'s Responses API, stored responses and `previous_response_id`.' },
  { name: 'Anthropic Messages API', description: 'Anthropic\'s Messages API for its SDKs (`x-api-key`, `anthropic-version`).' },
  { name: 'Ollama-compatible API', description: 'Ollama\'s own API at /api, over every model of the fleet.' },
  { name: 'GraphQL', description: 'Queries, mutations and subscriptions at /graphql over the same services and scopes as REST.' },
  { name: 'WebSocket', description: 'Chat, model status and live figures over WebSocket at /ws, with the same keys and scopes as REST.' },
  { name: 'gRPC', description: 'gateway.ModelService is served over HTTP/2 on this same port (with server reflection); its definition is here.' },
  { name: 'Model REST API', description: 'Simple per-model status and generation, for scripts and curl.' },
  { name: 'Health', description: 'Liveness, readiness, metrics, the state of each integration and the replicas of this gateway.' },
  { name: 'Console session', description: 'Signing in to the console with a key.' },
  { name: 'Model servers', description: 'The fleet: servers, their kinds, health, load and events.' },
  { name: 'Routes', description: 'Model aliases and how requests are spread over deployments.' },
  { name: 'Model lifecycle', description: 'Pulling, copying, loading, unloading and deleting models on servers; the inventory and long-running operations.' },
  { name: 'Model registry', description: 'Model versions, thresholds and activation.' },
  { name: 'Placements', description: 'Where each model should be loaded.' },
  { name: 'Hugging Face Hub', description: 'Searching the Hub and downloading into the model cache.' },
  { name: 'Keys', description: 'Switchyard keys: scopes, model allow-lists and limits.' },
  { name: 'Caching', description: 'Response-cache policies per model.' },
  { name: 'Prices', description: 'Per-model prices for cost reports.' },
  { name: 'Analytics', description: 'Usage, performance, the model registry report and benchmarks.' },
  { name: 'Vectors', description: 'Vector collections and per-model vector storage and search.' },
  { name: 'Webhooks', description: 'Event deliveries to other systems.' },
  { name: 'Audit log', description: 'Every change, who made it and when.' },
];

/**
 * The key scope a route needs, as the auth hooks decide it (test/integration/route-auth.test.ts
 * checks the hooks; api-docs.test.ts checks this agrees on every route).
 */
export function scopeFor(method: string, url: string): string {
  if (openPaths.has(url)) return 'none';
  if (url === '/api/v1/session') return 'none (signs in with a key)';
  if (url === '/ws/chat') return 'inference';
  if (url === '/ws/models') return 'read or inference';
  if (url === '/ws/metrics') return 'read';
  if (url === '/graphql') return 'per field: the scope of the REST route each field reads (named in the schema)';
  if (url === '/metrics') return 'read (none when SWITCHYARD_METRICS_PUBLIC is set)';
  if (url === '/api/v1/models/status' || url === '/api/v1/models/status/events' || url === '/api/v1/models/:model/status') return 'read or inference';
  if (url === '/api/v1/models/:model/generate') return 'inference';
  if (['/v1/models/registry', '/v1/models/performance', '/v1/models/benchmark'].includes(url)) return method === 'GET' ? 'read' : 'admin';
  if (url.startsWith('/v1/')) return 'inference';
  if (url.startsWith('/api/') && !url.startsWith('/api/v1/')) return ['/api/pull', '/api/delete', '/api/copy'].includes(url) ? 'admin' : 'inference';
  // The vector and collection routes take their own scopes (src/collections/create-collections.ts); admin holds them all.
  if (url === '/api/v1/models/*') return method === 'GET' ? 'inference' : method === 'POST' ? 'inference (vectors/search) or vectors:write (store, delete)' : 'vectors:write';
  if (url.startsWith('/api/v1/collections')) return method === 'GET' ? 'read or vectors:write' : 'vectors:write';
  return method === 'GET' ? 'read' : 'admin';
}

/**
 * The OpenAPI 3.1 document, generated from every route's schema (its body,
 * params and query, summary and description), with the ways to authenticate
 * and each route's scope (`x-switchyard-scope`). @fastify/swagger is registered
 * with these at the root, before any route, so it sees them all.
 */
export function apiDocumentOptions(version: string): FastifyDynamicSwaggerOptions {
  return {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Switchyard',
        version,
        description:
          'A self-hosted LLM gateway: one endpoint over a fleet of model servers. Inference APIs (OpenAI at /v1, Ollama at /api, Anthropic Messages at /v1/messages, OpenAI Responses at /v1/responses) and the admin API at /api/v1. Every route but the open ones needs a Switchyard key: `Authorization: Bearer`, `x-api-key` or `api-key`, or the console\'s session cookie; `x-switchyard-scope` says which scope (an `admin` key holds every scope).',
      },
      components: {
        securitySchemes: {
          bearerKey: { type: 'http', scheme: 'bearer', description: 'A Switchyard key (sk-sy-…).' },
          apiKeyHeader: { type: 'apiKey', in: 'header', name: 'x-api-key', description: 'A Switchyard key, as the Anthropic SDKs send it (`api-key` works too).' },
          sessionCookie: { type: 'apiKey', in: 'cookie', name: 'sy_session', description: 'The console\'s session, made by POST /api/v1/session.' },
        },
      },
      security: [{ bearerKey: [] }, { apiKeyHeader: [] }, { sessionCookie: [] }],
      tags: [...apiTags],
    },
    transform: ({ schema, url, route }) => {
      const method = [route.method].flat()[0] ?? 'GET';
      const own = (schema ?? {}) as FastifySchema & Record<string, unknown>;
      const scope = scopeFor(method, url);
      const { documentedBody, ...rest } = own;
      const documented: Record<string, unknown> = { ...rest, 'x-switchyard-scope': scope };
      if (documentedBody !== undefined && rest.body === undefined) documented['body'] = documentedBody;
      if (scope.startsWith('none')) documented['security'] = [];
      return { schema: documented as FastifySchema, url };
    },
  };
}

/** `GET /openapi.json` and the docs page at `/docs`, served from the package: nothing is fetched from the internet. */
export async function apiDocsRoutes(app: FastifyInstance): Promise<void> {
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  await app.register(fastifySwaggerUi, {
    routePrefix: '/docs',
    // No validator badge: it would send the document to validator.swagger.io.
    uiConfig: { validatorUrl: null, deepLinking: true, docExpansion: 'list', defaultModelsExpandDepth: 0, showExtensions: true },
    staticCSP: true,
  });
}
