import type { ManagedBy } from '../domain/model-server.ts';
import type { VectorDistance } from '../vectors/vector-store.ts';

/**
 * `ready`: searchable, its vectors match the model. `stale`: the model's
 * digest changed since its vectors were made (still searchable, on the old
 * vectors). `reembedding`: a new physical collection is being filled; searches
 * use the old one until the swap. A re-embed that fails returns the
 * collection to its status before (`reembed.error` says why; the old vectors
 * still serve).
 */
export type CollectionStatus = 'ready' | 'stale' | 'reembedding';

export interface ReembedProgress {
  /** Records read so far (re-embedded or skipped). */
  done: number;
  total: number;
  /** Vectors stored without text (precomputed): not re-embedded, copied unchanged when their size fits the new collection. */
  skipped: number;
  /** Of those, the ones left out because the model's vector size changed. */
  dropped: number;
  error: string | null;
}

export interface VectorCollection {
  name: string;
  model: string;
  vectorSize: number;
  distance: VectorDistance;
  backend: string;
  /** The backend's collection that answers searches now. */
  physicalName: string;
  status: CollectionStatus;
  /** The model digest the vectors came from (Ollama's digest), when the server reports one. */
  modelDigest: string | null;
  /** The digest the model has now, while `stale`. */
  staleDigest: string | null;
  /** The physical collection a running re-embed fills. */
  reembedTarget: string | null;
  reembed: ReembedProgress | null;
  managedBy: ManagedBy;
  createdAt: string;
  updatedAt: string;
}

export const vectorDistances: readonly VectorDistance[] = ['cosine', 'dot', 'euclid'];
