import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { Registry } from 'prom-client';
import type { KeyRing, Scope } from '../auth/key-ring.ts';
import type { QuotaService } from '../auth/quota/quota-service.ts';
import type { FleetFile } from '../config/fleet-file.ts';
import { applyFleetCollections, type FleetCollectionsReport } from '../control/fleet/apply-fleet-collections.ts';
import type { FleetOwnership } from '../control/fleet/fleet-ownership.ts';
import type { RouteRegistry } from '../control/routes/route-registry.ts';
import type { Embedder } from '../data/embeddings/embedder.ts';
import type { ModelIndex } from '../data/routing/model-index.ts';
import { collectionsRoutes } from '../http/admin/collections-routes.ts';
import { isVectorWrite, vectorsRoutes } from '../http/admin/vectors-routes.ts';
import { requireScope, type SessionLookup } from '../http/plugins/authenticate.ts';
import { CollectionStore } from '../storage/collection-store.ts';
import type { DatabaseSchema } from '../storage/database-schema.ts';
import type { VectorStore } from '../vectors/vector-store.ts';
import { createVectorStore } from '../vectors/create-vector-store.ts';
import type { Logger } from 'pino';
import type { Config } from '../config/config-schema.ts';
import { CollectionService } from './collection-service.ts';
import { ReembedRunner } from './reembed-runner.ts';
import { VectorMetrics } from './vector-metrics.ts';
import { VectorService } from './vector-service.ts';

export interface CollectionsDependencies {
  config: Pick<Config, 'data_dir' | 'database_url' | 'vectors' | 'inference_body_limit_bytes'>;
  fleet: FleetFile | null;
  db: Kysely<DatabaseSchema>;
  /** The backend; by default the one the configuration chooses. */
  vectors?: VectorStore;
  embedder: Embedder;
  index: ModelIndex;
  routes: RouteRegistry;
  /** Fleet events: digests and dimensions are read again when servers report. */
  registry: { onEvent(listener: () => void): unknown };
  metrics: Registry;
  log: Logger;
  /** Keys' limits and budgets, for the embeddings stores and searches make. */
  quota: QuotaService;
}

/** What app.ts mounts under /api/v1, with its own scope rule. */
export type CollectionsHttp = (app: FastifyInstance, services: { keyRing: KeyRing; sessions: SessionLookup; ownership: FleetOwnership }) => Promise<void>;

export interface Collections {
  service: CollectionService;
  vectors: VectorService;
  http: CollectionsHttp;
  fleetReport: FleetCollectionsReport | null;
  close(): Promise<void>;
}

/** Builds the collection registry, the vector service and their routes; loads the registry and applies the fleet file's section. */
export async function createCollections(dependencies: CollectionsDependencies): Promise<Collections> {
  const { index, routes, config } = dependencies;
  const vectorStore = dependencies.vectors ?? (await createVectorStore(config, dependencies.log));
  const service = new CollectionService({
    store: new CollectionStore(dependencies.db),
    vectors: vectorStore,
    embedder: dependencies.embedder,
    models: {
      isKnown: (name) => index.isKnown(name) || routes.byName(name) !== undefined,
      deploymentsOf: (name) => index.deploymentsOf(name),
      suggest: (name, isAllowed) => index.suggest(name, { isAllowed, extra: routes.list().map((route) => route.name) }),
    },
    log: dependencies.log,
  });
  try {
    await service.load();
  } catch (error) {
    await vectorStore.close();
    throw error;
  }
  const metrics = new VectorMetrics(dependencies.metrics, async () =>
    Promise.all(service.list().map(async (collection) => ({ collection: collection.name, count: await service.vectors.count(collection.physicalName) }))),
  );
  const reembeds = new ReembedRunner({ collections: service, pageSize: 256, onFinished: (collection, seconds) => metrics.observe(collection.model, 'reembed', seconds) });
  const vectors = new VectorService({ collections: service, reembeds, metrics, maxItems: config.vectors.max_items });
  const fleet = dependencies.fleet === null ? null : await applyFleetCollections(dependencies.fleet.collections, service, dependencies.log);
  await service.refreshDigests();

  // Fleet events come in bursts (one per server check): read the digests again once per burst.
  let queued: Promise<void> | null = null;
  let version = index.version;
  dependencies.registry.onEvent(() => {
    queued ??= new Promise<void>((resolve) => setImmediate(resolve)).then(async () => {
      queued = null;
      if (index.version === version) return;
      version = index.version;
      await fleet?.retryPending();
      await service.refreshDigests();
    }).catch((error: unknown) => dependencies.log.warn({ err: error instanceof Error ? error.message : 'unknown' }, 'collections: could not read model digests'));
  });

  const http: CollectionsHttp = async (app, services) => {
    app.addHook('onRequest', requireScope(services.keyRing, scopeFor, services.sessions));
    await app.register(collectionsRoutes, { collections: service, reembeds, ownership: services.ownership });
    await app.register(vectorsRoutes, { vectors, bodyLimit: config.inference_body_limit_bytes, quota: dependencies.quota });
  };
  return {
    service,
    vectors,
    http,
    fleetReport: fleet?.report ?? null,
    close: async () => {
      await reembeds.close();
      await vectorStore.close();
    },
  };
}

const readCollections: readonly Scope[] = ['read', 'vectors:write'];
const writeVectors: readonly Scope[] = ['vectors:write'];
const searchVectors: readonly Scope[] = ['inference'];

/** Collections: reads need read (or vectors:write), changes vectors:write; vectors: searches and reads inference, writes vectors:write. Admin holds them all. */
function scopeFor(request: FastifyRequest): readonly Scope[] {
  const path = request.url.split('?')[0] ?? '';
  if (path.startsWith('/api/v1/collections')) return request.method === 'GET' || request.method === 'HEAD' ? readCollections : writeVectors;
  return isVectorWrite(request.method, path) ? writeVectors : searchVectors;
}
