import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../../auth/key-ring.ts';
import { isModelAllowed } from '../../auth/model-allow-list.ts';
import { QuotaService, type QuotaDecision } from '../../auth/quota/quota-service.ts';
import type { EmbeddingPipeline } from '../../data/embeddings/create-embedding-service.ts';
import type { NativeRequest, Operation } from '../../data/adapters/inference-mapping.ts';
import type { InferenceProxy } from '../../data/proxy/inference-proxy.ts';
import { newOutcome, type ClientApi, type RequestOutcome } from '../../data/proxy/request-outcome.ts';
import { replayAnswer } from '../../data/response-cache/replay-answer.ts';
import type { CacheLookup, CacheStatus, ResponseCache, StoredAnswer } from '../../data/response-cache/response-cache.ts';
import { parseAutoModel } from '../../data/routing/auto-select.ts';
import type { ModelIndex } from '../../data/routing/model-index.ts';
import { hasForbiddenCharacters } from '../../domain/model-name.ts';
import type { AppError } from '../../errors/app-error.ts';
import { errors } from '../../errors/error-catalogue.ts';
import type { ErrorShape } from '../../errors/error-reply.ts';
import { logRequestSummary } from '../../observability/request-summary.ts';
import { answerEmbeddings, answerRerank, pipelineAnswer, textInputs, type PipelineCall } from '../openai/embeddings-route.ts';
import { addCompletionTokens, estimatePromptTokens } from '../openai/estimate-tokens.ts';
import type { ClientDialect } from './client-dialect.ts';
import { DialectResponse } from './dialect-response.ts';
import { frontDoorOf } from '../internal/internal-rest.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Set on the inference routes: what a usage record of a refused request says was asked for. */
    operation?: Operation;
    /** The API an inference route belongs to (default `openai`). */
    api?: ClientApi;
  }
}

export interface FrontDoorDependencies {
  proxy: InferenceProxy;
  index: ModelIndex;
  quota: QuotaService;
  /** Completion tokens reserved for a request without max_tokens (see estimate-tokens.ts). */
  defaultCompletionTokens: number;
  /** The response cache (chat and completions); null: every answer says `x-switchyard-cache: bypass`. */
  responseCache: ResponseCache | null;
  /** Embeddings (cache, splitting, dimension checks) and hedged rerank; without it both are forwarded as they are. */
  embeddings?: EmbeddingPipeline;
}

/** One request through a front door: what to run and how the caller speaks. */
export interface FrontDoorCall {
  operation: Operation;
  api: ClientApi;
  /** The OpenAI-shaped body the engine routes (the caller's own for /v1, a translation otherwise). */
  body: Record<string, unknown>;
  /** Whether the caller asked for a stream (its own API's default applied). */
  stream: boolean;
  /** Absent for OpenAI's own API: the answer is written exactly as the proxy writes it. */
  dialect?: ClientDialect;
  /** The error shape of answers the proxy writes (default `openai`). */
  errorShape?: ErrorShape;
  /** The caller's request in its own API, passed through untouched where a deployment speaks it. */
  native?: NativeRequest;
}

const allowAll = () => true;
const unlimitedDecision: QuotaDecision = { ok: true, ticket: null, headers: {} };
const cacheStatusHeader = 'x-switchyard-cache';
const bypassLookup: CacheLookup = { status: 'bypass', hit: null, store: null };
/** The headers of a request without limits that no cache policy applies to: shared, never written to. */
const bypassHeaders: Record<string, string> = Object.freeze({ [cacheStatusHeader]: 'bypass' });

/**
 * The one way into the engine for every client API: the key's allow-list,
 * quota admission and settlement, the response and embedding caches, the
 * proxy (routing, retries, failover), the usage record and request summary.
 * `/v1` calls it with the caller's body; the other APIs with their
 * translation and a dialect that translates the answer back.
 */
export class InferenceFrontDoor {
  readonly #dependencies: FrontDoorDependencies;
  // Requests whose usage record the pipeline wrote itself, failures included: the refusal hook leaves them be.
  readonly #recordedHere = new WeakSet<FastifyRequest>();

  constructor(dependencies: FrontDoorDependencies) {
    this.#dependencies = dependencies;
  }

  /**
   * A request refused before the proxy (rate limit, budget, bad body) is still a usage record and a
   * metric, with the code the client received. Only once a key is known: anonymous noise is not usage.
   * Registered on each plugin that serves inference routes.
   */
  recordRefusals(instance: FastifyInstance): void {
    instance.addHook('onResponse', async (request, reply) => {
      const error = request.answeredError;
      const config = request.routeOptions.config;
      const operation = config.operation;
      if (error === null || request.principal === null || operation === undefined || this.#recordedHere.has(request)) return;
      const outcome = refusalOutcome(request, operation, frontDoorOf(request) ?? config.api ?? 'openai', error, reply.statusCode, reply.elapsedTime);
      this.#dependencies.proxy.observe(outcome);
      logRequestSummary(request.log, request, outcome, request.principal.name);
    });
  }

  async serve(request: FastifyRequest, reply: FastifyReply, frontCall: FrontDoorCall): Promise<unknown> {
    const { proxy, index, quota, defaultCompletionTokens, embeddings } = this.#dependencies;
    // GraphQL, WebSocket and gRPC callers come through the REST routes in-process: their records say so.
    const via = frontDoorOf(request);
    const call = via === null ? frontCall : { ...frontCall, api: via };
    const { operation, body } = call;
    const modelName = body['model'] as string;
    assertModelName(modelName);
    const principal = request.principal as Principal;
    // The response cache is for chat, completions and rerank; embeddings have their own. A native answer is no OpenAI one to keep.
    const isCacheable = operation !== 'embeddings' && call.native === undefined;
    // Set now, so a refusal (quota, bad header, a failed embedding) says it too.
    reply.header(cacheStatusHeader, 'bypass');
    const allowList = principal.models;
    const isAllowed = allowList === null ? allowAll : (name: string) => isModelAllowed(allowList, name);
    // Most keys carry no limits: then nothing is estimated or awaited on the request path.
    const limited = QuotaService.isLimited(principal);
    const promptEstimate = limited ? estimatePromptTokens(operation, body) : 0;
    const estimate = limited ? addCompletionTokens(operation, body, promptEstimate, { defaultCompletionTokens, contextLength: largestContext(index, modelName) }) : 0;
    // A model the key may not use is answered as unknown (by the proxy) and costs no quota.
    const counts = limited && (parseAutoModel(modelName, undefined) !== null || isAllowed(modelName));
    const decision = counts ? await quota.admit(principal, estimate) : unlimitedDecision;
    if (!decision.ok) {
      reply.headers(decision.headers);
      throw decision.error;
    }
    if (!limited) quota.touch(principal.keyId, 0);
    const onSettled = (outcome: RequestOutcome) => {
      quota.settle(decision.ticket, principal.keyId, outcome.promptTokens + outcome.completionTokens);
      logRequestSummary(request.log, request, outcome, principal.name);
    };
    // A deactivated model is refused by the proxy; no cache may answer for it first.
    const deactivated = proxy.isDeactivated(modelName);
    const texts = operation === 'embeddings' && embeddings !== undefined && !deactivated && call.native === undefined ? textInputs(body['input']) : null;
    if (texts !== null && embeddings !== undefined) {
      const answer = await this.#pipelined(request, reply, body, call.api, isAllowed, decision, onSettled, (pipelineCall) => answerEmbeddings(embeddings, { ...pipelineCall, texts }));
      if (call.dialect === undefined) return answer;
      const server = reply.getHeader('x-switchyard-server');
      return call.dialect.answer(answer as Record<string, unknown>, { server: typeof server === 'string' ? server : null });
    }
    // Caching off (no policy) is decided without allocating or awaiting anything.
    const responseCache = this.#dependencies.responseCache;
    const policy = isCacheable && responseCache !== null && !deactivated ? responseCache.policyFor(operation, modelName, isAllowed) : undefined;
    const found = !isCacheable ? null : policy === undefined || responseCache === null ? bypassLookup : responseCache.lookupUnder({ operation, modelName, body, headers: request.headers, keyId: principal.keyId, requestId: request.id, isAllowed, log: request.log }, policy);
    // A malformed cache header is refused after admission: what was reserved for the request is given back.
    const lookup = found instanceof Promise ? await found.catch((error: unknown) => {
      quota.settle(decision.ticket, principal.keyId, 0);
      throw error;
    }) : found;
    // Rerank not under a response-cache policy is hedged (safe to repeat); under one, the cache's path stores it.
    if (operation === 'rerank' && embeddings !== undefined && !deactivated && (lookup === null || lookup.status === 'bypass')) {
      return this.#pipelined(request, reply, body, call.api, isAllowed, decision, onSettled, (pipelineCall) => answerRerank(embeddings, proxy, pipelineCall));
    }
    reply.hijack();
    const dialectResponse = call.dialect === undefined ? null : new DialectResponse(reply.raw, call.dialect);
    const response = (dialectResponse ?? reply.raw) as ServerResponse;
    const onAnswer = lookup?.store ?? null;
    if (lookup?.hit != null && responseCache !== null) {
      this.#answerFromCache(request, reply, response, call, lookup.hit, lookup.status, decision, responseCache.now());
      // A hit is a request (rate limits) that used no tokens.
      quota.settle(decision.ticket, principal.keyId, 0);
      return;
    }
    // Token-array embeddings inputs skip the embedding cache and go through as they are.
    const cacheHeader = lookup?.status ?? (operation === 'embeddings' && embeddings !== undefined ? 'bypass' : null);
    if (operation === 'embeddings' && embeddings !== undefined) embeddings.embedder.countBypass(tokenInputCount(body['input']));
    await proxy.handle({
      operation,
      body,
      modelName,
      stream: call.stream,
      requestId: request.id,
      response,
      extraHeaders: cacheHeader === null ? decision.headers : cacheHeader === 'bypass' && decision === unlimitedDecision ? bypassHeaders : { ...decision.headers, [cacheStatusHeader]: cacheHeader },
      ...(onAnswer === null ? {} : { onAnswer }),
      isAllowed,
      keyId: principal.keyId,
      ...(principal.priority === 'standard' ? {} : { priority: principal.priority }),
      log: request.log,
      traceparent: typeof request.headers['traceparent'] === 'string' ? request.headers['traceparent'] : null,
      ...(limited ? { estimatedPromptTokens: promptEstimate } : {}),
      ...(call.api === 'openai' ? {} : { api: call.api }),
      ...(call.errorShape === undefined ? {} : { errorShape: call.errorShape }),
      ...(call.native === undefined || dialectResponse === null ? {} : { native: { request: call.native, onChosen: (isNative: boolean) => dialectResponse.setNative(isNative) } }),
      onSettled,
    });
  }

  /** Embeddings and hedged rerank: the pipeline records the request itself, failures included. */
  #pipelined(request: FastifyRequest, reply: FastifyReply, body: Record<string, unknown>, api: ClientApi, isAllowed: (name: string) => boolean, decision: QuotaDecision & { ok: true }, onSettled: (outcome: RequestOutcome) => void, run: (call: PipelineCall) => Promise<unknown>): Promise<unknown> {
    const keyId = (request.principal as Principal).keyId;
    const recorded = (outcome: RequestOutcome) => {
      this.#recordedHere.add(request);
      onSettled(outcome);
    };
    return pipelineAnswer(run, { request, reply, body, keyId, isAllowed, extraHeaders: decision.headers, onSettled: recorded, api }, () => this.#dependencies.quota.settle(decision.ticket, keyId, 0));
  }

  #answerFromCache(request: FastifyRequest, reply: FastifyReply, response: ServerResponse, call: FrontDoorCall, stored: StoredAnswer, status: CacheStatus, decision: QuotaDecision, now: number): void {
    const { body } = call;
    replayAnswer(response, stored, { isStream: call.stream, includeUsage: includesUsage(body), requestId: request.id, headers: { ...decision.headers, [cacheStatusHeader]: status }, now });
    const elapsed = reply.elapsedTime;
    const outcome = newOutcome(request.id, call.operation, body['model'] as string, (request.principal as Principal).keyId, call.stream, call.api);
    outcome.startedAt -= Math.round(elapsed);
    outcome.cacheHit = true;
    outcome.status = 200;
    outcome.servedModel = typeof stored.answer['model'] === 'string' ? stored.answer['model'] : null;
    outcome.latencyMs = elapsed;
    outcome.ttftMs = outcome.latencyMs;
    this.#dependencies.proxy.observe(outcome);
    logRequestSummary(request.log, request, outcome, (request.principal as Principal).name);
  }
}

function includesUsage(body: Record<string, unknown>): boolean {
  const options = body['stream_options'];
  return options !== null && typeof options === 'object' && (options as { include_usage?: unknown }).include_usage === true;
}

function refusalOutcome(request: FastifyRequest, operation: Operation, api: ClientApi, error: AppError, status: number, elapsedMs: number): RequestOutcome {
  // The model is in the body, or (the REST API's generate) in the path.
  const model = (request.body as { model?: unknown } | undefined)?.model ?? (request.params as { model?: unknown } | undefined)?.model;
  const outcome = newOutcome(request.id, operation, typeof model === 'string' ? model : '', request.principal?.keyId ?? null, false, api);
  outcome.startedAt -= Math.round(elapsedMs);
  outcome.status = status;
  outcome.errorType = error.code;
  outcome.latencyMs = elapsedMs;
  return outcome;
}

/** Inputs in a token-array embeddings input: a list of lists, or one list of token ids. */
function tokenInputCount(input: unknown): number {
  return Array.isArray(input) && Array.isArray(input[0]) ? input.length : 1;
}

/** The largest context among a model's deployments (the most it could generate), or null when none says. */
function largestContext(index: ModelIndex, name: string): number | null {
  let largest: number | null = null;
  for (const deployment of index.deploymentsOf(name)) {
    const context = deployment.model.contextLength;
    if (context !== null && (largest === null || context > largest)) largest = context;
  }
  return largest;
}

function assertModelName(name: string): void {
  if (hasForbiddenCharacters(name)) throw errors.invalidRequest('model contains characters a model name cannot have.', 'model');
}
