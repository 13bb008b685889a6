/**
 * Where vector collections live: one interface, three backends
 * (`embedded` sqlite-vec, `pgvector`, `qdrant`). A backend knows only
 * physical collections; which model owns which collection, its status and
 * re-embedding are the collection service's business.
 */
export type VectorDistance = 'cosine' | 'dot' | 'euclid';

export interface CollectionSpec {
  /** The backend's own name for it (the service maps logical names to these). */
  name: string;
  vectorSize: number;
  distance: VectorDistance;
}

export type MetadataValue = string | number | boolean | null;
/** `{field: value}` is equality, `{field: {in: [...]}}` membership; every field must match (AND). */
export type MetadataFilter = Record<string, MetadataValue | { in: MetadataValue[] }>;

export interface VectorRecord {
  id: string;
  /** Stored as float32. Qdrant keeps cosine collections' vectors unit-normalised, so `qdrant` returns them so. */
  vector: number[];
  text: string | null;
  metadata: Record<string, unknown>;
}

export interface VectorHit {
  id: string;
  /** cosine: cosine similarity, dot: inner product (higher is closer); euclid: distance (lower is closer). */
  score: number;
  text: string | null;
  metadata: Record<string, unknown>;
}

export interface VectorStore {
  readonly backend: 'embedded' | 'pgvector' | 'qdrant';
  /** Creates it if missing; an existing one of another size or distance is an error (VectorCollectionConflict). */
  ensureCollection(spec: CollectionSpec): Promise<void>;
  dropCollection(name: string): Promise<void>;
  /**
   * All or nothing; a record whose id exists replaces it, and of two records
   * with one id in a batch the later wins. Vectors of the wrong size are
   * refused (VectorSizeMismatch) before anything is written.
   */
  upsert(collection: string, records: readonly VectorRecord[]): Promise<void>;
  /** Best first. */
  search(collection: string, query: { vector: readonly number[]; topK: number; filter?: MetadataFilter }): Promise<VectorHit[]>;
  get(collection: string, id: string): Promise<VectorRecord | null>;
  /** By ids, by filter, or both (AND); answers how many were deleted. */
  delete(collection: string, selector: { ids?: readonly string[]; filter?: MetadataFilter }): Promise<number>;
  count(collection: string): Promise<number>;
  /**
   * Up to `limit` records after `afterId` (null: from the start), in an order
   * fixed by the backend: id order (byte order) in `embedded` and `pgvector`,
   * Qdrant's point-id order in `qdrant`. Pass the last id of a page to get the
   * next; re-embedding reads every stored text this way.
   */
  scan(collection: string, afterId: string | null, limit: number): Promise<VectorRecord[]>;
  close(): Promise<void>;
}

/*
 * What a backend throws for the service to map (409, 404). Every other
 * operation on a collection that does not exist throws VectorCollectionNotFound.
 */

/** A vector of another size than its collection's; nothing was written. */
export class VectorSizeMismatch extends Error {
  readonly expected: number;
  readonly actual: number;
  constructor(expected: number, actual: number) {
    super(`Vector size ${actual} does not match the collection's vector size ${expected}.`);
    this.name = 'VectorSizeMismatch';
    this.expected = expected;
    this.actual = actual;
  }
}

export class VectorCollectionNotFound extends Error {
  readonly collection: string;
  constructor(collection: string) {
    super(`Vector collection ${collection} does not exist.`);
    this.name = 'VectorCollectionNotFound';
    this.collection = collection;
  }
}

/** ensureCollection found the collection with another size or distance. */
export class VectorCollectionConflict extends Error {
  readonly collection: string;
  readonly existing: { vectorSize: number; distance: VectorDistance };
  constructor(collection: string, existing: { vectorSize: number; distance: VectorDistance }, requested: { vectorSize: number; distance: VectorDistance }) {
    super(
      `Vector collection ${collection} exists with vector size ${existing.vectorSize} and distance ${existing.distance}, ` +
        `not ${requested.vectorSize} and ${requested.distance}.`,
    );
    this.name = 'VectorCollectionConflict';
    this.collection = collection;
    this.existing = existing;
  }
}
