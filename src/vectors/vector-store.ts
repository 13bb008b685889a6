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
  /** Creates it if missing; an existing one of another size or distance is an error. */
  ensureCollection(spec: CollectionSpec): Promise<void>;
  dropCollection(name: string): Promise<void>;
  /** All or nothing; a record whose id exists replaces it. Vectors of the wrong size are refused before anything is written. */
  upsert(collection: string, records: readonly VectorRecord[]): Promise<void>;
  /** Best first. */
  search(collection: string, query: { vector: readonly number[]; topK: number; filter?: MetadataFilter }): Promise<VectorHit[]>;
  get(collection: string, id: string): Promise<VectorRecord | null>;
  /** By ids, by filter, or both (AND); answers how many were deleted. */
  delete(collection: string, selector: { ids?: readonly string[]; filter?: MetadataFilter }): Promise<number>;
  count(collection: string): Promise<number>;
  /** Records in id order after `afterId` (re-embedding reads every stored text this way). */
  scan(collection: string, afterId: string | null, limit: number): Promise<VectorRecord[]>;
  close(): Promise<void>;
}
