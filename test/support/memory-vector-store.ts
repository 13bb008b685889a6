import type { CollectionSpec, MetadataFilter, VectorHit, VectorRecord, VectorStore } from '../../src/vectors/vector-store.ts';

/**
 * An exact in-memory VectorStore for the collection service's unit tests
 * (the real backends have their own conformance suite). Cosine scores only.
 * `failNextUpsert` makes the next upsert throw before writing anything.
 */
export class MemoryVectorStore implements VectorStore {
  readonly backend = 'embedded' as const;
  readonly collections = new Map<string, { spec: CollectionSpec; records: Map<string, VectorRecord> }>();
  failNextUpsert = false;

  async ensureCollection(spec: CollectionSpec): Promise<void> {
    const existing = this.collections.get(spec.name);
    if (existing !== undefined) {
      if (existing.spec.vectorSize !== spec.vectorSize || existing.spec.distance !== spec.distance) throw new Error(`collection ${spec.name} exists with another shape`);
      return;
    }
    this.collections.set(spec.name, { spec, records: new Map() });
  }

  async dropCollection(name: string): Promise<void> {
    this.collections.delete(name);
  }

  async upsert(collection: string, records: readonly VectorRecord[]): Promise<void> {
    const target = this.#require(collection);
    if (this.failNextUpsert) {
      this.failNextUpsert = false;
      throw new Error('upsert failed');
    }
    for (const record of records) if (record.vector.length !== target.spec.vectorSize) throw new Error(`size ${record.vector.length} in a collection of ${target.spec.vectorSize}`);
    for (const record of records) target.records.set(record.id, structuredClone(record));
  }

  async search(collection: string, query: { vector: readonly number[]; topK: number; filter?: MetadataFilter }): Promise<VectorHit[]> {
    const target = this.#require(collection);
    return [...target.records.values()]
      .filter((record) => matches(record, query.filter))
      .map((record) => ({ id: record.id, score: cosine(record.vector, query.vector), text: record.text, metadata: record.metadata }))
      .sort((a, b) => b.score - a.score)
      .slice(0, query.topK);
  }

  async get(collection: string, id: string): Promise<VectorRecord | null> {
    return this.#require(collection).records.get(id) ?? null;
  }

  async delete(collection: string, selector: { ids?: readonly string[]; filter?: MetadataFilter }): Promise<number> {
    const target = this.#require(collection);
    let deleted = 0;
    for (const record of [...target.records.values()]) {
      if (selector.ids !== undefined && !selector.ids.includes(record.id)) continue;
      if (!matches(record, selector.filter)) continue;
      target.records.delete(record.id);
      deleted++;
    }
    return deleted;
  }

  async count(collection: string): Promise<number> {
    return this.#require(collection).records.size;
  }

  async scan(collection: string, afterId: string | null, limit: number): Promise<VectorRecord[]> {
    return [...this.#require(collection).records.values()]
      .filter((record) => afterId === null || record.id > afterId)
      .sort((a, b) => (a.id < b.id ? -1 : 1))
      .slice(0, limit);
  }

  async close(): Promise<void> {}

  #require(name: string) {
    const found = this.collections.get(name);
    if (found === undefined) throw new Error(`no collection ${name}`);
    return found;
  }
}

function matches(record: VectorRecord, filter: MetadataFilter | undefined): boolean {
  if (filter === undefined) return true;
  return Object.entries(filter).every(([field, condition]) => {
    const value = record.metadata[field];
    return condition !== null && typeof condition === 'object' ? condition.in.includes(value as never) : value === condition;
  });
}

function cosine(a: readonly number[], b: readonly number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += (a[i] as number) * (b[i] as number);
    na += (a[i] as number) ** 2;
    nb += (b[i] as number) ** 2;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}
