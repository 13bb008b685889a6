import { join, resolve } from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import type { Kysely } from 'kysely';
import type { Config } from '../../config/config-schema.ts';
import type { FleetFile } from '../../config/fleet-file.ts';
import type { UpstreamHttp } from '../../data/upstream/upstream-http.ts';
import { modelMatches } from '../../domain/model-server.ts';
import { RedactedSecret } from '../../security/redacted-secret.ts';
import { insertAudit } from '../../storage/audit-store.ts';
import type { DatabaseSchema } from '../../storage/database-schema.ts';
import { ModelRegistryStore } from '../../storage/model-registry-store.ts';
import { OperationStore } from '../../storage/operation-store.ts';
import { PlacementStore } from '../../storage/placement-store.ts';
import { UsageStore } from '../../storage/usage-store.ts';
import type { HealthScheduler } from '../health/health-scheduler.ts';
import { HubClient } from '../hub/hub-client.ts';
import { HubService } from '../hub/hub-service.ts';
import { applyFleetThresholds } from '../model-registry/apply-fleet-thresholds.ts';
import { ModelActivation } from '../model-registry/model-activation.ts';
import { ModelThresholds } from '../model-registry/model-thresholds.ts';
import { VersionFigures } from '../model-registry/version-figures.ts';
import { VersionTracker } from '../model-registry/version-tracker.ts';
import { LifecycleService } from '../operations/lifecycle-service.ts';
import { ModelNeeds } from '../operations/model-needs.ts';
import { OperationService, type OperationReplicas } from '../operations/operation-service.ts';
import { applyFleetPlacements } from '../placements/apply-fleet-placements.ts';
import { PlacementReconciler } from '../placements/placement-reconciler.ts';
import { PlacementRegistry } from '../placements/placement-registry.ts';
import type { RouteRegistry } from '../routes/route-registry.ts';
import type { ServerRegistry } from '../servers/server-registry.ts';
import type { WebhookDispatcher } from '../webhooks/webhook-dispatcher.ts';

export interface FleetModelsOptions {
  config: Config;
  fleet: FleetFile | null;
  db: Kysely<DatabaseSchema>;
  registry: ServerRegistry;
  routes: RouteRegistry;
  scheduler: HealthScheduler;
  http: UpstreamHttp;
  webhooks: WebhookDispatcher;
  log: FastifyBaseLogger;
  /** With replicas: is this one the health checker, which alone acts on placements and announces threshold breaches (decision 0033)? */
  isChecker?: () => boolean;
  /** The other replicas, for operations run on one and watched, cancelled or orphaned through another. */
  replicas?: OperationReplicas;
  /** Tells the other replicas to re-read a topic from storage. */
  announce?: (topic: string) => void;
}

/**
 * The fleet-wide model lifecycle (issue 12, decisions 0018-0022), wired
 * together: operations and the actions that start them, what still needs a
 * model, the Hub, placements and their reconciler, versions, daily figures,
 * thresholds and deactivation. Loads what storage and the fleet file say;
 * `start` runs the timers and the reconciler, `stop` and `close` end them.
 */
export async function createFleetModels(options: FleetModelsOptions) {
  const { config, fleet, db, registry, routes, scheduler, http, webhooks, log } = options;
  const isChecker = options.isChecker ?? (() => true);
  const operationService = new OperationService({
    store: new OperationStore(db),
    ...(options.replicas === undefined ? {} : { replicas: options.replicas }),
    log,
    concurrency: config.operation_concurrency,
    audit: (entry) => insertAudit(db, entry),
    onFinished: (view) =>
      webhooks.emit('operation.finished', {
        operation_id: view.id,
        kind: view.kind,
        model: view.model,
        status: view.status,
        servers: view.servers.map((target) => ({ server_id: target.server_id, name: target.name, status: target.status, ...(target.error === undefined ? {} : { error: target.error }) })),
      }),
  });
  await operationService.recover();
  const modelNeeds = new ModelNeeds();
  modelNeeds.register((model) =>
    routes
      .list()
      .filter((route) => route.targets.some((target) => modelMatches(target.model, model)) || route.fallbacks.some((fallback) => modelMatches(fallback, model)))
      .map((route) => `route ${route.name}`),
  );
  const lifecycle = new LifecycleService({
    registry,
    operations: operationService,
    needs: modelNeeds,
    http,
    recheck: (serverId) => scheduler.checkNow(serverId),
    timeoutMs: Math.max(config.health.timeout_ms, 30_000),
    log,
  });

  const hub = new HubService({
    client: new HubClient({ endpoint: config.hf_endpoint, token: config.hf_token === undefined ? null : new RedactedSecret(config.hf_token) }),
    operations: operationService,
    cacheDir: resolve(config.hf_cache ?? join(config.data_dir, 'hf-cache')),
  });

  const placements = new PlacementRegistry(new PlacementStore(db));
  await placements.load();
  if (fleet !== null) await applyFleetPlacements(fleet, placements, config.config_file ?? 'fleet file', log);
  modelNeeds.register((model) => placements.list().filter((placement) => modelMatches(placement.model, model)).map((placement) => `placement ${placement.model}`));
  const reconciler = new PlacementReconciler({
    mayAct: isChecker,
    placements,
    registry,
    lifecycle,
    operations: operationService,
    onUnsatisfied: (placement, reason) => webhooks.emit('placement.unsatisfied', { model: placement.model, reason }),
    log,
  });

  const modelStore = new ModelRegistryStore(db);
  const usageStore = new UsageStore(db, { rawRowsMax: config.analytics_raw_rows_max });
  const activation = new ModelActivation(modelStore);
  await activation.load();
  const versions = new VersionTracker({ store: modelStore, registry, log });
  await versions.load();
  registry.onEvent((event) => {
    if (event.type === 'server.checked') versions.observe(event.server.id);
    else if (event.type === 'server.deleted') versions.forget(event.server.id);
  });
  const figures = new VersionFigures({ store: modelStore, usage: usageStore, versions, log });
  const thresholds = new ModelThresholds({ store: modelStore, usage: usageStore, db: db, log, mayCheck: isChecker, onJudged: () => options.announce?.('model-registry'), emit: (event, data) => {
    webhooks.emit(event, data);
  } });
  await thresholds.load();
  if (fleet !== null) await applyFleetThresholds(fleet, thresholds, config.config_file ?? 'fleet file');

  return {
    operations: operationService,
    lifecycle,
    modelNeeds,
    hub,
    placements,
    reconciler,
    activation,
    versions,
    figures,
    thresholds,
    usageStore,
    start(): void {
      reconciler.start();
      figures.start();
      thresholds.start();
    },
    stop(): void {
      reconciler.stop();
      figures.stop();
      thresholds.stop();
    },
    /** Aborts live operations, which are recorded failed: interrupted. */
    close: () => operationService.close(),
  };
}
