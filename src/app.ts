import Fastify, { LogController, type FastifyInstance, type FastifyBaseLogger, type FastifyReply, type FastifyRequest } from 'fastify';
import type { KeyRing } from './auth/key-ring.ts';
import type { ClientSettings, Config } from './config/config-schema.ts';
import type { HealthScheduler } from './control/health/health-scheduler.ts';
import type { ServerChecker } from './control/health/server-checker.ts';
import type { ServerRegistry } from './control/servers/server-registry.ts';
import { serverKindsRoute } from './http/admin/server-kinds-route.ts';
import { modelServersRoutes } from './http/admin/model-servers-routes.ts';
import { routesRoutes } from './http/admin/routes-routes.ts';
import { cachePoliciesRoutes } from './http/admin/cache-policies-routes.ts';
import type { CachePolicyRegistry } from './control/cache/cache-policy-registry.ts';
import type { ResponseCache } from './data/response-cache/response-cache.ts';
import { FleetOwnership } from './control/fleet/fleet-ownership.ts';
import type { RouteRegistry } from './control/routes/route-registry.ts';
import { keysRoutes } from './http/admin/keys-routes.ts';
import { auditRoutes } from './http/admin/audit-routes.ts';
import { metricsRoute } from './http/health/metrics-route.ts';
import type { KeyService } from './auth/key-service.ts';
import type { QuotaService } from './auth/quota/quota-service.ts';
import type { AuditStore } from './storage/audit-store.ts';
import type { Registry } from 'prom-client';
import { webhooksRoutes } from './http/admin/webhooks-routes.ts';
import type { WebhookService } from './control/webhooks/webhook-service.ts';
import { analyticsRoutes, modelReportAliases, type AnalyticsDependencies } from './http/admin/analytics-routes.ts';
import fastifyCookie from '@fastify/cookie';
import fastifyWebsocket from '@fastify/websocket';
import { sessionRoutes } from './http/admin/session-routes.ts';
import { eventsRoute } from './http/admin/events-route.ts';
import { consoleRoutes } from './http/ui/console-routes.ts';
import type { SessionStore } from './auth/session-store.ts';
import { healthRoutes } from './http/health/health-routes.ts';
import { openAIRoutes } from './http/openai/openai-routes.ts';
import { InferenceFrontDoor } from './http/dialects/front-door.ts';
import { ollamaRoutes } from './http/ollama/ollama-routes.ts';
import { apiDocsRoutes, apiDocumentOptions } from './http/docs/api-docs.ts';
import fastifySwagger from '@fastify/swagger';
import { packageVersion } from './cli/package-version.ts';
import { anthropicRoutes } from './http/anthropic/anthropic-routes.ts';
import { intelligentRoutes } from './http/openai/intelligent-routes.ts';
import { modelStatusRoutes } from './http/model-status/model-status-routes.ts';
import { integrationHealthRoute, integrationStatusRoute } from './http/integrations/integration-routes.ts';
import type { IntegrationSources } from './http/integrations/integration-health.ts';
import { responsesRoutes } from './http/responses/responses-routes.ts';
import type { ResponseStore } from './storage/response-store.ts';
import type { ModelServer } from './domain/model-server.ts';
import type { InferenceProxy } from './data/proxy/inference-proxy.ts';
import type { EmbeddingPipeline } from './data/embeddings/create-embedding-service.ts';
import type { ModelIndex } from './data/routing/model-index.ts';
import { adminScopeFor, requireScope } from './http/plugins/authenticate.ts';
import { clientErrorHandler, frameworkErrorHandler, registerErrorHandler } from './http/plugins/error-handler.ts';
import { errors } from './errors/error-catalogue.ts';
import { registerJsonBodyParser } from './http/plugins/json-body-parser.ts';
import { requestIdFor } from './http/plugins/request-id.ts';
import type { HistoryStore } from './storage/history-store.ts';
import { limitConnections } from './http/plugins/connection-limits.ts';
import { registerRequestLog } from './http/plugins/request-log.ts';
import type { CollectionsHttp } from './collections/create-collections.ts';
import type { OperationRunner } from './control/operations/operation.ts';
import type { ModelLifecycleActions } from './control/operations/model-lifecycle.ts';
import { operationsRoutes } from './http/admin/operations-routes.ts';
import { inventoryRoutes } from './http/admin/inventory-routes.ts';
import { placementsRoutes } from './http/admin/placements-routes.ts';
import { pricesRoutes } from './http/admin/prices-routes.ts';
import type { PriceBook } from './control/prices/price-book.ts';
import { modelRegistryRoutes, type ModelRegistryHttp } from './http/admin/model-registry-routes.ts';
import type { PlacementRegistry } from './control/placements/placement-registry.ts';
import type { PlacementReconciler } from './control/placements/placement-reconciler.ts';
import { modelLifecycleRoutes } from './http/admin/model-lifecycle-routes.ts';
import { hubRoutes } from './http/admin/hub-routes.ts';
import { graphqlRoutes } from './http/graphql/graphql-plugin.ts';
import { InternalRest, isInjected, watchHangUp } from './http/internal/internal-rest.ts';
import { websocketRoutes } from './http/websocket/websocket-routes.ts';
import { protoFileRoute } from './grpc/proto-file-route.ts';
import { liveMetricsRoute } from './http/admin/live-metrics-route.ts';
import { queuesRoute, type QueuesDependencies } from './http/admin/queues-route.ts';
import { clusterRoute } from './http/admin/cluster-route.ts';
import type { ClusterLink } from './cluster/cluster-link.ts';
import { adminWriteTopic } from './cluster/admin-write-topic.ts';
import type { LiveMetrics } from './observability/live-metrics.ts';
import type { HubService } from './control/hub/hub-service.ts';

declare module 'fastify' {
  interface FastifyInstance {
    routeTable: Array<{ method: string; url: string }>;
  }
}

export interface AppServices {
  config: Config;
  log: FastifyBaseLogger;
  keyRing: KeyRing;
  registry: ServerRegistry;
  checker: ServerChecker;
  scheduler: HealthScheduler;
  history: HistoryStore;
  isStorageReachable: () => Promise<boolean>;
  /** True once a shutdown has begun. */
  isDraining: () => boolean;
  proxy: InferenceProxy;
  index: ModelIndex;
  routes: RouteRegistry;
  keys: KeyService;
  quota: QuotaService;
  audit: AuditStore;
  metrics: Registry;
  webhooks: WebhookService;
  analytics: AnalyticsDependencies;
  sessions: SessionStore;
  /** The response cache and its policies (absent: every answer says `x-switchyard-cache: bypass`). */
  caching?: { policies: CachePolicyRegistry; cache: ResponseCache; canEmbed: (model: string) => boolean };
  /** The embedding pipeline behind /v1/embeddings and hedged /v1/rerank (without it they are forwarded as they are). */
  embeddings?: EmbeddingPipeline;
  /** Vector collections and per-model vectors (their own scopes); absent in apps built without them. */
  collections?: CollectionsHttp;
  /** Long-running fleet work and the lifecycle actions that start it; absent in apps built without them. */
  operations?: OperationRunner;
  lifecycle?: ModelLifecycleActions;
  placements?: { placements: PlacementRegistry; reconciler: PlacementReconciler };
  modelRegistry?: ModelRegistryHttp;
  prices?: PriceBook;
  /** The Hugging Face Hub: search, repository info and downloads into the cache. */
  hub?: HubService;
  /** Stored Responses API answers (`previous_response_id`); without it /v1/responses is not served. */
  responses?: ResponseStore;
  /** An Ollama server's own /api/show for a model (Ollama's /api/show passes it on); absent, it is built from the index. */
  ollamaShow?: (server: ModelServer, modelId: string, signal: AbortSignal) => Promise<Record<string, unknown> | null>;
  /** The last minute of traffic, for the live feeds (SSE, GraphQL, WebSocket). */
  live: LiveMetrics;
  /** The admission queues (absent: none, every model unlimited). */
  queues?: QueuesDependencies;
  /** The other replicas: told of every admin write, and shown at /api/v1/cluster (absent: a lone gateway, as in unit tests). */
  cluster?: ClusterLink;
  /** What /api/v1/integration/health and /integrations/status report; absent in apps built without them. */
  integrations?: IntegrationSources;
}

/** The largest WebSocket message accepted (a bigger one closes the socket with 1009). */
export const websocketMaxPayloadBytes = 1024 * 1024;

/** Assembles the HTTP app from its plugins. Does no I/O: services arrive ready. */
export function buildApp(services: AppServices): FastifyInstance {
  const ownership = new FleetOwnership(services.config.config_file ?? null);
  const app = Fastify({
    loggerInstance: services.log,
    genReqId: requestIdFor,
    // Replaced by one summary line per request (request-log.ts); SWITCHYARD_LOG_REQUESTS brings Fastify's back.
    logController: new LogController({ disableRequestLogging: !services.config.log_requests }),
    bodyLimit: services.config.admin_body_limit_bytes,
    // Unknown fields are errors, not silently dropped: a typo must not pass for a setting.
    // No type coercion: "" must not quietly become null, nor "1" become true.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: true, allErrors: false } },
    // Answered by the closing hook below instead, in the catalogue's shape (Fastify's own 503 body is not).
    return503OnClosing: false,
    frameworkErrors: frameworkErrorHandler(services.config.admin_body_limit_bytes),
    clientErrorHandler,
    // Node's default 16 KiB header cap would answer an oversized key with a bare 431;
    // 96 KiB lets every bad key reach the one 401 (anything larger still gets 431).
    http: { maxHeaderSize: 96 * 1024, ...clientTimeouts(services.config.client) },
    requestTimeout: services.config.client.request_timeout_ms,
    keepAliveTimeout: services.config.client.keep_alive_timeout_ms,
    // No socket inactivity timeout: a long non-streaming generation sends nothing until it is done.
    connectionTimeout: 0,
    // On close, only idle connections are closed: streams in flight get the
    // shutdown grace period to finish (see close-gracefully.ts).
    forceCloseConnections: 'idle',
  });
  limitConnections(app.server, { maxConnections: services.config.client.max_connections, maxConnectionsPerAddress: services.config.client.max_connections_per_address }, services.metrics);
  app.decorateRequest('principal', null);
  // Every route as registered, so a test can check authentication on each one.
  const routeTable: Array<{ method: string; url: string }> = [];
  app.decorate('routeTable', routeTable);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routeTable.push({ method, url: route.url });
  });
  let isClosing = false;
  app.addHook('preClose', async () => {
    isClosing = true;
  });
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    if (isClosing) throw errors.shuttingDown();
    // GraphQL, WebSocket and gRPC calls made in-process can be hung up before their answer starts.
    if (isInjected(request)) watchHangUp(request, reply);
  });
  // First, so it sees every route registered after it.
  app.register(fastifySwagger, apiDocumentOptions(packageVersion()));
  registerErrorHandler(app, services.config.admin_body_limit_bytes);
  registerRequestLog(app);
  registerJsonBodyParser(app);
  app.register(fastifyCookie);
  const cluster = services.cluster;
  // After an admin write's answer: the change is committed by then, and the caller does not wait for the
  // other replicas. Only on the admin scopes: inference requests never run it.
  const announceWrites =
    cluster === undefined
      ? null
      : (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
          if (reply.statusCode < 400) {
            const changed = adminWriteTopic(request.method, request.routeOptions.url ?? '', request.params);
            if (changed !== null) cluster.announce(changed.topic, changed.id);
          }
          done();
        };

  app.register(apiDocsRoutes);
  app.register(protoFileRoute);
  app.register(healthRoutes, { isStorageReachable: services.isStorageReachable, isDraining: services.isDraining });
  app.register(metricsRoute, { keyRing: services.keyRing, isPublic: services.config.metrics_public, registry: services.metrics, sessions: services.sessions });
  app.register(consoleRoutes);
  // Signing in to the console happens before any key is known.
  app.register(sessionRoutes, { prefix: '/api/v1', keyRing: services.keyRing, sessions: services.sessions });
  app.register(
    async (admin) => {
      // onRequest: a caller without a valid key learns nothing, not even whether its body was valid.
      admin.addHook('onRequest', requireScope(services.keyRing, adminScopeFor, services.sessions));
      if (announceWrites !== null) admin.addHook('onResponse', announceWrites);
      await admin.register(modelServersRoutes, { ...services, ownership });
      await admin.register(serverKindsRoute);
      await admin.register(routesRoutes, { routes: services.routes, index: services.index, ownership });
      if (services.caching !== undefined) await admin.register(cachePoliciesRoutes, { ...services.caching, ownership });
      await admin.register(keysRoutes, { keys: services.keys });
      await admin.register(auditRoutes, { audit: services.audit });
      await admin.register(webhooksRoutes, { webhooks: services.webhooks });
      await admin.register(analyticsRoutes, services.analytics);
      await admin.register(eventsRoute, { registry: services.registry, ownership });
      await admin.register(liveMetricsRoute, { live: services.live });
      if (services.queues !== undefined) await admin.register(queuesRoute, services.queues);
      if (cluster !== undefined) await admin.register(clusterRoute, { status: () => cluster.status() });
      const activation = services.modelRegistry?.activation;
      await admin.register(inventoryRoutes, { registry: services.registry, ...(activation === undefined ? {} : { isInactive: (id: string) => activation.isInactive(id) }) });
      if (services.prices !== undefined) await admin.register(pricesRoutes, { prices: services.prices, currency: services.config.currency, ownership });
      if (services.modelRegistry !== undefined) await admin.register(modelRegistryRoutes, { ...services.modelRegistry, ownership });
      if (services.placements !== undefined) await admin.register(placementsRoutes, { ...services.placements, registry: services.registry, ownership });
      if (services.operations !== undefined) await admin.register(operationsRoutes, { operations: services.operations });
      if (services.lifecycle !== undefined) await admin.register(modelLifecycleRoutes, { lifecycle: services.lifecycle });
      if (services.hub !== undefined) await admin.register(hubRoutes, { hub: services.hub });
      if (services.integrations !== undefined) await admin.register(integrationHealthRoute, { sources: services.integrations });
    },
    { prefix: '/api/v1' },
  );
  // Every client API goes through this one door to the engine (docs/decisions/0024).
  const frontDoor = new InferenceFrontDoor({
    proxy: services.proxy,
    index: services.index,
    quota: services.quota,
    defaultCompletionTokens: services.config.quota.default_completion_tokens,
    responseCache: services.caching?.cache ?? null,
    ...(services.embeddings === undefined ? {} : { embeddings: services.embeddings }),
  });
  const collections = services.collections;
  if (collections !== undefined) {
    app.register(async (scope) => {
      if (announceWrites !== null) scope.addHook('onResponse', announceWrites);
      await scope.register(collections, { prefix: '/api/v1', keyRing: services.keyRing, sessions: services.sessions, ownership });
    });
  }
  app.register(modelReportAliases, { prefix: '/v1', ...services.analytics, keyRing: services.keyRing, sessions: services.sessions });
  app.register(modelStatusRoutes, { prefix: '/api/v1', frontDoor, index: services.index, usage: services.analytics.usage, keyRing: services.keyRing, sessions: services.sessions, bodyLimit: services.config.inference_body_limit_bytes, fleet: services.registry, ...(services.prices === undefined ? {} : { costOf: (model: string | null, prompt: number, completion: number, latencyMs: number) => (services.prices as PriceBook).costOf(model, prompt, completion, latencyMs) }) });
  if (services.integrations !== undefined) app.register(integrationStatusRoute, { sources: services.integrations, keyRing: services.keyRing });
  const rest = new InternalRest(app);
  app.register(async (realtime) => {
    // One WebSocket server for /ws/* and GraphQL subscriptions (mercurius reuses it when registered first).
    // Registered in this context only: its per-request hooks run on these routes, not on every /v1 request.
    await realtime.register(fastifyWebsocket, { options: { maxPayload: websocketMaxPayloadBytes } });
    await realtime.register(graphqlRoutes, { rest });
    await realtime.register(websocketRoutes, { rest, keyRing: services.keyRing, sessions: services.sessions, settings: services.config.websocket });
  });
  app.register(ollamaRoutes, {
    prefix: '/api',
    frontDoor,
    listing: { index: services.index, routes: services.routes, loadOf: (serverId: string) => services.registry.loadOf(serverId), ...(services.ollamaShow === undefined ? {} : { showFromServer: services.ollamaShow }) },
    keyRing: services.keyRing,
    sessions: services.sessions,
    bodyLimit: services.config.inference_body_limit_bytes,
    ...(services.lifecycle === undefined ? {} : { lifecycle: services.lifecycle }),
    ...(services.operations === undefined ? {} : { operations: services.operations }),
  });
  app.register(
    async (inference) => {
      inference.addHook('onRequest', requireScope(services.keyRing, () => 'inference', services.sessions));
      await inference.register(openAIRoutes, { frontDoor, index: services.index, routes: services.routes, bodyLimit: services.config.inference_body_limit_bytes });
      await inference.register(intelligentRoutes, { frontDoor, index: services.index, bodyLimit: services.config.inference_body_limit_bytes });
      await inference.register(anthropicRoutes, { frontDoor, index: services.index, routes: services.routes, bodyLimit: services.config.inference_body_limit_bytes });
      if (services.responses !== undefined) await inference.register(responsesRoutes, { frontDoor, index: services.index, routes: services.routes, responses: services.responses, bodyLimit: services.config.inference_body_limit_bytes });
    },
    { prefix: '/v1' },
  );
  return app;
}

/**
 * Node's own client timeouts. They end once a request has been read, so a long
 * streamed answer is never cut. Node checks them on an interval (30 s by
 * default, which would let a silent socket live 30 s past its limit).
 */
function clientTimeouts(client: ClientSettings): { headersTimeout: number; requestTimeout: number; connectionsCheckingInterval: number } {
  // Node refuses a head timeout longer than the whole-request one.
  const headersTimeout = Math.min(client.headers_timeout_ms, client.request_timeout_ms);
  return { headersTimeout, requestTimeout: client.request_timeout_ms, connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(headersTimeout / 4))) };
}
