import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyBaseLogger } from 'fastify';
import type { ByteCache } from '../../cache/byte-cache.ts';
import type { CachePolicyRegistry } from '../../control/cache/cache-policy-registry.ts';
import type { CachePolicy } from '../../domain/cache-policy.ts';
import type { Operation } from '../adapters/inference-mapping.ts';
import type { Embedder } from '../embeddings/embedder.ts';
import { readCacheDirectives } from './cache-directives.ts';
import { requestKeys, type RequestKeys } from './request-key.ts';
import { decodeIndex, encodeIndex, nearest, normalized, withEntry } from './semantic-index.ts';

/** What `x-switchyard-cache` says. */
export type CacheStatus = 'hit' | 'semantic-hit' | 'miss' | 'bypass';
/** Which lookup a request counted under in `llm_cache_requests_total` (see docs/decisions/0013). */
export type CacheCounted = { cache: 'response' | 'semantic'; result: 'hit' | 'miss' | 'bypass' };

/** A stored answer, as kept in the ByteCache. */
export interface StoredAnswer {
  /** The chat.completion / text_completion JSON that was answered. */
  answer: Record<string, unknown>;
  /** Epoch ms (the cache's clock). */
  storedAt: number;
  expiresAt: number;
}

export interface CacheLookup {
  status: CacheStatus;
  /** The answer to replay (hit, semantic-hit). */
  hit: StoredAnswer | null;
  /** Keeps a miss's answer (null when nothing is to be stored: bypass, a ttl of 0). */
  store: ((answer: Record<string, unknown>) => void) | null;
}

export interface CacheRequest {
  operation: Operation;
  modelName: string;
  body: Record<string, unknown>;
  headers: IncomingHttpHeaders;
  keyId: string | null;
  requestId: string;
  isAllowed?: (name: string) => boolean;
  log: FastifyBaseLogger;
}

const bypass: CacheLookup = { status: 'bypass', hit: null, store: null };
const bypassCounted: CacheCounted = { cache: 'response', result: 'bypass' };
const answerPrefix = 'response:answer:';
const indexPrefix = 'response:index:';
/** A semantic lookup that waits longer on its embedding is a miss: the cache must not slow a request much. */
const embedTimeoutMs = 2_000;

/**
 * The response cache for /v1/chat/completions and /v1/completions: off for a
 * name without a policy; exact (the normalised request) or semantic (the
 * nearest last user message under an identical prefix). Every failure of the
 * cache itself (its backend, the embedding) is a miss, never a failed request.
 */
export class ResponseCache {
  readonly #policies: CachePolicyRegistry;
  readonly #bytes: ByteCache;
  readonly #embedder: Embedder;
  readonly #clock: () => number;
  readonly #count: (counted: CacheCounted) => void;
  #lastEmbedWarnAt = Number.NEGATIVE_INFINITY;
  readonly #storing = new Map<string, Promise<void>>();

  constructor(options: { policies: CachePolicyRegistry; bytes: ByteCache; embedder: Embedder; clock?: () => number; count?: (counted: CacheCounted) => void }) {
    this.#policies = options.policies;
    this.#bytes = options.bytes;
    this.#embedder = options.embedder;
    this.#clock = options.clock ?? Date.now;
    this.#count = options.count ?? (() => undefined);
  }

  /** The cache's clock (epoch ms): ages and expiry follow it. */
  now(): number {
    return this.#clock();
  }

  /**
   * Synchronous when caching is off for the request (no policy, another
   * operation): the hot path awaits nothing. Throws only for a malformed
   * cache header (the caller's mistake, answered 400).
   */
  lookup(request: CacheRequest): CacheLookup | Promise<CacheLookup> {
    const policy = this.policyFor(request.operation, request.modelName, request.isAllowed);
    return policy === undefined ? bypass : this.lookupUnder(request, policy);
  }

  /**
   * The policy that caches this request, or undefined (counted as a bypass).
   * Allocates nothing: with caching off, this is all a request pays.
   */
  policyFor(operation: Operation, modelName: string, isAllowed?: (name: string) => boolean): CachePolicy | undefined {
    const policy = this.#policies.byName(modelName);
    // A model outside the key's allow-list is never answered from the cache (a global scope would leak it): the proxy refuses it.
    const isRefused = policy !== undefined && isAllowed !== undefined && !isAllowed(modelName);
    if (policy === undefined || isRefused || (operation !== 'chat' && operation !== 'completion')) {
      this.#count(bypassCounted);
      return undefined;
    }
    return policy;
  }

  /** The lookup under the policy `policyFor` answered. */
  async lookupUnder(request: CacheRequest, policy: CachePolicy): Promise<CacheLookup> {
    const directives = readCacheDirectives(request.headers);
    if (directives.isBypassed) {
      this.#count(bypassCounted);
      return bypass;
    }
    const isSemantic = policy.mode === 'semantic';
    const keys = requestKeys(request.operation, request.modelName, request.body, policy.scope === 'global' ? '*' : `key:${request.keyId ?? ''}`, isSemantic);
    const ttlS = directives.ttlS ?? policy.ttlS;
    let vector: Float32Array | null = null;
    // A semantic answer is indexed under the vector of its last user message: the lookup's, or (no-cache) one made when storing.
    const vectorOf = async () => vector ?? (keys.lastUserText === null ? null : this.#embed(policy, keys.lastUserText, request));
    const store = ttlS === 0 ? null : (answer: Record<string, unknown>) => this.#track(keys, this.#store(keys, vectorOf, answer, ttlS, request.log));
    if (directives.isReadSkipped) {
      this.#count({ cache: isSemantic ? 'semantic' : 'response', result: 'miss' });
      return { status: 'miss', hit: null, store };
    }
    // Its twin just missed in this replica and is being stored (the answer has gone out; the store follows):
    // wait for it, so a client that repeats itself at once reads its own answer rather than missing again.
    const storing = this.#storing.get(keys.exact) ?? (keys.prefix === null ? undefined : this.#storing.get(keys.prefix));
    if (storing !== undefined) await storing;
    const exact = await this.#read(answerPrefix + keys.exact);
    if (exact !== null) {
      this.#count({ cache: 'response', result: 'hit' });
      return { status: 'hit', hit: exact, store: null };
    }
    if (!isSemantic || keys.prefix === null || keys.lastUserText === null) {
      this.#count({ cache: 'response', result: 'miss' });
      return { status: 'miss', hit: null, store };
    }
    vector = await this.#embed(policy, keys.lastUserText, request);
    const semantic = vector === null ? null : await this.#nearest(keys.prefix, vector, policy.similarity);
    this.#count({ cache: 'semantic', result: semantic === null ? 'miss' : 'hit' });
    return semantic === null ? { status: 'miss', hit: null, store } : { status: 'semantic-hit', hit: semantic, store: null };
  }

  async #read(key: string): Promise<StoredAnswer | null> {
    let bytes: Buffer | null;
    try {
      bytes = await this.#bytes.get(key);
    } catch {
      // The backend logs its own failures (at most once a minute); here it is a miss.
      return null;
    }
    const stored = decodeStored(bytes);
    return stored === null || stored.expiresAt <= this.#clock() ? null : stored;
  }

  async #embed(policy: CachePolicy, text: string, request: CacheRequest): Promise<Float32Array | null> {
    try {
      const result = await this.#embedder.embed({
        model: policy.embeddingModel as string,
        inputs: [text],
        requestId: request.requestId,
        keyId: request.keyId,
        signal: AbortSignal.timeout(embedTimeoutMs),
        log: request.log,
        ...(request.isAllowed === undefined ? {} : { isAllowed: request.isAllowed }),
      });
      const vector = result.vectors[0];
      return vector === undefined || vector.length === 0 ? null : normalized(vector);
    } catch (error) {
      // Once a minute at most: an embedding model that is down would otherwise log on every request.
      const now = Date.now();
      if (now - this.#lastEmbedWarnAt >= 60_000) {
        this.#lastEmbedWarnAt = now;
        request.log.warn({ model: policy.embeddingModel, code: (error as { code?: unknown }).code ?? null }, 'semantic cache: a last user message could not be embedded; such requests are answered as misses');
      }
      return null;
    }
  }

  async #nearest(prefix: string, vector: Float32Array, similarity: number): Promise<StoredAnswer | null> {
    let index;
    try {
      index = decodeIndex(await this.#bytes.get(indexPrefix + prefix));
    } catch {
      return null;
    }
    const found = nearest(index, vector, similarity);
    return found === null ? null : this.#read(answerPrefix + found.entry.key);
  }

  /** Stores under way, by exact key and (semantic) prefix; a store never rejects. */
  #track(keys: RequestKeys, storing: Promise<void>): void {
    const names = keys.prefix === null ? [keys.exact] : [keys.exact, keys.prefix];
    for (const name of names) this.#storing.set(name, storing);
    void storing.finally(() => {
      for (const name of names) if (this.#storing.get(name) === storing) this.#storing.delete(name);
    });
  }

  async #store(keys: RequestKeys, vectorOf: () => Promise<Float32Array | null>, answer: Record<string, unknown>, ttlS: number, log: FastifyBaseLogger): Promise<void> {
    const storedAt = this.#clock();
    const stored: StoredAnswer = { answer, storedAt, expiresAt: storedAt + ttlS * 1000 };
    try {
      await this.#bytes.set(answerPrefix + keys.exact, Buffer.from(JSON.stringify(stored)), ttlS * 1000);
      if (keys.prefix === null) return;
      const vector = await vectorOf();
      if (vector === null) return;
      // Read, add, write: two replicas storing under one prefix at once may drop one entry of the index (that answer is then only an exact hit).
      const indexKey = indexPrefix + keys.prefix;
      const index = decodeIndex(await this.#bytes.get(indexKey));
      await this.#bytes.set(indexKey, encodeIndex(withEntry(index, { key: keys.exact, vector })), ttlS * 1000);
    } catch (error) {
      log.warn({ err: error instanceof Error ? error.message : 'unknown' }, 'response cache: an answer could not be stored');
    }
  }
}

function decodeStored(bytes: Buffer | null): StoredAnswer | null {
  if (bytes === null) return null;
  try {
    const value = JSON.parse(bytes.toString('utf8')) as Partial<StoredAnswer> | null;
    if (value === null || typeof value !== 'object' || typeof value.storedAt !== 'number' || typeof value.expiresAt !== 'number') return null;
    if (value.answer === null || typeof value.answer !== 'object') return null;
    return value as StoredAnswer;
  } catch {
    return null;
  }
}
