import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasForbiddenCharacters } from '../../domain/model-name.ts';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Operation } from '../../data/adapters/inference-mapping.ts';
import type { InferenceProxy } from '../../data/proxy/inference-proxy.ts';
import type { ModelIndex } from '../../data/routing/model-index.ts';
import type { RouteLookup } from '../../data/routing/resolve-candidates.ts';
import { findModelCard, listModelCards } from './model-cards.ts';
import { ChatBody, CompletionBody, EmbeddingsBody, RerankBody, steeringFields } from './openai-schemas.ts';
import type { Principal } from '../../auth/key-ring.ts';
import { isModelAllowed } from '../../auth/model-allow-list.ts';
import { QuotaService, type QuotaDecision } from '../../auth/quota/quota-service.ts';
import { parseAutoModel } from '../../data/routing/auto-select.ts';
import { errors } from '../../errors/error-catalogue.ts';
import { addCompletionTokens, estimatePromptTokens } from './estimate-tokens.ts';
import type { AppError } from '../../errors/app-error.ts';
import { newOutcome, type RequestOutcome } from '../../data/proxy/request-outcome.ts';
import { logRequestSummary } from '../../observability/request-summary.ts';
import type { CacheLookup, CacheStatus, ResponseCache, StoredAnswer } from '../../data/response-cache/response-cache.ts';
import { replayAnswer } from '../../data/response-cache/replay-answer.ts';
import type { EmbeddingPipeline } from '../../data/embeddings/create-embedding-service.ts';
import { answerEmbeddings, answerRerank, pipelineAnswer, textInputs, type PipelineCall } from './embeddings-route.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Set on the inference routes: what a usage record of a refused request says was asked for. */
    operation?: Operation;
  }
}

export interface OpenAIRouteDependencies {
  proxy: InferenceProxy;
  index: ModelIndex;
  /** Route names are model names too (`GET /v1/models/{route}`). */
  routes: RouteLookup | null;
  quota: QuotaService;
  bodyLimit: number;
  /** Completion tokens reserved for a request without max_tokens (see estimate-tokens.ts). */
  defaultCompletionTokens: number;
  /** The response cache (chat and completions); null: every answer says `x-switchyard-cache: bypass`. */
  responseCache?: ResponseCache | null;
  /** Embeddings (cache, splitting, dimension checks) and hedged rerank; without it both are forwarded as they are. */
  embeddings?: EmbeddingPipeline;
}

const allowAll = () => true;
const unlimitedDecision: QuotaDecision = { ok: true, ticket: null, headers: {} };

/** The OpenAI-compatible API under /v1. */
export async function openAIRoutes(instance: FastifyInstance, dependencies: OpenAIRouteDependencies): Promise<void> {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  const { proxy, index, routes, quota, bodyLimit, defaultCompletionTokens, embeddings } = dependencies;
  const responseCache = dependencies.responseCache ?? null;
  // Requests whose usage record the pipeline wrote itself, failures included: the refusal hook leaves them be.
  const recordedHere = new WeakSet<FastifyRequest>();

  const forward = (operation: Operation) => async (request: FastifyRequest, reply: FastifyReply) => {
    const body = { ...(request.body as Record<string, unknown>) };
    for (const field of steeringFields) delete body[field];
    const modelName = body['model'] as string;
    assertModelName(modelName);
    const principal = request.principal as Principal;
    // The response cache is for chat, completions and rerank; embeddings have their own, whose answer says its state.
    const isCacheable = operation !== 'embeddings';
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
    const texts = operation === 'embeddings' && embeddings !== undefined && !deactivated ? textInputs(body['input']) : null;
    if (texts !== null && embeddings !== undefined) return pipelined(request, reply, body, isAllowed, decision, onSettled, (call) => answerEmbeddings(embeddings, { ...call, texts }));
    // Caching off (no policy) is decided without allocating or awaiting anything.
    const policy = isCacheable && responseCache !== null && !deactivated ? responseCache.policyFor(operation, modelName, isAllowed) : undefined;
    const found = !isCacheable ? null : policy === undefined || responseCache === null ? bypassLookup : responseCache.lookupUnder({ operation, modelName, body, headers: request.headers, keyId: principal.keyId, requestId: request.id, isAllowed, log: request.log }, policy);
    // A malformed cache header is refused after admission: what was reserved for the request is given back.
    const lookup = found instanceof Promise ? await found.catch((error: unknown) => {
      quota.settle(decision.ticket, principal.keyId, 0);
      throw error;
    }) : found;
    // Rerank not under a response-cache policy is hedged (safe to repeat); under one, the cache's path stores it.
    if (operation === 'rerank' && embeddings !== undefined && !deactivated && (lookup === null || lookup.status === 'bypass')) return pipelined(request, reply, body, isAllowed, decision, onSettled, (call) => answerRerank(embeddings, proxy, call));
    reply.hijack();
    if (lookup?.hit != null && responseCache !== null) {
      answerFromCache(request, reply, lookup.hit, lookup.status, decision, responseCache.now());
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
      stream: body['stream'] === true,
      requestId: request.id,
      response: reply.raw,
      extraHeaders: cacheHeader === null ? decision.headers : cacheHeader === 'bypass' && decision === unlimitedDecision ? bypassHeaders : { ...decision.headers, [cacheStatusHeader]: cacheHeader },
      ...(lookup?.store == null ? {} : { onAnswer: lookup.store }),
      isAllowed,
      keyId: principal.keyId,
      log: request.log,
      traceparent: typeof request.headers['traceparent'] === 'string' ? request.headers['traceparent'] : null,
      ...(limited ? { estimatedPromptTokens: promptEstimate } : {}),
      onSettled,
    });
  };

  app.post('/chat/completions', { bodyLimit, schema: { body: ChatBody }, config: { operation: 'chat' } }, forward('chat'));
  app.post('/completions', { bodyLimit, schema: { body: CompletionBody }, config: { operation: 'completion' } }, forward('completion'));
  app.post('/embeddings', { bodyLimit, schema: { body: EmbeddingsBody }, config: { operation: 'embeddings' } }, forward('embeddings'));
  app.post('/rerank', { bodyLimit, schema: { body: RerankBody }, config: { operation: 'rerank' } }, forward('rerank'));

  // A request refused before the proxy (rate limit, budget, bad body) is still a usage record and a
  // metric, with the code the client received. Only once a key is known: anonymous noise is not usage.
  app.addHook('onResponse', async (request, reply) => {
    const error = request.answeredError;
    const operation = request.routeOptions.config.operation;
    if (error === null || request.principal === null || operation === undefined || recordedHere.has(request)) return;
    const outcome = refusalOutcome(request, operation, error, reply.statusCode, reply.elapsedTime);
    proxy.observe(outcome);
    logRequestSummary(request.log, request, outcome, request.principal.name);
  });

  /** Embeddings and hedged rerank: the pipeline records the request itself, failures included. */
  const pipelined = (request: FastifyRequest, reply: FastifyReply, body: Record<string, unknown>, isAllowed: (name: string) => boolean, decision: QuotaDecision & { ok: true }, onSettled: (outcome: RequestOutcome) => void, run: (call: PipelineCall) => Promise<unknown>) => {
    const keyId = (request.principal as Principal).keyId;
    const recorded = (outcome: RequestOutcome) => {
      recordedHere.add(request);
      onSettled(outcome);
    };
    return pipelineAnswer(run, { request, reply, body, keyId, isAllowed, extraHeaders: decision.headers, onSettled: recorded }, () => quota.settle(decision.ticket, keyId, 0));
  };

  const answerFromCache = (request: FastifyRequest, reply: FastifyReply, stored: StoredAnswer, status: CacheStatus, decision: QuotaDecision, now: number) => {
    const body = request.body as Record<string, unknown>;
    const isStream = body['stream'] === true;
    replayAnswer(reply.raw, stored, { isStream, includeUsage: includesUsage(body), requestId: request.id, headers: { ...decision.headers, [cacheStatusHeader]: status }, now });
    const operation = request.routeOptions.config.operation as Operation;
    const outcome = newOutcome(request.id, operation, body['model'] as string, (request.principal as Principal).keyId, isStream);
    outcome.startedAt -= Math.round(reply.elapsedTime);
    outcome.cacheHit = true;
    outcome.status = 200;
    outcome.servedModel = typeof stored.answer['model'] === 'string' ? stored.answer['model'] : null;
    outcome.latencyMs = reply.elapsedTime;
    outcome.ttftMs = outcome.latencyMs;
    proxy.observe(outcome);
    logRequestSummary(request.log, request, outcome, (request.principal as Principal).name);
  };

  const isAllowedFor = (principal: Principal) => (principal.models === null ? allowAll : (name: string) => isModelAllowed(principal.models, name));

  app.get('/models', async (request) => ({ object: 'list', data: listModelCards(index, routes, isAllowedFor(request.principal as Principal), Date.now()) }));

  // The `openai` client's models.retrieve sends `org/model` as `org%2Fmodel`; other clients send the slash as it is.
  // The wildcard takes both (decoded), and ids with `:` (`llama3:8b`).
  app.get('/models/*', async (request) => {
    const name = (request.params as { '*': string })['*'];
    const isAllowed = isAllowedFor(request.principal as Principal);
    const card = findModelCard(name, index, routes, isAllowed, Date.now());
    // A model outside the key's allow-list answers exactly like one that does not exist (as the list and inference do).
    if (card === null) throw errors.unknownModel(name, index.suggest(name, { isAllowed, extra: routes?.list().map((route) => route.name) ?? [] }));
    return card;
  });
}

const cacheStatusHeader = 'x-switchyard-cache';
const bypassLookup: CacheLookup = { status: 'bypass', hit: null, store: null };
/** The headers of a request without limits that no cache policy applies to: shared, never written to. */
const bypassHeaders: Record<string, string> = Object.freeze({ [cacheStatusHeader]: 'bypass' });

function includesUsage(body: Record<string, unknown>): boolean {
  const options = body['stream_options'];
  return options !== null && typeof options === 'object' && (options as { include_usage?: unknown }).include_usage === true;
}

function refusalOutcome(request: FastifyRequest, operation: Operation, error: AppError, status: number, elapsedMs: number): RequestOutcome {
  const model = (request.body as { model?: unknown } | undefined)?.model;
  const outcome = newOutcome(request.id, operation, typeof model === 'string' ? model : '', request.principal?.keyId ?? null, false);
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
