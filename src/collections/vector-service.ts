import { randomUUID } from 'node:crypto';
import { errors } from '../errors/error-catalogue.ts';
import { VectorCollectionNotFound, VectorSizeMismatch, type MetadataFilter, type VectorHit, type VectorRecord } from '../vectors/vector-store.ts';
import type { Caller, CollectionService } from './collection-service.ts';
import { embeddingRefusal } from './model-facts.ts';
import type { ReembedRunner } from './reembed-runner.ts';
import type { VectorCollection } from './vector-collection.ts';
import { checkId, parseFilter, parseStoreItems, parseTopK, parseVector, type StoreItem } from './vector-input.ts';
import type { VectorMetrics, VectorOperation } from './vector-metrics.ts';

export interface StoreAnswer {
  ids: string[];
  dimension: number;
  collection: string;
}

export interface VectorServiceOptions {
  collections: CollectionService;
  reembeds: ReembedRunner;
  metrics: VectorMetrics | null;
  /** Items per store or delete request (the vector_max_items setting). */
  maxItems: number;
}

/**
 * Texts and vectors per model: embeds through the Embedder (routing,
 * failover, its cache), then writes to the model's collection. Every write
 * is all or nothing: texts are embedded and every size checked before the
 * backend is touched, and the backend's upsert is itself all or nothing.
 */
export class VectorService {
  readonly #collections: CollectionService;
  readonly #reembeds: ReembedRunner;
  readonly #metrics: VectorMetrics | null;
  readonly #maxItems: number;

  constructor(options: VectorServiceOptions) {
    this.#collections = options.collections;
    this.#reembeds = options.reembeds;
    this.#metrics = options.metrics;
    this.#maxItems = options.maxItems;
  }

  async store(model: string, body: unknown, caller: Caller): Promise<StoreAnswer> {
    let collection = this.#collections.reachable(model, caller);
    const items = lastOfEachId(parseStoreItems(body, this.#maxItems));
    const started = performance.now();
    const texts = items.filter((item) => item.text !== null);
    if (texts.length > 0) {
      const refusal = embeddingRefusal(model, this.#collections.models.deploymentsOf(model));
      if (refusal !== null) throw refusal;
    }
    // One call per request: the embedder batches, splits and caches. A failure here has written nothing.
    const embedded = texts.length === 0 ? [] : (await this.#embed(model, texts.map((item) => item.text as string), caller)).vectors;
    let next = 0;
    const records: VectorRecord[] = items.map((item) => ({
      id: item.id ?? randomUUID(),
      vector: item.vector ?? (embedded[next++] as number[]),
      text: item.text,
      metadata: item.metadata,
    }));
    const dimension = (records[0] as VectorRecord).vector.length;
    if (collection === undefined) {
      // A first store creates the model's collection at the first vector's size: refuse mixed sizes before creating anything.
      const misfit = records.findIndex((record) => record.vector.length !== dimension);
      if (misfit >= 0) throw errors.vectorSizeMismatch(model, dimension, (records[misfit] as VectorRecord).vector.length, `items.${misfit}`);
    }
    collection ??= await this.#collections.ensureForModel(model, dimension);
    const target = this.#reembeds.targetOf(collection.name);
    const sizeFits = (record: VectorRecord) => record.vector.length === collection.vectorSize;
    // While a re-embed changes the size, texts embedded now already have the new size: they go to the new collection only.
    const onlyTarget = target !== null && target.vectorSize !== collection.vectorSize && records.every((record) => record.vector.length === target.vectorSize);
    if (!onlyTarget) {
      const misfit = records.findIndex((record) => !sizeFits(record));
      if (misfit >= 0) throw errors.vectorSizeMismatch(collection.name, collection.vectorSize, (records[misfit] as VectorRecord).vector.length, `items.${misfit}`);
      await this.#onCurrent(collection, (physical) => this.#collections.vectors.upsert(physical, records));
    }
    if (target !== null) await this.#reembeds.alsoWrite(collection.name, records);
    this.#observe(collection, 'store', started);
    void this.#refreshCount(collection);
    return { ids: records.map((record) => record.id), dimension, collection: collection.name };
  }

  async search(model: string, body: unknown, caller: Caller): Promise<{ data: VectorHit[] }> {
    const collection = this.#collectionOf(model, caller);
    const request = isRecord(body) ? body : {};
    const topK = parseTopK(request['top_k']);
    const filter = parseFilter(request['filter']);
    const hasQuery = request['query'] !== undefined;
    if (hasQuery === (request['vector'] !== undefined)) throw errors.invalidRequest('Send either `query` (a text) or `vector`.', 'query');
    for (const key of Object.keys(request)) if (!['query', 'vector', 'top_k', 'filter'].includes(key)) throw errors.invalidRequest(`Unknown field \`${key}\`.`, key);
    const started = performance.now();
    let vector: number[];
    if (hasQuery) {
      const query = request['query'];
      if (typeof query !== 'string' || query.trim() === '') throw errors.invalidRequest('`query` must be a non-empty text.', 'query');
      const refusal = embeddingRefusal(model, this.#collections.models.deploymentsOf(model));
      if (refusal !== null) throw refusal;
      vector = (await this.#embed(model, [query], caller)).vectors[0] as number[];
    } else {
      vector = parseVector(request['vector'], 'vector');
    }
    // Re-read: a swap may have happened while the query was embedded.
    const current = this.#collections.get(collection.name) ?? collection;
    if (vector.length !== current.vectorSize) throw errors.vectorSizeMismatch(current.name, current.vectorSize, vector.length, hasQuery ? 'query' : 'vector');
    const hits = await this.#onCurrent(current, (physical) => this.#collections.vectors.search(physical, { vector, topK, ...(filter === undefined ? {} : { filter }) }));
    this.#observe(current, 'search', started);
    return { data: hits };
  }

  async get(model: string, id: string, caller: Caller): Promise<VectorRecord> {
    const collection = this.#collectionOf(model, caller);
    const started = performance.now();
    const wanted = checkId(id, 'id');
    const record = await this.#onCurrent(collection, (physical) => this.#collections.vectors.get(physical, wanted));
    this.#observe(collection, 'get', started);
    if (record === null) throw errors.notFound(`Vector "${id}" in the collection "${collection.name}"`);
    return record;
  }

  async delete(model: string, body: unknown, caller: Caller): Promise<{ deleted: number }> {
    const collection = this.#collectionOf(model, caller);
    const request = isRecord(body) ? body : {};
    for (const key of Object.keys(request)) if (key !== 'ids' && key !== 'filter') throw errors.invalidRequest(`Unknown field \`${key}\`.`, key);
    const filter = parseFilter(request['filter']);
    const ids = request['ids'] === undefined ? undefined : parseIds(request['ids'], this.#maxItems);
    if (ids === undefined && filter === undefined) throw errors.invalidRequest('Send `ids`, `filter` or both (a delete of everything is DELETE /api/v1/collections/{name}).', 'ids');
    return { deleted: await this.deleteSelected(collection, { ...(ids === undefined ? {} : { ids }), ...(filter === undefined ? {} : { filter }) }) };
  }

  async deleteOne(model: string, id: string, caller: Caller): Promise<{ deleted: number }> {
    const collection = this.#collectionOf(model, caller);
    const deleted = await this.deleteSelected(collection, { ids: [checkId(id, 'id')] });
    if (deleted === 0) throw errors.notFound(`Vector "${id}" in the collection "${collection.name}"`);
    return { deleted };
  }

  async deleteSelected(collection: VectorCollection, selector: { ids?: string[]; filter?: MetadataFilter }): Promise<number> {
    const started = performance.now();
    const deleted = await this.#onCurrent(collection, (physical) => this.#collections.vectors.delete(physical, selector));
    await this.#reembeds.alsoDelete(collection.name, selector);
    this.#observe(collection, 'delete', started);
    void this.#refreshCount(collection);
    return deleted;
  }

  async #embed(model: string, inputs: string[], caller: Caller) {
    const result = await this.#collections.embedder.embed({ model, inputs, ...embedContext(caller) });
    caller.charge?.(result.promptTokens);
    return result;
  }

  #collectionOf(model: string, caller: Caller): VectorCollection {
    const collection = this.#collections.reachable(model, caller);
    if (collection === undefined) throw errors.notFound(`A vector collection for the model \`${model}\``);
    return collection;
  }

  /**
   * Runs on the collection's physical collection; when a re-embed swapped it
   * (and dropped the old one) in between, once more on the new one. A size
   * the backend refuses is the same 409 as one refused here.
   */
  async #onCurrent<T>(collection: VectorCollection, run: (physical: string) => Promise<T>): Promise<T> {
    try {
      return await run(collection.physicalName);
    } catch (error) {
      const current = this.#collections.get(collection.name);
      if (error instanceof VectorCollectionNotFound && current !== undefined && current.physicalName !== collection.physicalName) return run(current.physicalName);
      if (error instanceof VectorSizeMismatch) throw errors.vectorSizeMismatch(collection.name, error.expected, error.actual);
      if (error instanceof VectorCollectionNotFound) throw errors.notFound(`Collection "${collection.name}"`);
      throw error;
    }
  }

  #observe(collection: VectorCollection, operation: VectorOperation, started: number): void {
    this.#metrics?.observe(collection.model, operation, (performance.now() - started) / 1000);
  }

  async #refreshCount(collection: VectorCollection): Promise<void> {
    if (this.#metrics === null) return;
    const current = this.#collections.get(collection.name);
    if (current === undefined) return;
    const count = await this.#collections.vectors.count(current.physicalName).catch(() => null);
    if (count !== null) this.#metrics.setCount(current.name, count);
  }
}

function embedContext(caller: Caller) {
  return { requestId: caller.requestId, keyId: caller.keyId, isAllowed: caller.isAllowed, ...(caller.log === undefined ? {} : { log: caller.log }), ...(caller.api === undefined ? {} : { api: caller.api }) };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseIds(value: unknown, maxItems: number): string[] {
  if (!Array.isArray(value) || value.length === 0) throw errors.invalidRequest('`ids` must be a non-empty list of ids.', 'ids');
  if (value.length > maxItems) throw errors.tooManyItems(maxItems, value.length, 'ids');
  return value.map((id, position) => checkId(id, `ids.${position}`));
}

/** A request naming one id twice stores the last one (as two requests in a row would). */
function lastOfEachId(items: StoreItem[]): StoreItem[] {
  const lastIndex = new Map<string, number>();
  items.forEach((item, position) => {
    if (item.id !== null) lastIndex.set(item.id, position);
  });
  return items.filter((item, position) => item.id === null || lastIndex.get(item.id) === position);
}
