import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApp } from './app.ts';
import { bootstrapKeys, type BootstrapResult } from './auth/bootstrap-admin-key.ts';
import { KeyRing } from './auth/key-ring.ts';
import type { LoadedConfig } from './config/load-config.ts';
import { detectServerKind } from './control/discovery/detect-server-kind.ts';
import { discoverLocalOllama } from './control/discovery/local-ollama.ts';
import { applyFleet, type FleetApplyReport } from './control/fleet/apply-fleet.ts';
import { canEmbedWith, createResponseCache, loadCachePolicies } from './data/response-cache/create-response-cache.ts';
import { warnUnresolvedRoutes } from './control/fleet/warn-unresolved-routes.ts';
import { HealthScheduler } from './control/health/health-scheduler.ts';
import { ServerChecker } from './control/health/server-checker.ts';
import { ServerRegistry, type KindDetector } from './control/servers/server-registry.ts';
import { UpstreamHttp } from './data/upstream/upstream-http.ts';
import { Agent } from 'undici';
import { InferenceProxy } from './data/proxy/inference-proxy.ts';
import { createEmbeddingPipeline } from './data/embeddings/create-embedding-service.ts';
import type { Embedder } from './data/embeddings/embedder.ts';
import { ModelIndex } from './data/routing/model-index.ts';
import { RouteRegistry } from './control/routes/route-registry.ts';
import { RouteStore } from './storage/route-store.ts';
import { AuditStore } from './storage/audit-store.ts';
import { KeyService } from './auth/key-service.ts';
import { QuotaService } from './auth/quota/quota-service.ts';
import { MemoryQuota } from './auth/quota/memory-quota.ts';
import { RedisQuota } from './auth/quota/redis-quota.ts';
import { createMetricsRegistry } from './http/health/metrics-route.ts';
import { NetworkPolicy } from './security/network-policy.ts';
import { guardedConnector } from './security/guarded-connector.ts';
import { assertUrlTargetAllowed } from './security/check-url-target.ts';
import { WebhookDispatcher } from './control/webhooks/webhook-dispatcher.ts';
import { WebhookService } from './control/webhooks/webhook-service.ts';
import { announceFleetEvent } from './control/webhooks/announce-fleet-event.ts';
import { WebhookStore } from './storage/webhook-store.ts';
import { GatewayMetrics, serverMetricsListener } from './observability/gateway-metrics.ts';
import { UsageRecorder } from './observability/usage-recorder.ts';
import { UsageMaintenance } from './observability/usage-maintenance.ts';
import { UsageSpool } from './observability/usage-spool.ts';
import { SqliteUsageWriter } from './storage/sqlite-usage/usage-writer.ts';
import { ResponseStore } from './storage/response-store.ts';
import { showFromOllama } from './data/adapters/ollama/ollama-show.ts';
import { CacheMetrics } from './observability/cache-metrics.ts';
import { lifecycleMetrics } from './observability/lifecycle-metrics.ts';
import { prefixCacheMetrics } from './observability/prefix-cache-metrics.ts';
import { ModelBenchmarker } from './control/analytics/model-benchmark.ts';
import { OpenTelemetryTracer } from './observability/tracing.ts';
import { SessionStore } from './auth/session-store.ts';
import { usageQueueMetrics } from './observability/usage-metrics.ts';
import { closeGracefully } from './http/close-gracefully.ts';
import { assertPortFree, toPortError } from './http/assert-port-free.ts';
import { withinTime } from './lib/within-time.ts';
import { errors } from './errors/error-catalogue.ts';
import { createLogger } from './observability/logger.ts';
import { loadMasterKey, type MasterKeySource } from './security/master-key.ts';
import { SecretBox } from './security/secret-box.ts';
import { assertSameSecretKey } from './security/secret-key-check.ts';
import { describeRedisTarget, parseRedisUrl, type RedisTarget } from './storage/redis-connection.ts';
import { ApiKeyStore } from './storage/api-key-store.ts';
import { HistoryStore } from './storage/history-store.ts';
import { describePostgresUrl, type Database } from './storage/open-database.ts';
import { openDatabaseWhenReachable } from './storage/open-database-when-reachable.ts';
import { listenWhileStarting, type StartingListener } from './http/starting/starting-listener.ts';
import { ServerStore } from './storage/server-store.ts';
import { createCollections, type Collections } from './collections/create-collections.ts';
import { createFleetModels } from './control/lifecycle/create-fleet-models.ts';
import { ModelNeeds } from './control/operations/model-needs.ts';
import { HubService } from './control/hub/hub-service.ts';
import type { OperationService } from './control/operations/operation-service.ts';
import type { ModelLifecycleActions } from './control/operations/model-lifecycle.ts';
import { PlacementRegistry } from './control/placements/placement-registry.ts';
import { PlacementReconciler } from './control/placements/placement-reconciler.ts';
import { ModelActivation } from './control/model-registry/model-activation.ts';
import { VersionTracker } from './control/model-registry/version-tracker.ts';
import { VersionFigures } from './control/model-registry/version-figures.ts';
import { ModelThresholds } from './control/model-registry/model-thresholds.ts';
import { PriceBook } from './control/prices/price-book.ts';
import { applyFleetPrices } from './control/prices/apply-fleet-prices.ts';
import { Counter } from 'prom-client';
import { LiveMetrics } from './observability/live-metrics.ts';
import { ModelAdmission } from './data/admission/model-admission.ts';
import { parseQueueWeights } from './data/admission/fair-queue.ts';
import { queueMetrics } from './observability/queue-metrics.ts';
import { affinityMetrics } from './observability/affinity-metrics.ts';
import { PrefixAffinity } from './data/routing/prefix-affinity.ts';
import { startGrpcGateway, type GrpcGateway } from './grpc/grpc-server.ts';
import { ClusterLink } from './cluster/cluster-link.ts';
import { packageVersion } from './cli/package-version.ts';

export interface Gateway {
  app: FastifyInstance;
  registry: ServerRegistry;
  scheduler: HealthScheduler;
  database: Database;
  usage: UsageRecorder;
  /** Rollup backfill and usage retention (decision 0029). */
  usageMaintenance: UsageMaintenance;
  /** The data plane (internal calls: the vector store, caches, tests). */
  proxy: InferenceProxy;
  /** Texts to vectors through the data plane, with the embedding cache (the vector store's and semantic cache's Embedder). */
  embedder: Embedder;
  /** `llm_cache_requests_total{cache, result}`, for every cache. */
  cacheMetrics: CacheMetrics;
  /** Vector collections and per-model vectors. */
  collections: Collections;
  /** Long-running fleet work (pulls, deletes, loads, Hub downloads), watched and kept 7 days. */
  operations: OperationService;
  /** Pull/delete/copy/load/unload on many servers at once, each an operation. */
  lifecycle: ModelLifecycleActions;
  /** What still needs a model (routes, placements) before its last copy is deleted. */
  modelNeeds: ModelNeeds;
  /** The Hugging Face Hub: search, repository info, downloads into SWITCHYARD_HF_CACHE. */
  hub: HubService;
  /** Placements and the reconciler that keeps them true. */
  placements: { registry: PlacementRegistry; reconciler: PlacementReconciler };
  /** Model versions, thresholds and activation. */
  models: { versions: VersionTracker; figures: VersionFigures; thresholds: ModelThresholds; activation: ModelActivation };
  /** gRPC (gateway.ModelService) on the gateway's port, and on grpc_port when set. */
  grpc: GrpcGateway;
  keys: BootstrapResult;
  masterKey: Omit<MasterKeySource, 'key'>;
  fleetReport: FleetApplyReport | null;
  /** The other replicas on the same PostgreSQL (decision 0033); a single replica on SQLite. */
  cluster: ClusterLink;
  /** Where it listens, e.g. http://127.0.0.1:8000 */
  url: string;
  /** True from the moment a shutdown starts: /ready answers 503. */
  isDraining(): boolean;
  /** Drains (see closeGracefully), then stops everything, each step bounded in time. */
  close(): Promise<void>;
}

export interface StartOptions {
  /** Log destination (tests capture it); stdout by default. */
  logDestination?: NodeJS.WritableStream;
  /** PostgreSQL schema (tests isolate themselves). */
  postgresSchema?: string;
  /** Skip the health scheduler's timer (tests drive checks by hand). */
  startScheduler?: boolean;
  /** The clock rate-limit windows follow (epoch ms); tests inject one. */
  clock?: () => number;
}

/** Opens storage, loads the fleet, starts health checks and listens. */
export async function startGateway(loaded: LoadedConfig, options: StartOptions = {}): Promise<Gateway> {
  const { config } = loaded;
  // Before storage is opened: a taken port must leave nothing written behind it.
  await assertPortFree(config.host, config.port);
  if (config.grpc_port !== undefined) await assertPortFree(config.host, config.grpc_port, 'grpc_port');
  const log: Logger = createLogger({ level: config.log_level, format: config.log_format }, options.logDestination);
  // A PostgreSQL that cannot be reached yet is waited for, with the port answering "starting" (decision 0034).
  const starting: { listener: StartingListener | null } = { listener: null };
  const database = await openDatabaseWhenReachable(
    {
      dataDir: config.data_dir,
      databaseUrl: config.database_url,
      ...(options.postgresSchema === undefined ? {} : { postgresSchema: options.postgresSchema }),
      holdStartupLock: true,
      onConnectionError: (error) => log.warn({ err: error.message }, 'a database connection failed; storage writes wait until it is back'),
      onLaterSchema: (migrations) => log.warn({ migrations }, 'the database was migrated by a later release of Switchyard: running on its schema without migrating (migrations only add, so this release still works on it)'),
    },
    {
      onUnreachable: async () => {
        starting.listener = await listenWhileStarting(config.host, config.port, 'unreachable');
      },
      onRetry: (error, attempt, delayMs) =>
        log.warn(
          { database: describePostgresUrl(config.database_url ?? ''), err: error.message, attempt, retryInMs: delayMs, url: `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${starting.listener?.port ?? config.port}` },
          'waiting for the database before starting: /health answers 200 and /ready 503 until it is reachable',
        ),
    },
  ).catch(async (error: unknown) => {
    await starting.listener?.close();
    throw error;
  });
  try {
    const metricsRegistry = createMetricsRegistry();
    // Replicas on one PostgreSQL: shared changes, one health checker, shared circuits (decision 0033).
    const cluster = new ClusterLink({ postgres: database.postgres, db: database.db, log, version: packageVersion(), metrics: metricsRegistry });
    const { key, ...masterKey } = loadMasterKey(config.secret_key, config.data_dir);
    const secretBox = new SecretBox(key);
    await assertSameSecretKey(database.db, secretBox.hashKey);
    const keyRing = new KeyRing(secretBox.hashKey);
    const keyStore = new ApiKeyStore(database.db);
    const keys = await bootstrapKeys(keyStore, keyRing, config.admin_key);

    const policy = new NetworkPolicy({ allowNets: config.allow_nets, denyNets: config.deny_nets });
    const http = new UpstreamHttp({ connector: guardedConnector(policy, { timeout: config.health.timeout_ms }) });
    const detectKind: KindDetector = async (baseUrl, apiKey) => {
      try {
        const found = await detectServerKind({ baseUrl, apiKey, http, timeoutMs: config.health.timeout_ms });
        return { kind: found.kind, detection: { requested: 'auto', detected_by: found.detected_by, flavor: found.flavor, version: found.version } };
      } catch (error) {
        throw errors.detectionFailed(error instanceof Error ? error.message : 'no answer', error);
      }
    };
    const registry = new ServerRegistry({
      store: new ServerStore(database.db),
      secretBox,
      detectKind,
      defaultIntervalS: config.health.interval_s,
      checkUrl: (url) => assertUrlTargetAllowed(url, policy, 'base_url'),
    });
    await registry.load();
    const webhookAgent = new Agent({ connect: guardedConnector(policy, { timeout: config.webhook_timeout_ms }), connections: 16 });
    const webhookStore = new WebhookStore(database.db);
    const webhookDispatcher = new WebhookDispatcher({
      store: webhookStore,
      secretBox,
      dispatcher: webhookAgent,
      log,
      retryBaseMs: config.webhook_retry_base_ms,
      timeoutMs: config.webhook_timeout_ms,
      maxAttempts: config.webhook_max_attempts,
    });
    await webhookDispatcher.load();
    await webhookDispatcher.resume();
    // Once per change, by the replica that made it (or ran the probe): the others catch up silently.
    registry.onEvent((event) => {
      if (event.remote !== true) announceFleetEvent(event, webhookDispatcher);
    });
    const webhooks = new WebhookService({
      store: webhookStore,
      secretBox,
      dispatcher: webhookDispatcher,
      checkUrl: (url) => assertUrlTargetAllowed(url, policy, 'url'),
    });
    const routes = new RouteRegistry(new RouteStore(database.db));
    await routes.load();
    const history = new HistoryStore(database.db);
    const checker = new ServerChecker({ registry, http, settings: config.health, log });
    const scheduler = new HealthScheduler({ registry, checker, history, settings: config.health, log, isChecker: () => cluster.isChecker() });

    const models = await createFleetModels({ config, fleet: loaded.fleet, db: database.db, registry, routes, scheduler, http, webhooks: webhookDispatcher, log, isChecker: () => cluster.isChecker(), replicas: { id: cluster.replicaId, liveIds: () => cluster.liveReplicaIds(), announce: (topic, id) => cluster.announce(topic, id), isChecker: () => cluster.isChecker() }, announce: (topic) => cluster.announce(topic) });
    const { operations: operationService, lifecycle, modelNeeds, hub, placements, reconciler, activation, versions, figures, thresholds, usageStore } = models;

    const cachePolicies = await loadCachePolicies(database.db);
    const fleetReport = loaded.fleet === null ? null : await applyFleet(loaded.fleet, registry, routes, log, cachePolicies);
    if (config.discover_local_ollama) await discoverLocalOllama(config.local_ollama_url, registry, http, log);

    const metrics = new GatewayMetrics(metricsRegistry, {
      deployments: () => index.allDeployments(),
      budgets: async () => {
        const budgeted = keyRing.principals().filter((principal) => principal.budgetTokens !== null && principal.budgetTokens > 0);
        // A key whose counter cannot be read (Redis down) is left out rather than shown as unused.
        const ratios = await Promise.all(
          budgeted.map(async (principal) => {
            const used = await quota.usedTokens(principal.keyId);
            return used === null ? null : { keyId: principal.keyId, usedRatio: used / (principal.budgetTokens as number) };
          }),
        );
        return ratios.filter((entry) => entry !== null);
      },
    });
    const cacheMetrics = new CacheMetrics(metricsRegistry);
    const modelLoads = lifecycleMetrics(registry, metricsRegistry);
    // An offline server's last figures describe a server that no longer answers.
    prefixCacheMetrics(metricsRegistry, () => registry.list().filter((server) => server.healthStatus !== 'offline').map((server) => ({ name: server.name, hitRatio: registry.loadOf(server.id)?.prefixCacheHitRatio ?? null })));
    registry.onEvent(modelLoads.listener);
    const serverMetrics = serverMetricsListener(metrics);
    registry.onEvent(serverMetrics);
    // Servers loaded from storage show their last known status before their first probe.
    for (const server of registry.list()) serverMetrics({ type: 'server.created', server });
    const prices = new PriceBook(database.db);
    await prices.load();
    if (loaded.fleet !== null) await applyFleetPrices(loaded.fleet, prices, config.config_file ?? 'fleet file');
    const costTotal = new Counter({ name: 'llm_cost_total', help: `What requests cost at the models' prices, in ${config.currency}.`, labelNames: ['model'], registers: [metricsRegistry] });
    // SQLite usage writes run on a thread of their own: a flush never holds the event loop (decision 0035).
    const usageWriter = database.sqlite === null ? null : new SqliteUsageWriter({ file: database.sqlite.name });
    usageWriter?.start();
    const usage: UsageRecorder = new UsageRecorder({
      costOf: (outcome) => {
        const cost = prices.costOf(outcome.servedModel, outcome.promptTokens, outcome.completionTokens, outcome.latencyMs);
        if (cost !== null && cost > 0) {
          costTotal.inc({ model: outcome.servedModel ?? 'unknown' }, cost);
          if (outcome.keyId !== null) quota.spend(outcome.keyId, cost);
        }
        return cost;
      },
      db: database.db,
      sqlite: database.sqlite,
      writer: usageWriter === null ? null : (rows) => usageWriter.write(rows),
      log,
      flushMs: config.usage_flush_ms,
      maxQueued: config.usage_queue_max,
      onDropped: (count) => usageMetrics.dropped.inc(count),
      spool: new UsageSpool({ directory: resolve(config.usage_spool_dir ?? join(config.data_dir, 'usage-spool')), log, maxBytes: config.usage_spool_max_mb * 1024 * 1024 }),
    });
    // Rollup backfill and retention, in small batches off the flush path; the health checker runs them (decisions 0029, 0033).
    const usageMaintenance = new UsageMaintenance({ db: database.db, dialect: database.dialect, sqlite: database.sqlite, log, retentionDays: config.usage_retention_days, rollupRetentionDays: config.rollup_retention_days, mayRun: () => cluster.isChecker() });
    usageStore.setRollupsComplete(() => usageMaintenance.rollupsComplete);
    const usageMetrics = usageQueueMetrics(metricsRegistry, () => usage.queued, () => usage.spooled);
    const redisQuota = config.redis_url === undefined ? null : new RedisQuota(config.redis_url);
    const quota = new QuotaService({
      backend: redisQuota ?? new MemoryQuota(),
      store: keyStore,
      log,
      onBudgetExceeded: (principal) => webhookDispatcher.emit('key.budget_exceeded', { key_id: principal.keyId, name: principal.name, budget_tokens: principal.budgetTokens, budget_cost: principal.budgetCost, currency: config.currency }),
      currency: config.currency,
      onBackendError: config.quota.on_backend_error,
      metrics: metricsRegistry,
      ...(options.clock === undefined ? {} : { clock: options.clock }),
    });
    await quota.seed((await keyStore.listAll()).map((row) => ({ keyId: row.id, usedTokens: Number(row.used_tokens), usedCost: Number(row.used_cost ?? 0) })));
    const keyService = new KeyService(keyStore, keyRing, quota);
    const index = new ModelIndex(registry, { threshold: config.upstream.breaker_failure_threshold, cooldownMs: config.upstream.breaker_cooldown_ms }, (server, modelId) => {
      log.warn({ server: server.name, model: modelId }, 'circuit opened');
      webhookDispatcher.emit('circuit.opened', { server_id: server.id, server: server.name, model: modelId });
      cluster.share('circuit', server.id, modelId, config.upstream.breaker_cooldown_ms);
    });
    // Subscribed after the index, so the index has seen a check before this reads it.
    const stopRouteWarning = loaded.fleet === null ? () => undefined : warnUnresolvedRoutes({ fleet: loaded.fleet, registry, routes, isKnown: (model) => index.isKnown(model), log });
    // The data plane has its own pool: long streams must not starve health probes, nor the reverse.
    const dataPlane = new Agent({ connect: guardedConnector(policy, { timeout: config.upstream.connect_timeout_ms }), keepAliveTimeout: 30_000, connections: 256, pipelining: 1 });
    const tracer = config.otel_endpoint === undefined ? null : new OpenTelemetryTracer({ endpoint: config.otel_endpoint, serviceName: config.otel_service_name, batchDelayMs: config.otel_batch_delay_ms });
    // A request answered by a model the last probe saw on disk only (not loaded) made the server load it.
    const noteColdStart = (serverId: string, modelId: string) => {
      const deployment = index.deploymentsOf(modelId).find((candidate) => candidate.server.id === serverId);
      if (deployment !== undefined && deployment.model.status === 'available') modelLoads.coldStart(deployment.server, modelId);
    };
    const live = new LiveMetrics({ inFlight: () => inFlightOf(index) });
    // Requests wait here, per model, once every deployment is at capacity (its max_concurrency, or what the server reports).
    const admission: ModelAdmission = new ModelAdmission(
      { maxLength: config.queue.max_length, maxWaitMs: config.queue.max_wait_ms, weights: parseQueueWeights(config.queue.weights) },
      queueMetrics(metricsRegistry, () => admission.depths()),
    );
    // Where each prompt prefix was sent, for the prefix-affinity strategy (per route, or the default).
    const prefixAffinity: PrefixAffinity = new PrefixAffinity(
      { blockChars: config.prefix_affinity.block_chars, maxBlocks: config.prefix_affinity.max_blocks, loadFactor: config.prefix_affinity.load_factor, tableEntries: config.prefix_affinity.table_entries },
      affinityMetrics(metricsRegistry, () => prefixAffinity.size),
    );
    const proxy = new InferenceProxy({
      tracer,
      prefixAffinity,
      activation,
      index,
      settings: config.upstream,
      ...(config.routing_strategy === undefined ? {} : { strategy: config.routing_strategy }),
      dispatcher: dataPlane,
      log,
      routes,
      admission,
      observer: (outcome) => {
        metrics.observe(outcome);
        live.observe(outcome);
        usage.record(outcome);
        if (outcome.serverId !== null && outcome.servedModel !== null && outcome.status < 400) noteColdStart(outcome.serverId, outcome.servedModel);
      },
      onCooldown: (serverId, modelId, ms) => cluster.share('cooldown', serverId, modelId, ms),
      onRejectedKey: (serverId, status) => {
        const message = `The server rejected the stored API key (HTTP ${status}) on a live request. Check the server's api_key.`;
        registry.markMisconfigured(serverId, message).then((marked) => {
          // The same line a probe would write for this change (server-checker.ts), once.
          if (marked !== null) log.warn({ server: marked.name, server_id: marked.id, to: marked.healthStatus, status_reason: 'misconfigured', reason: message }, 'model server status changed');
        }, (error: unknown) => {
          log.warn({ err: error instanceof Error ? error.message : 'unknown' }, 'could not record a misconfigured server');
        });
      },
    });
    const embeddings = createEmbeddingPipeline({ config, proxy, index, routes, registry, metrics: metricsRegistry, cacheMetrics, log });
    const collections = await createCollections({ config, fleet: loaded.fleet, db: database.db, embedder: embeddings.embedder, index, routes, registry, metrics: metricsRegistry, log, quota });
    cluster.attach({
      registry,
      reload: {
        keys: (id) => keyService.reload(id),
        routes: () => routes.load(),
        webhooks: () => webhookDispatcher.load(),
        placements: async () => {
          await placements.load();
          reconciler.schedule();
        },
        'cache-policies': () => cachePolicies.load(),
        prices: () => prices.load(),
        'model-registry': async () => {
          await activation.load();
          await thresholds.load();
        },
        collections: () => collections.service.refresh(),
        operation: (id) => models.operations.onRemote('operation', id),
        'operation-cancel': (id) => models.operations.onRemote('operation-cancel', id),
      },
      circuit: (serverId, modelId, ms) => void index.openCircuit(serverId, modelId, ms),
      cooldown: (serverId, modelId, ms) => void index.coolDown(serverId, modelId, ms),
      onCheckerChange: (isChecker) => {
        if (isChecker) reconciler.schedule();
      },
    });
    // Migrations, the fleet file and everything loaded from storage above are done: the next replica may start.
    await database.releaseStartupLock();
    await cluster.start();
    // The fleet file may have changed what the running replicas hold.
    if (loaded.fleet !== null) cluster.announce('*');
    let selfUrl = '';
    let draining = false;
    // Our own loopback: not subject to the network policy meant for model servers.
    const selfAgent = new Agent({ connections: 16 });
    const benchmarker = new ModelBenchmarker({ db: database.db, keyRing, dispatcher: selfAgent, selfUrl: () => selfUrl });
    const analytics = { usage: usageStore, registry, index, benchmarker, keyNames: () => keyStore.names(), activation, thresholds };
    const responseCache = createResponseCache({ policies: cachePolicies, embedder: embeddings.embedder, metrics: cacheMetrics, redisUrl: config.redis_url, memoryMb: config.response_cache_mb, log, ...(options.clock === undefined ? {} : { clock: options.clock }) });
    const caching = { policies: cachePolicies, cache: responseCache.cache, canEmbed: canEmbedWith(index, routes) };
    const storedResponses = new ResponseStore({ db: database.db, log, ttlHours: config.responses_ttl_hours });
    const app = buildApp({ config, log, keyRing, registry, checker, scheduler, history, isStorageReachable: database.isReachable, isDraining: () => draining, proxy, index, routes, keys: keyService, quota, audit: new AuditStore(database.db), metrics: metricsRegistry, webhooks, analytics, sessions: new SessionStore(), caching, embeddings, collections: collections.http, operations: operationService, lifecycle, placements: { placements, reconciler }, hub, modelRegistry: { versions, figures, thresholds, activation, benchmarker }, prices, live, queues: { states: () => admission.states(), settings: { max_length: config.queue.max_length, max_wait_ms: config.queue.max_wait_ms, weights: config.queue.weights } }, responses: storedResponses, ollamaShow: (server, modelId, signal) => showFromOllama(server, modelId, http, config.health.timeout_ms, signal), integrations: {
      storage: database.isReachable,
      storageDialect: database.dialect,
      redis: redisQuota === null ? null : () => redisQuota.connectionStatus(),
      redisDetail: config.redis_url === undefined ? null : redisDetail(parseRedisUrl(config.redis_url), config.quota.on_backend_error),
      otlp: tracer === null ? null : () => tracer.exportStatus(),
      webhooks: () => webhookDispatcher.deliveryStatus(),
      servers: () => registry.list(),
      usage: () => ({ queued: usage.queued, spooled: usage.spooled }),
    }, cluster });
    // Before listening: the first connection on the shared port may already be gRPC.
    const grpc = await startGrpcGateway({ app, httpServer: app.server, host: config.host, port: config.grpc_port, firstBytesTimeoutMs: Math.min(config.client.headers_timeout_ms, config.client.request_timeout_ms), sharePort: config.grpc_shared_port, log });
    const listenPort = await freePortOf(starting.listener, config.port);
    const address = await app.listen({ port: listenPort, host: config.host }).catch(async (error: unknown) => {
      await grpc.close(0);
      throw toPortError(error, config.host, listenPort);
    });
    // The benchmark calls our own /v1 on loopback, whatever address we listen on.
    const selfHost = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host.includes(':') ? `[${config.host}]` : config.host;
    selfUrl = `http://${selfHost}:${new URL(address).port}`;
    if (options.startScheduler !== false) scheduler.start();
    models.start();
    quota.start();
    usage.start();
    usageMaintenance.start();
    storedResponses.start(config.usage_flush_ms);
    void scheduler.pruneHistory();

    let closing: Promise<void> | null = null;
    const step = async (name: string, run: () => Promise<unknown>, timeoutMs: number) => {
      const finished = Promise.resolve()
        .then(run)
        .catch((error: unknown) => log.warn({ step: name, err: error instanceof Error ? error.message : 'unknown' }, 'shutdown step failed; moving on'));
      if (!(await withinTime(finished, timeoutMs))) log.warn({ step: name, timeoutMs }, 'shutdown step timed out; moving on');
    };
    const close = () => {
      closing ??= (async () => {
        draining = true;
        stopRouteWarning();
        // Another replica takes the health checks over now, not when this one has drained.
        void cluster.close();
        models.stop();
        log.info({ graceMs: config.shutdown_grace_ms, delayMs: config.shutdown_delay_ms }, 'draining: /ready answers 503, in-flight requests may finish');
        if (config.shutdown_delay_ms > 0) await new Promise((resolve) => setTimeout(resolve, config.shutdown_delay_ms));
        // gRPC connections share the HTTP server's port: the server closes once both have drained.
        await Promise.all([grpc.close(config.shutdown_grace_ms), closeGracefully(app, { graceMs: config.shutdown_grace_ms, log })]);
        // Storage and Redis may already be gone: every step is bounded, none can hold the exit.
        await Promise.all([
          step('usage', async () => {
            await usage.stop();
            await usageWriter?.close();
          }, 5_000),
          step('usage maintenance', () => usageMaintenance.stop(), 3_000),
          step('stored responses', () => storedResponses.stop(), 3_000),
          step('tracing', async () => tracer?.shutdown(), 3_000),
          step('health checks', () => scheduler.stop(), 3_000),
          step('quota', () => quota.stop(), 3_000),
          step('response cache', () => responseCache.bytes.close(), 3_000),
          step('embedding cache', () => embeddings.close(), 3_000),
          step('webhooks', () => webhookDispatcher.close(), 3_000),
          step('collections', () => collections.close(), 3_000),
          step('operations', () => models.close(), 3_000),
        ]);
        await Promise.all(
          [webhookAgent, dataPlane, selfAgent].map((agent) => step('upstream connections', () => withinTime(agent.close(), 2_000).then((closed) => (closed ? undefined : agent.destroy())), 3_000)),
        );
        await step('upstream connections', () => http.close(), 3_000);
        await step('cluster', () => cluster.close(), 3_000);
        await step('database', () => database.close(), 3_000);
      })();
      return closing;
    };
    return { app, grpc, registry, scheduler, database, usage, proxy, embedder: embeddings.embedder, cacheMetrics, collections, operations: operationService, lifecycle, modelNeeds, hub, placements: { registry: placements, reconciler }, models: { versions, figures, thresholds, activation }, keys, masterKey, fleetReport, cluster, url: address, isDraining: () => draining, close, usageMaintenance };
  } catch (error) {
    await starting.listener?.close();
    await database.close();
    throw error;
  }
}

/**
 * The port the gateway listens on: the one the starting listener held, freed
 * for it (so a gateway asked for port 0 keeps the port it has been answering on).
 */
async function freePortOf(starting: StartingListener | null, configured: number): Promise<number> {
  if (starting === null) return configured;
  await starting.close();
  return starting.port;
}

/** Requests on their way to a model server now, across the fleet. */
function inFlightOf(index: ModelIndex): number {
  let total = 0;
  for (const deployment of index.allDeployments()) total += deployment.state.inflight;
  return total;
}

/** Where Redis is (no credentials) and what limits do without it, for the integrations panel. */
function redisDetail(target: RedisTarget, failureMode: 'open' | 'closed') {
  return { target: describeRedisTarget(target), mode: target.mode, failure_mode: failureMode };
}
