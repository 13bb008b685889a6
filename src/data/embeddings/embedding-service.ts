import { performance } from 'node:perf_hooks';
import type { FastifyBaseLogger } from 'fastify';
import type { EmbeddingSettings, RoutingStrategy } from '../../config/config-schema.ts';
import type { ByteCache } from '../../cache/byte-cache.ts';
import { AppError } from '../../errors/app-error.ts';
import { errors } from '../../errors/error-catalogue.ts';
import { mapWithConcurrency } from '../../lib/map-with-concurrency.ts';
import type { InferenceProxy } from '../proxy/inference-proxy.ts';
import { newOutcome, type RequestOutcome } from '../proxy/request-outcome.ts';
import { parseAutoModel } from '../routing/auto-select.ts';
import type { Deployment } from '../routing/deployment.ts';
import type { ModelIndex } from '../routing/model-index.ts';
import { resolveCandidates, type RouteLookup } from '../routing/resolve-candidates.ts';
import { vectorsOf } from './direct-embedder.ts';
import type { EmbedRequest, EmbedResult, Embedder } from './embedder.ts';
import { decodeVector, embeddingCacheKey, embeddingCacheScope, encodeVector, toFloat32 } from './embedding-cache-entry.ts';
import { embeddingCandidates, splitIntoBatches, type EmbeddingCandidates } from './embedding-candidates.ts';
import type { HedgedCaller } from './hedged-call.ts';

export interface EmbeddingServiceOptions {
  proxy: InferenceProxy;
  index: ModelIndex;
  routes: RouteLookup | null;
  strategy: RoutingStrategy;
  /** Null: no embedding cache. */
  cache: ByteCache | null;
  settings: EmbeddingSettings;
  hedger: HedgedCaller;
  /** llm_cache_requests_total{cache="embedding"}: counted per input. */
  countCache: (result: 'hit' | 'miss' | 'bypass', inputs: number) => void;
  /** Takes a deployment out of rotation for its model (see ServerRegistry.holdModel). */
  holdDeployment: (deployment: Deployment, message: string) => void;
  log: FastifyBaseLogger;
}

interface SentTexts {
  vectors: number[][];
  deployment: Deployment | null;
  hedged: boolean;
}

/** What one request learned while its sub-batches were answered. */
interface BatchState {
  /** The dimension every vector of this answer must have; set by the model's record or the first answer. */
  dimension: number | null;
  /** A route over several models: the model the first answer came from, which the others must match. */
  servedModel: string | null;
  outcome: RequestOutcome;
  hedged: boolean;
  last: Deployment | null;
  signal: AbortSignal;
}

const allowAll = () => true;

/**
 * The gateway's Embedder (decision 0014): serves what it can from the
 * embedding cache, sends only the unseen texts upstream, cut into
 * sub-batches each deployment accepts and sent in parallel (each routed and
 * failed over on its own, hedged when slow), checks every answer against the
 * model's dimension, and answers all vectors in the inputs' order.
 */
export class EmbeddingService implements Embedder {
  readonly #options: EmbeddingServiceOptions;
  // The dimension each model id answered first, for models no probe or fleet file describes.
  readonly #pinned = new Map<string, number>();

  constructor(options: EmbeddingServiceOptions) {
    this.#options = options;
  }

  /** Inputs that never reach the pipeline (token arrays, sent as they are) still count as cache bypasses. */
  countBypass(inputs: number): void {
    this.#options.countCache('bypass', inputs);
  }

  async embed(request: EmbedRequest): Promise<EmbedResult> {
    const outcome = newOutcome(request.requestId, 'embeddings', request.model, request.keyId, false, request.api ?? 'openai');
    try {
      const result = await this.#embed(request, outcome);
      outcome.status = 200;
      return result;
    } catch (error) {
      const failure = error instanceof AppError ? error : errors.internal(error);
      outcome.status = request.signal?.aborted === true ? 499 : failure.status;
      outcome.errorType = request.signal?.aborted === true ? 'SY_CLIENT_DISCONNECTED' : failure.code;
      throw failure;
    } finally {
      outcome.latencyMs = performance.now() - outcome.startedPerf;
      if (request.recorded !== false) this.#options.proxy.observe(outcome);
      request.onSettled?.(outcome);
    }
  }

  async #embed(request: EmbedRequest, outcome: RequestOutcome): Promise<EmbedResult> {
    const { settings } = this.#options;
    if (request.inputs.length === 0) throw errors.invalidRequest('input must hold at least one text.', 'input');
    if (request.inputs.length > settings.max_inputs) throw errors.batchTooLarge(request.inputs.length, settings.max_inputs);
    const isAllowed = request.isAllowed ?? allowAll;
    const resolution = isAllowed(request.model) && parseAutoModel(request.model, undefined) === null ? resolveCandidates(request.model, this.#options.index, this.#options.routes, this.#options.strategy) : null;
    // Unknown, outside the allow-list, or `auto`: no cache, one call, and the proxy's own answer (404, 503, its choice).
    const candidates = resolution === null ? null : embeddingCandidates(resolution, settings.batch_size);
    outcome.route = resolution?.route ?? null;
    outcome.strategy = resolution?.groups[0]?.strategy ?? null;
    const mode = request.cache ?? 'use';
    const servedModel = candidates !== null && candidates.modelIds.length === 1 ? (candidates.modelIds[0] as string) : null;
    const cache = settings.cache && mode !== 'no-store' && servedModel !== null ? this.#options.cache : null;
    // A re-pulled or upgraded model (another digest) must not be answered with its previous version's vectors.
    const revision = candidates === null ? '' : modelRevision(candidates.deployments);
    const scope = cache === null ? null : embeddingCacheScope(revision === '' ? (servedModel as string) : `${servedModel as string}@${revision}`, request.dimensions, request.options ?? {});

    // Each distinct text is looked up and sent once, however often it appears.
    const firstSeat = new Map<string, number>();
    const uniqueTexts: string[] = [];
    const seatOf = request.inputs.map((text) => {
      let seat = firstSeat.get(text);
      if (seat === undefined) {
        seat = uniqueTexts.push(text) - 1;
        firstSeat.set(text, seat);
      }
      return seat;
    });
    const keys = scope === null ? null : uniqueTexts.map((text) => embeddingCacheKey(scope, text));
    const found: Array<number[] | null> = keys !== null && mode === 'use' ? await this.#lookup(keys, request.dimensions ?? candidates?.declaredDimension ?? this.#pinned.get(servedModel as string) ?? null) : uniqueTexts.map(() => null);
    const missing: number[] = [];
    found.forEach((vector, seat) => vector === null && missing.push(seat));
    const cachedCount = uniqueTexts.length - missing.length;

    let sent: SentTexts = { vectors: [], deployment: null, hedged: false };
    if (missing.length > 0) {
      const dimension = found.find((vector) => vector !== null)?.length ?? null;
      // Each sub-batch is cached as soon as it is answered: a request that fails later keeps what it paid for.
      const writes: Array<Promise<void>> = [];
      const onAnswered = cache === null || keys === null ? null : (positions: readonly number[], vectors: readonly number[][]) => {
        writes.push(this.#store(cache, positions.map((position, offset) => ({ key: keys[missing[position] as number] as string, value: encodeVector(vectors[offset] as number[]) }))));
      };
      sent = await this.#send(missing.map((seat) => uniqueTexts[seat] as string), request, candidates, outcome, dimension, onAnswered);
      missing.forEach((seat, position) => (found[seat] = sent.vectors[position] as number[]));
      // Awaited so the next request sees them (a cache that fails answers at once: #store never throws).
      await Promise.all(writes);
    }
    const vectors = seatOf.map((seat) => found[seat] as number[]);
    const sentSeats = new Set(missing);
    const inputsFromCache = seatOf.filter((seat) => !sentSeats.has(seat)).length;
    const cacheResult = cache === null ? 'bypass' : missing.length === 0 ? 'hit' : 'miss';
    this.#count(cacheResult, request.inputs.length, cache === null ? 0 : inputsFromCache);
    outcome.cacheHit = cacheResult === 'hit';
    outcome.servedModel = sent.deployment?.model.modelId ?? servedModel;
    return {
      vectors,
      dimension: vectors[0]?.length ?? 0,
      servedModel: outcome.servedModel ?? request.model,
      serverName: sent.deployment?.server.name ?? null,
      promptTokens: outcome.promptTokens,
      cachedCount,
      hedged: sent.hedged,
      cache: cacheResult,
      attempts: outcome.attempts,
      route: outcome.route,
    };
  }

  /** Cached vectors by key; a backend that fails answers misses (a cache never fails a request). */
  async #lookup(keys: readonly string[], dimension: number | null): Promise<Array<number[] | null>> {
    const entries = await this.#options.cache!.getMany(keys).catch(() => keys.map(() => null));
    // An entry of another dimension (the model changed under the same id) is a miss, and is overwritten.
    return entries.map((bytes) => (bytes === null || (dimension !== null && bytes.length !== dimension * 4) ? null : decodeVector(bytes)));
  }

  async #store(cache: ByteCache, entries: Array<{ key: string; value: Buffer }>): Promise<void> {
    const ttl = this.#options.settings.cache_ttl_s === 0 ? null : this.#options.settings.cache_ttl_s * 1000;
    await cache.setMany(entries, ttl).catch(() => undefined);
  }

  #count(result: 'hit' | 'miss' | 'bypass', inputs: number, fromCache: number): void {
    const count = this.#options.countCache;
    if (result === 'bypass') return count('bypass', inputs);
    if (fromCache > 0) count('hit', fromCache);
    if (inputs - fromCache > 0) count('miss', inputs - fromCache);
  }

  /** Sends texts upstream in sub-batches; answers one Float32-rounded vector per text, in order. */
  async #send(
    texts: string[],
    request: EmbedRequest,
    candidates: EmbeddingCandidates | null,
    outcome: RequestOutcome,
    knownDimension: number | null,
    onAnswered: ((positions: readonly number[], vectors: readonly number[][]) => void) | null,
  ): Promise<SentTexts> {
    const limits = candidates?.limits ?? { maxInputs: this.#options.settings.batch_size, maxTokens: null };
    const batches = splitIntoBatches(texts, limits);
    const controller = new AbortController();
    const onAbort = () => controller.abort();
    request.signal?.addEventListener('abort', onAbort, { once: true });
    const state: BatchState = {
      dimension: request.dimensions ?? knownDimension ?? candidates?.declaredDimension ?? (candidates?.modelIds.length === 1 ? (this.#pinned.get(candidates.modelIds[0] as string) ?? null) : null),
      servedModel: null,
      outcome,
      hedged: false,
      last: null,
      signal: controller.signal,
    };
    const send = async (positions: number[]) => {
      try {
        const vectors = await this.#sendBatch(positions.map((position) => texts[position] as string), request, candidates, state);
        onAnswered?.(positions, vectors);
        return vectors;
      } catch (error) {
        // One sub-batch failed for good: the answer fails, so the others stop (those done stay in the cache).
        controller.abort();
        throw error;
      }
    };
    try {
      // A route over several models: the first answer decides the model, the others must come from it too.
      const mixed = candidates !== null && candidates.modelIds.length > 1 && batches.length > 1;
      const head = mixed ? [await send(batches[0] as number[])] : [];
      const rest = await mapWithConcurrency(mixed ? batches.slice(1) : batches, this.#options.settings.concurrency, send);
      const answers = [...head, ...rest];
      const vectors: number[][] = new Array(texts.length);
      batches.forEach((positions, batch) => positions.forEach((position, offset) => (vectors[position] = (answers[batch] as number[][])[offset] as number[])));
      return { vectors, deployment: state.last, hedged: state.hedged };
    } finally {
      request.signal?.removeEventListener('abort', onAbort);
    }
  }

  /**
   * One sub-batch: routed, failed over and hedged by the proxy; an answer of
   * the wrong dimension (or shape) takes its deployment out and is sent again
   * elsewhere, so no answer mixes dimensions.
   */
  async #sendBatch(texts: string[], request: EmbedRequest, candidates: EmbeddingCandidates | null, state: BatchState): Promise<number[][]> {
    const exclude = new Set<string>();
    let mismatch: AppError | null = null;
    const rounds = Math.max(1, (candidates?.deployments.length ?? 0) + 1);
    for (let round = 0; round < rounds; round++) {
      if (state.signal.aborted) throw errors.clientDisconnected();
      // Every deployment answered wrong: asking with all of them excluded would make the proxy ask one again.
      if (round > 0 && candidates !== null && candidates.deployments.every((deployment) => exclude.has(deployment.key))) break;
      if (state.servedModel !== null && candidates !== null) {
        for (const deployment of candidates.deployments) if (deployment.model.modelId !== state.servedModel) exclude.add(deployment.key);
      }
      let answer;
      try {
        answer = await this.#options.hedger.call({
          operation: 'embeddings',
          body: { ...request.options, input: texts, ...(request.dimensions === undefined ? {} : { dimensions: request.dimensions }) },
          modelName: request.model,
          requestId: request.requestId,
          keyId: request.keyId,
          signal: state.signal,
          exclude,
          observed: false,
          ...(request.isAllowed === undefined ? {} : { isAllowed: request.isAllowed }),
          ...(request.log === undefined ? {} : { log: request.log }),
        });
      } catch (error) {
        // Nowhere left to send it after taking mismatched deployments out: say so, not "no healthy server".
        throw mismatch !== null && error instanceof AppError && error.code === 'SY_NO_HEALTHY_DEPLOYMENT' ? mismatch : error;
      }
      state.outcome.attempts += answer.outcome.attempts;
      state.outcome.promptTokens += answer.outcome.promptTokens;
      const problem = this.#check(answer.body, texts.length, answer.deployment, request, state);
      if (typeof problem !== 'string') {
        state.last = answer.deployment;
        state.servedModel ??= answer.deployment.model.modelId;
        state.hedged ||= answer.hedged;
        state.outcome.serverId = answer.deployment.server.id;
        state.outcome.serverName = answer.deployment.server.name;
        return problem;
      }
      exclude.add(answer.deployment.key);
      mismatch = problem === 'shape' ? errors.upstreamNotJson() : errors.embeddingDimensionMismatch(request.model, state.dimension as number, dimensionOf(answer.body), request.dimensions !== undefined);
    }
    throw mismatch ?? errors.noHealthyDeployment(request.model);
  }

  /** The answer's vectors, or why they cannot be used (`shape`, `dimension`); pins the dimension on a first answer. */
  #check(body: unknown, expected: number, deployment: Deployment, request: EmbedRequest, state: BatchState): number[][] | 'shape' | 'dimension' {
    let vectors: number[][];
    try {
      vectors = vectorsOf(body, expected).map(toFloat32);
    } catch (error) {
      (request.log ?? this.#options.log).warn({ server: deployment.server.name, model: deployment.model.modelId, err: error instanceof Error ? error.message : 'unknown' }, 'embeddings answer unusable; sent elsewhere');
      return 'shape';
    }
    const first = vectors[0]?.length ?? 0;
    const uniform = vectors.every((vector) => vector.length === first && vector.every(Number.isFinite));
    if (!uniform) return 'shape';
    if (state.dimension === null) {
      state.dimension = first;
      if (request.dimensions === undefined && !this.#pinned.has(deployment.model.modelId)) this.#pinned.set(deployment.model.modelId, first);
    }
    if (first === state.dimension) return vectors;
    // A server that ignores `dimensions` is not broken for other requests: only a native answer of the wrong size takes it out.
    if (request.dimensions === undefined) {
      const message = `Answered embeddings of ${first} dimensions where ${deployment.model.modelId}'s are ${state.dimension}: out of rotation for this model until the server's next health check.`;
      (request.log ?? this.#options.log).warn({ server: deployment.server.name, model: deployment.model.modelId, expected: state.dimension, answered: first }, 'deployment answered another embedding dimension; out of rotation');
      this.#options.holdDeployment(deployment, message);
    }
    return 'dimension';
  }
}

function dimensionOf(body: unknown): number {
  const first = (body as { data?: Array<{ embedding?: unknown }> } | null)?.data?.[0]?.embedding;
  return Array.isArray(first) ? first.length : 0;
}

/** The digests the deployments report for their model (Ollama's), sorted; empty when none does. */
function modelRevision(deployments: readonly Deployment[]): string {
  const digests = new Set<string>();
  for (const deployment of deployments) {
    const digest = deployment.model.details['digest'];
    if (typeof digest === 'string' && digest !== '') digests.add(digest);
  }
  return [...digests].sort().join(',');
}
