import type { FastifyInstance, FastifySchema } from 'fastify';
import type { FastifyDynamicSwaggerOptions } from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';

/** Paths anyone may call: health, the docs themselves, and the integration summary (a key adds detail). */
const openPaths = new Set(['/health', '/ready', '/integrations/status', '/openapi.json']);

/** The group each path is listed under, by prefix (first match); a route's own `tags` win. */
const tagsByPrefix: ReadonlyArray<readonly [prefix: string, tag: string]> = [
  ['/v1/models/registry', 'Analytics'],
  ['/v1/models/performance', 'Analytics'],
  ['/v1/models/benchmark', 'Analytics'],
  ['/v1/', 'OpenAI-compatible API'],
  ['/api/v1/model-servers', 'Model servers'],
  ['/api/v1/server-kinds', 'Model servers'],
  ['/api/v1/events', 'Model servers'],
  ['/api/v1/routes', 'Routes'],
  ['/api/v1/cache-policies', 'Caching'],
  ['/api/v1/keys', 'Keys'],
  ['/api/v1/audit', 'Audit log'],
  ['/api/v1/webhooks', 'Webhooks'],
  ['/api/v1/analytics', 'Analytics'],
  ['/api/v1/models/performance', 'Analytics'],
  ['/api/v1/models/registry', 'Analytics'],
  ['/api/v1/models/:model/benchmark', 'Analytics'],
  ['/api/v1/models/:model/versions', 'Model registry'],
  ['/api/v1/models/:model/thresholds', 'Model registry'],
  ['/api/v1/models/:model/activate', 'Model registry'],
  ['/api/v1/models/:model/deactivate', 'Model registry'],
  ['/api/v1/models/*', 'Vectors'],
  ['/api/v1/models', 'Model lifecycle'],
  ['/api/v1/inventory', 'Model lifecycle'],
  ['/api/v1/operations', 'Model lifecycle'],
  ['/api/v1/placements', 'Placements'],
  ['/api/v1/prices', 'Prices'],
  ['/api/v1/hub', 'Hugging Face Hub'],
  ['/api/v1/collections', 'Vectors'],
  ['/api/v1/session', 'Console session'],
  ['/api/v1/integration', 'Health'],
  ['/', 'Health'],
];

/**
 * The key scope a route needs, as the auth hooks decide it (test/integration/route-auth.test.ts
 * checks the hooks; api-docs.test.ts checks this agrees on every route).
 */
export function scopeFor(method: string, url: string): string {
  if (openPaths.has(url)) return 'none';
  if (url === '/api/v1/session') return 'none (signs in with a key)';
  if (url === '/metrics') return 'read (none when SWITCHYARD_METRICS_PUBLIC is set)';
  if (url === '/api/v1/models/status' || url === '/api/v1/models/:model/status') return 'read or inference';
  if (url === '/api/v1/models/:model/generate') return 'inference';
  if (['/v1/models/registry', '/v1/models/performance', '/v1/models/benchmark'].includes(url)) return method === 'GET' ? 'read' : 'admin';
  if (url.startsWith('/v1/')) return 'inference';
  if (url.startsWith('/api/') && !url.startsWith('/api/v1/')) return ['/api/pull', '/api/delete', '/api/copy'].includes(url) ? 'admin' : 'inference';
  if (url === '/api/v1/models/*') return method === 'GET' ? 'inference' : 'admin or vectors:write';
  if (url.startsWith('/api/v1/collections')) return method === 'GET' ? 'read or inference' : 'admin or vectors:write';
  return method === 'GET' ? 'read' : 'admin';
}

function tagFor(url: string): string {
  for (const [prefix, tag] of tagsByPrefix) if (url.startsWith(prefix)) return tag;
  return 'Health';
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
          'A self-hosted LLM gateway: one endpoint over a fleet of model servers. Inference APIs (OpenAI at /v1, Ollama at /api, Anthropic Messages at /v1/messages, OpenAI Responses at /v1/responses) and the admin API at /api/v1. Every route but the open ones needs a Switchyard key: `Authorization: Bearer`, `x-api-key` or `api-key`, or the console\'s session cookie; `x-switchyard-scope` says which scope.',
      },
      components: {
        securitySchemes: {
          bearerKey: { type: 'http', scheme: 'bearer', description: 'A Switchyard key (sk-sy-…).' },
          apiKeyHeader: { type: 'apiKey', in: 'header', name: 'x-api-key', description: 'A Switchyard key, as the Anthropic SDKs send it (`api-key` works too).' },
          sessionCookie: { type: 'apiKey', in: 'cookie', name: 'sy_session', description: 'The console\'s session, made by POST /api/v1/session.' },
        },
      },
      security: [{ bearerKey: [] }, { apiKeyHeader: [] }, { sessionCookie: [] }],
    },
    transform: ({ schema, url, route }) => {
      const method = [route.method].flat()[0] ?? 'GET';
      const own = (schema ?? {}) as FastifySchema & Record<string, unknown>;
      const scope = scopeFor(method, url);
      const documented: Record<string, unknown> = { ...own, tags: own['tags'] ?? [tagFor(url)], 'x-switchyard-scope': scope };
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
    uiConfig: { validatorUrl: null, deepLinking: true, docExpansion: 'list', defaultModelsExpandDepth: 0 },
    staticCSP: true,
  });
}
