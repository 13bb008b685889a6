import { setTimeout as sleep } from 'node:timers/promises';
import { QdrantClient, type Schemas } from '@qdrant/js-client-rest';
import { prepareVectorBatch } from './prepare-vector-batch.ts';
import { qdrantPointId } from './qdrant-point-id.ts';
import {
  VectorCollectionConflict,
  VectorCollectionNotFound,
  VectorSizeMismatch,
  type CollectionSpec,
  type MetadataFilter,
  type MetadataValue,
  type VectorDistance,
  type VectorHit,
  type VectorRecord,
  type VectorStore,
} from './vector-store.ts';

/**
 * A Qdrant server through the official REST client. Collection name = the
 * physical name; a point's id is a UUID derived from ours (qdrant-point-id.ts)
 * and its payload `{id, text, metadata}`. Qdrant's scores already follow our
 * conventions: Cosine answers the similarity and Dot the inner product
 * (higher first), Euclid the distance (lower first).
 *
 * Tested only where a Qdrant server is reachable (QDRANT_URL when the tests
 * run): none could run where this was written.
 */
export interface QdrantStoreOptions {
  url: string;
  /** Sent as the api-key header; never logged. */
  apiKey?: string | undefined;
  timeoutMs?: number;
}

const distances: Record<VectorDistance, Schemas['Distance']> = { cosine: 'Cosine', dot: 'Dot', euclid: 'Euclid' };
/** Qdrant refuses request bodies over 32 MB by default: larger batches go in several requests. */
const maxRequestBytes = 8_000_000;

interface Payload {
  id: string;
  text: string | null;
  metadata: Record<string, unknown>;
}

export async function openQdrantStore(options: QdrantStoreOptions): Promise<QdrantVectorStore> {
  const client = new QdrantClient({
    url: options.url,
    timeout: options.timeoutMs ?? 30_000,
    // Our own check below; the client's prints to the console.
    checkCompatibility: false,
    // As a header, not `apiKey`: the client would print a warning about plain http, key or not.
    ...(options.apiKey === undefined ? {} : { headers: { 'api-key': options.apiKey } }),
  });
  try {
    await client.getCollections();
  } catch (error) {
    throw new Error(`Qdrant at ${describeUrl(options.url)} did not answer: ${(error as Error).message.split('\n')[0]}`);
  }
  return new QdrantVectorStore(client);
}

export class QdrantVectorStore implements VectorStore {
  readonly backend = 'qdrant';
  readonly #client: QdrantClient;
  /** Sizes of the collections seen, to refuse a wrong vector before writing (Qdrant would refuse it too). */
  readonly #specs = new Map<string, { vectorSize: number; distance: VectorDistance }>();

  constructor(client: QdrantClient) {
    this.#client = client;
  }

  async ensureCollection(spec: CollectionSpec): Promise<void> {
    const existing = await this.#describe(spec.name).catch((error: unknown) => {
      if (error instanceof VectorCollectionNotFound) return null;
      throw error;
    });
    if (existing === null) {
      try {
        await this.#client.createCollection(spec.name, { vectors: { size: spec.vectorSize, distance: distances[spec.distance] } });
      } catch (error) {
        if (statusOf(error) !== 409) throw error;
        await this.#waitUntilReadable(spec.name);
      }
      return this.ensureCollection(spec); // created here or by another replica at the same time: compare
    }
    if (existing.vectorSize !== spec.vectorSize || existing.distance !== spec.distance) {
      throw new VectorCollectionConflict(spec.name, existing, spec);
    }
  }

  async dropCollection(name: string): Promise<void> {
    this.#specs.delete(name);
    try {
      await this.#client.deleteCollection(name);
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
    }
  }

  async upsert(collection: string, records: readonly VectorRecord[]): Promise<void> {
    const spec = await this.#describe(collection);
    const batch = prepareVectorBatch(records, spec.vectorSize);
    const perRequest = Math.max(1, Math.floor(maxRequestBytes / (spec.vectorSize * 12 + 1_000)));
    for (let start = 0; start < batch.length; start += perRequest) {
      const points = batch.slice(start, start + perRequest).map((record) => ({
        id: qdrantPointId(record.id),
        vector: [...record.vector],
        payload: { id: record.id, text: record.text, metadata: record.metadata ?? {} } satisfies Payload,
      }));
      await this.#call(collection, () => this.#client.upsert(collection, { wait: true, points }));
    }
  }

  async search(collection: string, query: { vector: readonly number[]; topK: number; filter?: MetadataFilter }): Promise<VectorHit[]> {
    const spec = await this.#describe(collection);
    if (query.vector.length !== spec.vectorSize) throw new VectorSizeMismatch(spec.vectorSize, query.vector.length);
    const filter = qdrantFilter(query.filter);
    if (filter === 'nothing') return [];
    const answer = await this.#call(collection, () =>
      this.#client.query(collection, { query: [...query.vector], limit: query.topK, with_payload: true, ...(filter === undefined ? {} : { filter }) }),
    );
    return answer.points.map((point) => {
      const payload = point.payload as unknown as Payload;
      return { id: payload.id, score: point.score, text: payload.text ?? null, metadata: payload.metadata ?? {} };
    });
  }

  async get(collection: string, id: string): Promise<VectorRecord | null> {
    const points = await this.#call(collection, () =>
      this.#client.retrieve(collection, { ids: [qdrantPointId(id)], with_payload: true, with_vector: true }),
    );
    return points[0] === undefined ? null : toRecord(points[0]);
  }

  async delete(collection: string, selector: { ids?: readonly string[]; filter?: MetadataFilter }): Promise<number> {
    if (selector.ids === undefined && selector.filter === undefined) return 0;
    const metadata = qdrantFilter(selector.filter);
    if (metadata === 'nothing' || selector.ids?.length === 0) return 0;
    const must: Schemas['Condition'][] = [];
    if (selector.ids !== undefined) must.push({ has_id: selector.ids.map(qdrantPointId) });
    if (metadata !== undefined) must.push(metadata);
    const filter: Schemas['Filter'] = { must };
    // Qdrant's delete does not say how many went: count them first (a concurrent write in between can skew it).
    const { count } = await this.#call(collection, () => this.#client.count(collection, { filter, exact: true }));
    if (count > 0) await this.#call(collection, () => this.#client.delete(collection, { wait: true, filter }));
    return count;
  }

  async count(collection: string): Promise<number> {
    const { count } = await this.#call(collection, () => this.#client.count(collection, { exact: true }));
    return count;
  }

  async scan(collection: string, afterId: string | null, limit: number): Promise<VectorRecord[]> {
    // Scroll runs in point-id order from `offset` (inclusive): start at afterId's point and skip it.
    const page = await this.#call(collection, () =>
      this.#client.scroll(collection, {
        limit: limit + 1,
        with_payload: true,
        with_vector: true,
        ...(afterId === null ? {} : { offset: qdrantPointId(afterId) }),
      }),
    );
    return page.points
      .map(toRecord)
      .filter((record) => record.id !== afterId)
      .slice(0, limit);
  }

  async close(): Promise<void> {
    // The REST client holds no connections of its own to close.
  }

  /**
   * The loser of two concurrent creations gets its 409 before the winner's
   * shards are up, and reading the collection then answers 500 for a moment.
   */
  async #waitUntilReadable(name: string): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        await this.#client.getCollection(name);
        return;
      } catch (error) {
        if (statusOf(error) !== 500) return;
        await sleep(100 * 2 ** attempt);
      }
    }
  }

  async #describe(name: string): Promise<{ vectorSize: number; distance: VectorDistance }> {
    const known = this.#specs.get(name);
    if (known !== undefined) return known;
    const info = await this.#call(name, () => this.#client.getCollection(name));
    const vectors = info.config.params.vectors as { size?: number; distance?: Schemas['Distance'] } | undefined;
    const distance = (Object.keys(distances) as VectorDistance[]).find((key) => distances[key] === vectors?.distance);
    if (vectors?.size === undefined || distance === undefined) {
      throw new Error(`Qdrant collection ${name} is not one Switchyard made (named vectors or distance ${String(vectors?.distance)}).`);
    }
    const spec = { vectorSize: vectors.size, distance };
    this.#specs.set(name, spec);
    return spec;
  }

  /** A 404 from Qdrant on a collection call means the collection is gone. */
  async #call<T>(collection: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (statusOf(error) === 404) {
        this.#specs.delete(collection);
        throw new VectorCollectionNotFound(collection);
      }
      throw error;
    }
  }
}

/** Our filter as Qdrant's: `must` of one condition per field; `in` is a `should` of its values. */
export function qdrantFilter(filter: MetadataFilter | undefined): Schemas['Filter'] | undefined | 'nothing' {
  if (filter === undefined || Object.keys(filter).length === 0) return undefined;
  const must: Schemas['Condition'][] = [];
  for (const [field, expected] of Object.entries(filter)) {
    const key = payloadKey(field);
    if (expected !== null && typeof expected === 'object') {
      if (expected.in.length === 0) return 'nothing';
      must.push({ should: expected.in.map((value) => valueCondition(key, value)) });
    } else {
      must.push(valueCondition(key, expected));
    }
  }
  return { must };
}

function valueCondition(key: string, value: MetadataValue): Schemas['Condition'] {
  if (value === null) return { is_null: { key } };
  // match.value takes strings, integers and booleans; a fractional number is a one-point range.
  if (typeof value === 'number' && !Number.isInteger(value)) return { key, range: { gte: value, lte: value } };
  return { key, match: { value } };
}

/**
 * Qdrant reads a key as a JSON path: a plain word (letters, digits, `_`, `-`,
 * not starting with a digit) as it is, anything else in double quotes, which
 * may not hold a double quote or a backslash (Qdrant's json_path parser).
 */
export function payloadKey(field: string): string {
  if (/^[A-Za-z_-][A-Za-z0-9_-]*$/.test(field)) return `metadata.${field}`;
  if (/["\\]/.test(field)) throw new RangeError(`The qdrant backend cannot filter on a metadata field whose name holds " or \\ (${JSON.stringify(field)}).`);
  return `metadata."${field}"`;
}

function toRecord(point: { payload?: Record<string, unknown> | null | undefined; vector?: unknown }): VectorRecord {
  const payload = point.payload as unknown as Payload;
  const vector = Array.isArray(point.vector) ? (point.vector as number[]) : [];
  return { id: payload.id, vector, text: payload.text ?? null, metadata: payload.metadata ?? {} };
}

function statusOf(error: unknown): number | undefined {
  // The client's errors carry the status only in their message: "Unexpected Response: 404 (Not Found)".
  const match = /^Unexpected Response: (\d{3})/.exec(error instanceof Error ? error.message : '');
  return match === null ? undefined : Number(match[1]);
}

function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}`;
  } catch {
    return 'its URL';
  }
}
