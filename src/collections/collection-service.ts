import type { ClientApi } from '../data/proxy/request-outcome.ts';
import type { FastifyBaseLogger } from 'fastify';
import type { Actor, AuditEntry } from '../domain/audit.ts';
import type { ManagedBy } from '../domain/model-server.ts';
import { modelMatches } from '../domain/model-server.ts';
import type { Embedder } from '../data/embeddings/embedder.ts';
import { errors } from '../errors/error-catalogue.ts';
import type { CollectionStore } from '../storage/collection-store.ts';
import type { VectorDistance, VectorStore } from '../vectors/vector-store.ts';
import { digestsOf, embeddingRefusal, knownDimension, type ModelLookup } from './model-facts.ts';
import { physicalNameFor } from './physical-name.ts';
import type { VectorCollection } from './vector-collection.ts';

/** Who is asking: usage records, allow-lists and logs follow the caller. */
export interface Caller {
  requestId: string;
  keyId: string | null;
  isAllowed: (name: string) => boolean;
  log?: FastifyBaseLogger;
  /** Counts tokens embedded for the caller (its key's limits and budget). */
  charge?: (tokens: number) => void;
  /** Who made a change, for the audit log; none for the gateway's own changes (a first store's collection, re-embed progress). */
  actor?: Actor;
  /** The API the request came in on: what the usage records of its embeddings say (default `openai`). */
  api?: ClientApi;
}

export interface CreateCollectionInput {
  name: string;
  model: string;
  vectorSize?: number;
  distance?: VectorDistance;
}

export interface CollectionServiceOptions {
  store: CollectionStore;
  vectors: VectorStore;
  embedder: Embedder;
  models: ModelLookup;
  log: FastifyBaseLogger;
  clock?: () => Date;
}

export const collectionNamePattern = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,199}$/;

/**
 * The collection registry: logical name → model, size, distance and the
 * physical collection in the vector backend. Rows live in the database; this
 * keeps them in memory too (a handful per fleet), so a search costs no query.
 * One collection per model: `/models/{model}/vectors/*` needs to know which.
 */
export class CollectionService {
  readonly #store: CollectionStore;
  readonly vectors: VectorStore;
  readonly embedder: Embedder;
  readonly models: ModelLookup;
  readonly log: FastifyBaseLogger;
  readonly #clock: () => Date;
  #byName = new Map<string, VectorCollection>();
  // First stores for a model without a collection create it once, not once per concurrent request.
  readonly #creating = new Map<string, Promise<VectorCollection>>();
  // Names and physical names taken by a create still in flight (two creates of one name must not both pass).
  readonly #reserved = new Set<string>();

  constructor(options: CollectionServiceOptions) {
    this.#store = options.store;
    this.vectors = options.vectors;
    this.embedder = options.embedder;
    this.models = options.models;
    this.log = options.log;
    this.#clock = options.clock ?? (() => new Date());
  }

  /** Reads the collections afresh (another replica changed one), without load's repairs: those are for a start. */
  async refresh(): Promise<void> {
    this.#byName = new Map((await this.#store.list()).map((collection) => [collection.name, collection]));
  }

  async load(): Promise<void> {
    this.#byName = new Map((await this.#store.list()).map((collection) => [collection.name, collection]));
    // A re-embed cut short by a stop: its half-filled collection goes, the old one still serves.
    for (const collection of this.#byName.values()) {
      if (collection.status !== 'reembedding') continue;
      const target = collection.reembedTarget;
      await this.save({
        ...collection,
        status: collection.staleDigest === null ? 'ready' : 'stale',
        reembedTarget: null,
        reembed: { ...(collection.reembed ?? { done: 0, total: 0, skipped: 0, dropped: 0 }), error: 'interrupted by a restart; start it again' },
      });
      if (target !== null) await this.vectors.dropCollection(target).catch(() => undefined);
    }
  }

  list(): VectorCollection[] {
    return [...this.#byName.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  get(name: string): VectorCollection | undefined {
    return this.#byName.get(name);
  }

  /** The collection a model's vectors go to (its name as written, or an alias such as `name:latest`). */
  forModel(model: string): VectorCollection | undefined {
    let match: VectorCollection | undefined;
    for (const collection of this.#byName.values()) {
      if (collection.model === model) return collection;
      if (match === undefined && modelMatches(collection.model, model)) match = collection;
    }
    return match;
  }

  /** The collection by name as the caller may see it: one whose model is outside the allow-list does not exist. */
  visible(name: string, caller: Pick<Caller, 'isAllowed'>): VectorCollection {
    const collection = this.#byName.get(name);
    if (collection === undefined || !caller.isAllowed(collection.model)) throw errors.notFound(`Collection "${name}"`);
    return collection;
  }

  /**
   * The model's collection as the caller may reach it: a model outside the
   * allow-list, or one no server knows and without a collection, is the 404
   * the rest of the API gives. A collection whose model went away (its
   * server removed) still answers reads, deletes and searches by vector.
   */
  reachable(model: string, caller: Pick<Caller, 'isAllowed'>): VectorCollection | undefined {
    const collection = caller.isAllowed(model) ? this.forModel(model) : undefined;
    if (collection === undefined) this.assertModelKnown(model, caller);
    return collection;
  }

  /** Checks the model exists for the caller; answers the 404 the rest of the API gives otherwise. */
  assertModelKnown(model: string, caller: Pick<Caller, 'isAllowed'>): void {
    if (caller.isAllowed(model) && this.models.isKnown(model)) return;
    throw errors.unknownModel(model, this.models.suggest(model, caller.isAllowed));
  }

  async create(input: CreateCollectionInput, managedBy: ManagedBy, caller: Caller): Promise<VectorCollection> {
    if (!collectionNamePattern.test(input.name)) throw errors.invalidRequest('name must be 1 to 200 letters, digits, `.`, `_`, `:`, `/` or `-`, starting with a letter or digit.', 'name');
    // The fleet file may name models no server has answered for yet; the API may not.
    if (managedBy !== 'fleet') this.assertModelKnown(input.model, caller);
    if (this.#byName.has(input.name) || this.#reserved.has(input.name)) throw errors.conflict(`A collection named "${input.name}" exists.`, 'name');
    const owner = this.forModel(input.model);
    if (owner !== undefined) throw errors.conflict(`The model \`${input.model}\` already has a collection ("${owner.name}"): one collection per model.`, 'model');
    const deployments = this.models.deploymentsOf(input.model);
    const refusal = embeddingRefusal(input.model, deployments);
    if (refusal !== null) throw refusal;
    const vectorSize = input.vectorSize ?? knownDimension(deployments) ?? (await this.#probeDimension(input.model, caller));
    return this.#insert({ name: input.name, model: input.model, vectorSize, distance: input.distance ?? 'cosine', managedBy, digest: digestsOf(deployments)[0] ?? null }, caller.actor);
  }

  /** A model's collection, made on its first store: named after the model, sized to its vectors. */
  async ensureForModel(model: string, vectorSize: number): Promise<VectorCollection> {
    const existing = this.forModel(model);
    if (existing !== undefined) return existing;
    let pending = this.#creating.get(model);
    if (pending === undefined) {
      pending = this.#insert({ name: model, model, vectorSize, distance: 'cosine', managedBy: 'api', digest: digestsOf(this.models.deploymentsOf(model))[0] ?? null }).finally(() => this.#creating.delete(model));
      this.#creating.set(model, pending);
    }
    return pending;
  }

  async remove(name: string, actor?: Actor): Promise<void> {
    const collection = this.#byName.get(name);
    if (collection === undefined) return;
    this.#byName.delete(name);
    await this.#store.delete(name, auditOf(actor, 'collection.delete', name, auditView(collection), null));
    await this.vectors.dropCollection(collection.physicalName);
    if (collection.reembedTarget !== null) await this.vectors.dropCollection(collection.reembedTarget).catch(() => undefined);
  }

  /** Writes a changed record (memory, then database). */
  async save(collection: VectorCollection, audit?: { actor: Actor | undefined; action: string }): Promise<VectorCollection> {
    const updated = { ...collection, updatedAt: this.#clock().toISOString() };
    const before = this.#byName.get(collection.name);
    await this.#store.update(updated, audit === undefined ? undefined : auditOf(audit.actor, audit.action, updated.name, before === undefined ? null : auditView(before), auditView(updated)));
    // A collection deleted while a re-embed ran stays deleted.
    if (this.#byName.has(updated.name)) this.#byName.set(updated.name, updated);
    return updated;
  }

  isPhysicalNameTaken(candidate: string): boolean {
    if (this.#reserved.has(candidate)) return true;
    for (const collection of this.#byName.values()) if (collection.physicalName === candidate || collection.reembedTarget === candidate) return true;
    return false;
  }

  /**
   * Marks collections whose model's digest changed since their vectors were
   * made (re-pulled, upgraded) as stale, and records the first digest of those
   * made before any server reported one. Called when the fleet changes.
   */
  async refreshDigests(): Promise<void> {
    for (const collection of this.list()) {
      const digests = digestsOf(this.models.deploymentsOf(collection.model));
      if (digests.length === 0) continue;
      if (collection.modelDigest === null) {
        await this.save({ ...collection, modelDigest: digests[0] as string });
        continue;
      }
      if (digests.includes(collection.modelDigest)) {
        if (collection.status === 'stale') await this.save({ ...collection, status: 'ready', staleDigest: null });
        continue;
      }
      const current = digests[0] as string;
      if (collection.staleDigest === current) continue;
      this.log.warn({ collection: collection.name, model: collection.model, from: collection.modelDigest, to: current }, "collection stale: its model's digest changed; re-embed it");
      await this.save({ ...collection, status: collection.status === 'reembedding' ? 'reembedding' : 'stale', staleDigest: current });
    }
  }

  async #probeDimension(model: string, caller: Caller): Promise<number> {
    const result = await this.embedder.embed({ model, inputs: ['dimension probe'], requestId: caller.requestId, keyId: caller.keyId, isAllowed: caller.isAllowed, ...(caller.log === undefined ? {} : { log: caller.log }) });
    if (result.dimension <= 0) throw errors.invalidRequest(`The model \`${model}\` answered an empty embedding; pass vector_size.`, 'vector_size');
    return result.dimension;
  }

  async #insert(input: { name: string; model: string; vectorSize: number; distance: VectorDistance; managedBy: ManagedBy; digest: string | null }, actor?: Actor): Promise<VectorCollection> {
    const now = this.#clock().toISOString();
    const collection: VectorCollection = {
      name: input.name,
      model: input.model,
      vectorSize: input.vectorSize,
      distance: input.distance,
      backend: this.vectors.backend,
      physicalName: physicalNameFor(input.name, (candidate) => this.isPhysicalNameTaken(candidate), 'first'),
      status: 'ready',
      modelDigest: input.digest,
      staleDigest: null,
      reembedTarget: null,
      reembed: null,
      managedBy: input.managedBy,
      createdAt: now,
      updatedAt: now,
    };
    if (this.#byName.has(collection.name) || this.#reserved.has(collection.name)) throw errors.conflict(`A collection named "${collection.name}" exists.`, 'name');
    this.#reserved.add(collection.name);
    this.#reserved.add(collection.physicalName);
    try {
      await this.vectors.ensureCollection({ name: collection.physicalName, vectorSize: collection.vectorSize, distance: collection.distance });
      try {
        await this.#store.insert(collection, auditOf(actor, 'collection.create', collection.name, null, auditView(collection)));
      } catch (error) {
        await this.vectors.dropCollection(collection.physicalName).catch(() => undefined);
        throw error;
      }
      this.#byName.set(collection.name, collection);
      return collection;
    } finally {
      this.#reserved.delete(collection.name);
      this.#reserved.delete(collection.physicalName);
    }
  }
}

/** What the audit log keeps of a collection: its mapping, not its progress counters. */
function auditView(collection: VectorCollection) {
  return { name: collection.name, model: collection.model, vector_size: collection.vectorSize, distance: collection.distance, backend: collection.backend, status: collection.status, model_digest: collection.modelDigest, managed_by: collection.managedBy };
}

function auditOf(actor: Actor | undefined, action: string, name: string, before: unknown, after: unknown): AuditEntry | undefined {
  return actor === undefined ? undefined : { actor, action, targetType: 'collection', targetId: name, before, after };
}
