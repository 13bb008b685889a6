import type { ManagedBy } from './model-server.ts';

export const cacheModes = ['exact', 'semantic'] as const;
export type CacheMode = (typeof cacheModes)[number];
export const cacheScopes = ['key', 'global'] as const;
export type CacheScope = (typeof cacheScopes)[number];

export const defaultSimilarity = 0.95;

/**
 * A response cache for one model or route name (what callers put in `model`).
 * `scope: key` keeps each key's answers to itself; `semantic` also answers a
 * request whose last user message is close enough to a stored one's, when
 * everything before that message is identical (docs/decisions/0013).
 */
export interface CachePolicy {
  name: string;
  mode: CacheMode;
  ttlS: number;
  scope: CacheScope;
  /** Cosine similarity a semantic hit needs (semantic only). */
  similarity: number;
  /** The fleet model that embeds last user messages (semantic only). */
  embeddingModel: string | null;
  managedBy: ManagedBy;
  createdAt: string;
  updatedAt: string;
}
