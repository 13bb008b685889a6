import type { ModelAdmission, Permit } from '../admission/model-admission.ts';
import { ShedError, type PriorityClass } from '../admission/fair-queue.ts';
import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyBaseLogger } from 'fastify';
import type { Dispatcher } from 'undici';
import type { RoutingStrategy, UpstreamSettings } from '../../config/config-schema.ts';
import { AppError } from '../../errors/app-error.ts';
import { errors } from '../../errors/error-catalogue.ts';
import type { NativeRequest, Operation, UpstreamPlan } from '../adapters/inference-mapping.ts';
import { findServerKind } from '../adapters/server-kinds.ts';
import type { ServerKindModule, TokenUsage } from '../adapters/server-kind-module.ts';
import { usageOfAnswer } from '../adapters/shared/openai-usage.ts';
import { joinUrl } from '../adapters/server-adapter.ts';
import type { Deployment } from '../routing/deployment.ts';
import type { ModelIndex } from '../routing/model-index.ts';
import type { PrefixAffinity } from '../routing/prefix-affinity.ts';
import { resolveCandidates, unresolvableRoute, type CandidateGroup, type Resolution, type RouteLookup } from '../routing/resolve-candidates.ts';
import { isRoutable } from '../routing/deployment-picker.ts';
import { cannotServe, capabilityRefusal, unsupported } from '../routing/capability-check.ts';
import { parseAutoModel, selectAutoModel, type AutoChoice } from '../routing/auto-select.ts';
import { toUpstreamError } from '../upstream/transport-error.ts';
import { UpstreamError } from '../upstream/upstream-error.ts';
import { parseRetryAfter } from '../upstream/upstream-http.ts';
import { routeHeaderList, writeJson, type RouteHeaders } from './client-reply.ts';
import { writeError, type ErrorShape } from '../../errors/error-reply.ts';
import { backoffDelay, RetryBudget } from './retry-budget.ts';
import { RequestRetries } from './request-retries.ts';
import { newOutcome, type ClientApi, type RequestObserver, type RequestOutcome } from './request-outcome.ts';
import { ollamaNdjsonFraming } from './ndjson-framing.ts';
import type { RequestTrace, RequestTracer } from './request-tracer.ts';
import {
  busyOrFailed,
  contentTypeOf,
  isEventStream,
  looksLikeJson,
  parseJson,
  pickFromGroups,
  upstreamRefusal,
  withAutoField,
} from './answer-bytes.ts';
import { writeSynthesizedStream } from './synthesized-stream.ts';
import { sendAttempt, type AnswerBody } from './upstream-attempt.ts';
import { relayStream } from './stream-relay.ts';
import { readCapped } from '../upstream/read-capped.ts';

export interface InferenceCall {
  operation: Operation;
  body: Record<string, unknown>;
  modelName: string;
  stream: boolean;
  requestId: string;
  response: ServerResponse;
  /** Headers to add to the answer (rate-limit state). */
  extraHeaders?: Record<string, string>;
  /** The caller's model allow-list; a name outside it does not exist for this caller. */
  isAllowed?: (name: string) => boolean;
  /** Prompt tokens as estimated before the call (for streams whose server reports none). */
  estimatedPromptTokens?: number;
  /** Who asked (for usage records). */
  /** The key's class in the admission queues (default standard). */
  priority?: PriorityClass;
  keyId?: string | null;
  /** The caller's W3C `traceparent`, continued when tracing is on. */
  traceparent?: string | null;
  /** The request's child logger (it carries the request id). */
  log?: FastifyBaseLogger;
  /** The API the caller speaks, for the shape of error answers (default `openai`). */
  errorShape?: ErrorShape;
  /** The API the request came in on, for metrics and the usage record (default `openai`). */
  api?: ClientApi;
  /**
   * The caller's request in its own API: a deployment whose kind speaks it
   * gets it untouched (and its answer goes back untouched); the others get
   * `body`, its OpenAI translation. `onChosen` hears which, before each attempt.
   */
  native?: { request: NativeRequest; onChosen: (isNative: boolean) => void };
  /** Called once, when the request is over, with its outcome (the tokens it really used, status, timings). */
  onSettled?: (outcome: RequestOutcome) => void;
  /** Deployments (Deployment.key) not to try at all (a hedge avoids the one already asked). */
  exclude?: ReadonlySet<string>;
  /** Told of each deployment just before it is asked. */
  onAttempt?: (deployment: Deployment) => void;
  /** Told of the error the caller is answered with, when it fails. */
  onFailure?: (error: AppError) => void;
  /** False: no metrics or usage record (a part of a request that is recorded as a whole). Default true. */
  observed?: boolean;
  /**
   * Told the whole answer (chat.completion / text_completion JSON) once a 2xx
   * was delivered completely; a stream is reassembled only when this is set
   * (the response cache), and only a stream that ended with [DONE] is told.
   */
  onAnswer?: (answer: Record<string, unknown>) => void;
}

type Usage = RequestOutcome;

type AttemptResult = { done: true } | { done: false; error: AppError; retryable: boolean };
const done: AttemptResult = { done: true };

/**
 * The data plane: picks a deployment, calls it, and retries elsewhere on
 * failures that happen before the first byte reaches the client, never after.
 */
/** What the proxy asks of the model registry's activation state (kept to an interface: data does not depend on control). */
export interface ActivationLookup {
  readonly anyInactive: boolean;
  isInactive(modelId: string): boolean;
}

function withoutInactive(resolution: Resolution, activation: ActivationLookup): Resolution {
  return { ...resolution, groups: resolution.groups.map((group) => ({ ...group, deployments: group.deployments.filter((deployment) => !activation.isInactive(deployment.model.modelId)) })) };
}

export class InferenceProxy {
  readonly #index: ModelIndex;
  readonly #settings: UpstreamSettings;
  /** The configured default; null: prefix-affinity for prompts with a choice of deployment, least-inflight otherwise. */
  readonly #strategy: RoutingStrategy | null;
  readonly #dispatcher: Dispatcher;
  readonly #log: FastifyBaseLogger;
  readonly #budget: RetryBudget;

  readonly #onRejectedKey: (serverId: string, status: number) => void;
  readonly #onCooldown: (serverId: string, modelId: string, ms: number) => void;
  readonly #routes: RouteLookup | null;
  readonly #observer: RequestObserver;
  readonly #tracer: RequestTracer | null;
  readonly #activation: ActivationLookup | null;
  readonly #admission: ModelAdmission | null;
  readonly #affinity: PrefixAffinity | null;

  constructor(options: {
    index: ModelIndex;
    settings: UpstreamSettings;
    /** The default strategy; unset: prefix-affinity for prompts with a choice of deployment, least-inflight otherwise. */
    strategy?: RoutingStrategy;
    dispatcher: Dispatcher;
    log: FastifyBaseLogger;
    /** Called when a server rejects its stored key (marks it misconfigured; off the request path). */
    onRejectedKey?: (serverId: string, status: number) => void;
    /** A server asked for a pause (Retry-After on 429/503): other replicas are told (decision 0033). */
    onCooldown?: (serverId: string, modelId: string, ms: number) => void;
    routes?: RouteLookup;
    /** Told about every finished request (metrics, usage records). */
    observer?: RequestObserver;
    /** Spans per request and attempt, when tracing is configured. */
    tracer?: RequestTracer | null;
    /** Models an administrator deactivated: never routed to. */
    activation?: ActivationLookup;
    /** Per-model queueing once every deployment is at capacity; absent: requests are never held back. */
    admission?: ModelAdmission;
    /** Where prompt prefixes went, for routes and models under `prefix-affinity`. */
    prefixAffinity?: PrefixAffinity;
  }) {
    this.#activation = options.activation ?? null;
    this.#admission = options.admission ?? null;
    this.#affinity = options.prefixAffinity ?? null;
    this.#observer = options.observer ?? (() => undefined);
    this.#tracer = options.tracer ?? null;
    this.#onRejectedKey = options.onRejectedKey ?? (() => undefined);
    this.#onCooldown = options.onCooldown ?? (() => undefined);
    this.#routes = options.routes ?? null;
    this.#index = options.index;
    this.#settings = options.settings;
    this.#strategy = options.strategy ?? null;
    this.#dispatcher = options.dispatcher;
    this.#log = options.log;
    this.#budget = new RetryBudget(options.settings.retry_budget_ratio);
  }

  /** True when an administrator deactivated the model: caches must not answer for it either (the proxy refuses it). */
  isDeactivated(modelName: string): boolean {
    return this.#activation !== null && this.#activation.anyInactive && this.#activation.isInactive(modelName);
  }

  async handle(call: InferenceCall): Promise<void> {
    const outcome = newOutcome(call.requestId, call.operation, call.modelName, call.keyId ?? null, call.stream, call.api ?? 'openai');
    const requestTrace = this.#tracer?.start({ operation: call.operation, requestId: call.requestId, model: call.modelName, traceparent: call.traceparent ?? null }) ?? null;
    const held: HeldPermit = { permit: null };
    try {
      await this.#handle(call, outcome, requestTrace, held);
    } finally {
      // Its capacity goes to the next request waiting for the model, whatever ended this one.
      held.permit?.release();
      outcome.latencyMs = performance.now() - outcome.startedPerf;
      if (outcome.status === 0) outcome.status = call.response.headersSent ? call.response.statusCode : 499;
      call.onSettled?.(outcome);
      if (call.observed !== false) this.#observer(outcome);
      requestTrace?.end(outcome);
    }
  }

  async #handle(call: InferenceCall, usage: Usage, requestTrace: RequestTrace | null, held: HeldPermit): Promise<void> {
    const route: RouteHeaders = { requestId: call.requestId, server: null, model: null, attempts: 0, route: null, reason: null, extra: call.extraHeaders ?? null };
    const activation = this.#activation !== null && this.#activation.anyInactive ? this.#activation : null;
    const allowed = call.isAllowed ?? (() => true);
    // A deactivated model is as good as absent for auto-selection.
    const isAllowed = activation === null ? allowed : (name: string) => allowed(name) && !activation.isInactive(name);
    const autoPriority = parseAutoModel(call.modelName, call.body['priority']);
    if (activation !== null && autoPriority === null && this.#routes?.byName(call.modelName) === undefined && activation.isInactive(call.modelName)) {
      return this.#fail(call, usage, errors.modelDeactivated(call.modelName), route);
    }
    let auto: AutoChoice | null = null;
    if (autoPriority !== null) {
      auto = selectAutoModel(call.operation, call.body, autoPriority, this.#index, Date.now(), isAllowed);
      if (auto === null) return this.#fail(call, usage, errors.noModelForAuto(call.operation), route);
      delete call.body['priority'];
      route.reason = `${call.modelName} chose ${auto.model}: ${auto.reason}`;
    }
    const resolved = auto !== null || isAllowed(call.modelName) ? resolveCandidates(auto?.model ?? call.modelName, this.#index, this.#routes, this.#strategy ?? 'least-inflight') : null;
    // A route skips its deactivated targets and fallbacks for the others.
    const resolution = activation === null || resolved === null ? resolved : withoutInactive(resolved, activation);
    if (resolution === null) {
      // Declared on a server (its expected models) but not found there yet: that server is down, not the name wrong.
      if (auto === null && isAllowed(call.modelName) && this.#index.isKnown(call.modelName)) return this.#fail(call, usage, errors.noHealthyDeployment(call.modelName), route);
      // A model outside the caller's allow-list answers exactly like one that does not exist.
      const suggestions = this.#index.suggest(call.modelName, { isAllowed, extra: this.#routes?.list().map((candidate) => candidate.name) ?? [] });
      return this.#fail(call, usage, errors.unknownModel(call.modelName, suggestions), route);
    }
    if (this.#strategy === null && (call.operation === 'chat' || call.operation === 'completion')) preferPrefixAffinity(resolution.groups);
    route.route = resolution.route;
    usage.route = resolution.route;
    usage.strategy = resolution.groups[0]?.strategy ?? null;
    const unresolvable = unresolvableRoute(resolution, this.#routes, this.#index);
    if (unresolvable !== null) return this.#fail(call, usage, errors.routeUnresolved(unresolvable.name, unresolvable.targets, unresolvable.fallbacks), route);
    // A model known not to do this (chat on an embedder) is refused before any server is asked.
    const refusal = capabilityRefusal(call.modelName, call.operation, resolution.groups);
    if (refusal !== null) return this.#fail(call, usage, refusal, route);
    const client = new AbortController();
    call.response.on('close', () => {
      if (!call.response.writableFinished) client.abort();
    });
    // Gone before this point (while its body was read, or hung up in-process): its 'close' has passed already.
    if (call.response.destroyed && !call.response.writableFinished) client.abort();
    const startedAt = Date.now();
    // The deadline counts from arrival: time spent waiting for capacity is part of it.
    const deadlineAt = startedAt + this.#settings.request_deadline_ms;
    if (this.#admission !== null) {
      // Keyed by the model(s) served, not the name asked for: a route and its model share one queue and one capacity.
      const admitted = this.#admission.admit((resolution.groups[0] as CandidateGroup).model, capacityOf(resolution.groups, startedAt), { keyId: call.keyId ?? '', priority: call.priority ?? 'standard', signal: client.signal, deadlineAt });
      try {
        held.permit = admitted instanceof Promise ? await admitted : admitted;
        usage.queueWaitMs = held.permit.waitedMs;
      } catch (error) {
        if (!(error instanceof ShedError)) throw error;
        usage.queueWaitMs = error.waitedMs;
        if (error.reason === 'client_gone') {
          clientGone(usage);
          return;
        }
        return this.#fail(call, usage, errors.modelSaturated(call.modelName, error.reason === 'queue_full' ? 'full' : 'waited'), route);
      }
    }
    this.#budget.onRequest(Date.now());
    const affinity = this.#affinity === null || !promptRouted(call.operation, resolution.groups) ? null : this.#affinity.forRequest(call.body, (resolution.groups[0] as CandidateGroup).model);
    const autoReason = route.reason;
    const tried = new Set<string>(call.exclude);
    // Deployments that hung, answered garbage or cannot serve this are not asked again within this request, even when no other is left.
    let notAgain: Set<string> | null = null;
    // Built only when needed: an Error captures a stack trace, which costs on every request.
    let lastError: AppError | null = null;
    const retries = new RequestRetries(this.#budget, this.#settings.max_attempts);
    for (;;) {
      if (client.signal.aborted) return;
      const pick = pickFromGroups(resolution.groups, tried, Date.now(), notAgain, retries.firstOpenGroup, affinity);
      if (pick === null) break;
      const { deployment } = pick;
      const kind = findServerKind(deployment.server.serverType);
      const plan = kind === undefined || cannotServe(deployment, call.operation) ? null : (call.native === undefined ? null : this.#nativePlan(kind, call.native.request, deployment)) ?? this.#plan(kind, call, deployment);
      if (plan === null || kind === undefined) {
        // This model or kind of server cannot do it (say, rerank on Ollama): not an attempt; try the others.
        lastError = unsupported(call.modelName, call.operation, resolution.groups);
        tried.add(deployment.key);
        (notAgain ??= new Set()).add(deployment.key);
        continue;
      }
      // A retry on the same model that may not be made moves the request on to its next model, if it has one.
      // The budget guards servers against retry storms; a request that never reached one (refused, no route) added no load.
      const admitted = retries.admit(pick.group, !isNeverSent(lastError), Date.now());
      if (admitted === null) continue;
      if (admitted === 'retry') {
        const wait = Math.min(backoffDelay(retries.retries, this.#settings.retry_base_delay_ms), deadlineAt - Date.now());
        if (wait > 0) await sleep(wait, undefined, { signal: client.signal }).catch(() => undefined);
        if (client.signal.aborted) return;
      }
      if (Date.now() >= deadlineAt) {
        lastError = new UpstreamError('The request deadline passed before a server answered.', { failure: 'timeout' });
        break;
      }
      tried.add(deployment.key);
      if (affinity !== null) {
        const why = affinity.sentTo(deployment);
        if (why !== null) route.reason = autoReason === null ? why : `${autoReason}; ${why}`;
      }
      call.onAttempt?.(deployment);
      call.native?.onChosen(plan.native === true);
      route.attempts++;
      route.server = deployment.server.name;
      route.model = deployment.model.modelId;
      usage.attempts = route.attempts;
      usage.servedModel = deployment.model.modelId;
      usage.serverId = deployment.server.id;
      usage.serverName = deployment.server.name;
      const attemptTrace = requestTrace?.attempt({ server: deployment.server.name, model: deployment.model.modelId, number: route.attempts }) ?? null;
      const result = await this.#attempt(deployment, kind, plan, call, route, client, deadlineAt, auto, usage, attemptTrace?.traceparent ?? null);
      attemptTrace?.end({ status: result.done ? usage.status : ((result.error as { upstreamStatus?: number | null }).upstreamStatus ?? null), error: result.done ? usage.errorType : result.error.code });
      if (result.done) return;
      lastError = result.error;
      if (!result.retryable) break;
      if (isNotWorthRepeating(result.error)) (notAgain ??= new Set()).add(deployment.key);
    }
    if (retries.budgetStopped && lastError !== null) lastError = withBudgetNote(lastError);
    if (client.signal.aborted) {
      clientGone(usage);
      return;
    }
    this.#fail(call, usage, lastError ?? errors.noHealthyDeployment(call.modelName), route);
  }

  /** A kind that cannot plan (its settings unreadable, a plugin's bug) is treated as unable to serve, not as a crash. */
  #plan(kind: ServerKindModule, call: InferenceCall, deployment: Deployment): UpstreamPlan | null {
    try {
      return kind.plan(call.operation, call.body, deployment.model.modelId, deployment.server, deployment.model);
    } catch (error) {
      (call.log ?? this.#log).error({ server: deployment.server.name, kind: kind.id, err: error instanceof Error ? error.message : 'unknown' }, 'server kind could not plan a request');
      return null;
    }
  }

  /** The caller's native request, when this deployment's kind speaks that API (see InferenceCall.native). */
  #nativePlan(kind: ServerKindModule, request: NativeRequest, deployment: Deployment): UpstreamPlan | null {
    if (kind.native === undefined) return null;
    try {
      return kind.native(request, deployment.model.modelId, deployment.server);
    } catch (error) {
      this.#log.error({ server: deployment.server.name, kind: kind.id, err: error instanceof Error ? error.message : 'unknown' }, 'server kind could not plan a native request');
      return null;
    }
  }

  #fail(call: InferenceCall, usage: Usage, error: AppError, route: RouteHeaders): void {
    call.onFailure?.(error);
    usage.status = error.status;
    usage.errorType = error.code;
    writeError(call.response, error, { shape: call.errorShape ?? 'openai', requestId: call.requestId, headers: routeHeaderList(route) });
  }

  /**
   * One non-streamed request made by the gateway itself (embedding for the
   * vector store or the semantic cache, a sub-batch, a hedge), with the same
   * routing, failover and breakers as a client's. Answers the parsed JSON in
   * the caller's API shape; throws the AppError a client would have received.
   */
  async callJson(call: InternalCall): Promise<InternalAnswer> {
    const reply = new CapturedReply(call.signal);
    let failure: AppError | null = null;
    let deployment: Deployment | null = null;
    let settled: RequestOutcome | null = null;
    await this.handle({
      operation: call.operation,
      body: { ...call.body, model: call.modelName },
      modelName: call.modelName,
      stream: false,
      requestId: call.requestId,
      response: reply as unknown as ServerResponse,
      keyId: call.keyId ?? null,
      ...(call.api === undefined ? {} : { api: call.api }),
      ...(call.isAllowed === undefined ? {} : { isAllowed: call.isAllowed }),
      ...(call.log === undefined ? {} : { log: call.log }),
      ...(call.exclude === undefined ? {} : { exclude: call.exclude }),
      observed: call.observed ?? false,
      onAttempt: (chosen) => {
        deployment = chosen;
        call.onAttempt?.(chosen);
      },
      onFailure: (error) => (failure = error),
      onSettled: (outcome) => (settled = outcome),
    });
    reply.detach();
    const outcome = settled as unknown as RequestOutcome;
    if (failure !== null) throw failure;
    if (call.signal?.aborted === true || reply.body === null) throw errors.clientDisconnected();
    return { status: reply.statusCode, body: parseJson(reply.body), deployment: deployment as unknown as Deployment, outcome };
  }

  /** Takes one retry from the retry budget (a hedge is one); false when the budget is spent. */
  takeRetry(): boolean {
    return this.#budget.tryRetry(Date.now());
  }

  /** Tells the observer about a request refused before it reached the proxy (quota, bad body), as the client saw it. */
  observe(outcome: RequestOutcome): void {
    this.#observer(outcome);
  }

  async #attempt(
    deployment: Deployment,
    kind: ServerKindModule,
    plan: UpstreamPlan,
    call: InferenceCall,
    route: RouteHeaders,
    client: AbortController,
    deadlineAt: number,
    auto: AutoChoice | null,
    usage: Usage,
    traceparent: string | null,
  ): Promise<AttemptResult> {
    const state = deployment.state;
    const now = Date.now();
    state.inflight++;
    state.breaker.onAttempt();
    // One controller per attempt: the caller leaving, the deadline, or the stream's maximum duration ends it.
    const attempt = new AbortController();
    const onClientAbort = () => attempt.abort();
    client.signal.addEventListener('abort', onClientAbort, { once: true });
    const deadline = setTimeout(() => attempt.abort(new DOMException('deadline', 'TimeoutError')), Math.max(1, deadlineAt - now));
    const started = performance.now();
    try {
      const outcome = await sendAttempt({
        dispatcher: this.#dispatcher,
        url: joinUrl(deployment.server.baseUrl, plan.path),
        method: plan.method ?? 'POST',
        headers: plan.headers,
        body: JSON.stringify(plan.body),
        requestId: call.requestId,
        controller: attempt,
        traceparent,
        // A server that cannot stream sends nothing until its whole answer is ready, even for a caller's stream.
        firstByteTimeoutMs: Math.max(1, Math.min(call.stream && plan.synthesizeStream !== true ? this.#settings.first_byte_timeout_ms : this.#settings.non_stream_timeout_ms, deadlineAt - now)),
        settings: this.#settings,
        isCallerGone: () => client.signal.aborted,
        // A caller that asked for no stream gets a whole answer: read whole, without a stream object in between.
        ...(call.stream ? {} : { readWhole: { limit: this.#settings.max_response_bytes, what: `${plan.method ?? 'POST'} ${plan.path}` } }),
      });
      if (outcome.kind === 'error') {
        if (client.signal.aborted) return clientGone(usage);
        return this.#failed(call.log ?? this.#log, deployment, outcome.error);
      }
      state.recordTtfb(performance.now() - started);
      usage.ttftMs = performance.now() - usage.startedPerf;
      const { status, headers, body } = outcome;
      if (status >= 500 || status === 429) {
        discard(body);
        const retryAfter = parseRetryAfter(headers['retry-after']);
        if ((status === 429 || status === 503) && retryAfter !== null) {
          state.cooldownUntil = Date.now() + retryAfter;
          this.#onCooldown(deployment.server.id, deployment.model.modelId, retryAfter);
        }
        const error = busyOrFailed(status, retryAfter);
        // A busy server (429) is not a sick one: cooldown, but no strike against its circuit.
        return status === 429 ? { done: false, error, retryable: true } : this.#failed(call.log ?? this.#log, deployment, error);
      }
      if (status >= 300 && status < 400) {
        // Redirects are never followed: a server cannot send us (or its key) elsewhere.
        discard(body);
        return this.#failed(call.log ?? this.#log, deployment, new UpstreamError(`The model server answered a redirect (HTTP ${status}), which Switchyard does not follow.`, { failure: 'protocol', upstreamStatus: status }));
      }
      if (status === 401 || status === 403) {
        discard(body);
        (call.log ?? this.#log).warn({ server: deployment.server.name, status }, 'model server rejected its stored API key');
        this.#onRejectedKey(deployment.server.id, status);
        return { done: false, error: errors.upstreamRejectedKey(), retryable: true };
      }
      const isNdjson = plan.framing === 'ndjson';
      if (body.kind === 'stream' && call.stream && status < 300 && (isNdjson ? isNdjsonType(headers['content-type']) : isEventStream(headers['content-type']))) {
        const failure = await relayStream({
          deployment,
          body: body.stream,
          response: call.response,
          route,
          attempt,
          client,
          usage,
          ...(plan.stream === undefined ? {} : { translator: plan.stream }),
          estimatePromptTokens: () => call.estimatedPromptTokens ?? roughPromptTokens(call.body),
          maxDurationMs: this.#settings.max_stream_duration_ms,
          maxEventBytes: this.#settings.max_event_bytes,
          // The request deadline bounds the wait for an answer; a stream that has begun is bounded by its maximum duration.
          onStarted: () => clearTimeout(deadline),
          log: call.log ?? this.#log,
          errorShape: call.errorShape ?? 'openai',
          // A native answer is not OpenAI's: the response cache keeps none of it.
          ...(call.onAnswer === undefined || plan.native === true ? {} : { onAnswer: call.onAnswer }),
          ...(isNdjson ? { framing: ollamaNdjsonFraming } : {}),
          ...(plan.streamUsage === undefined ? {} : { usageReader: plan.streamUsage }),
        });
        return failure === null ? done : this.#failed(call.log ?? this.#log, deployment, failure);
      }
      const bytes = body.kind === 'whole' ? await body.bytes : await readCapped(body.stream, this.#settings.max_response_bytes, `${plan.method ?? 'POST'} ${plan.path}`);
      if (status >= 400) {
        // The caller's mistake (bad field, context too long): its answer, and no strike against the server.
        this.#fail(call, usage, upstreamRefusal(bytes, status), route);
        return done;
      }
      const rewrite = plan.translate !== undefined || auto !== null;
      // Relayed untouched, so checked here (a rewritten answer is parsed anyway): a 200 of garbage is the server's failure.
      if (!rewrite && !looksLikeJson(bytes)) return this.#failed(call.log ?? this.#log, deployment, errors.upstreamNotJson());
      // A translated answer is ours, in OpenAI's shape; an untranslated one is read the kind's way.
      const translated = plan.translate === undefined ? undefined : plan.translate(parseJson(bytes));
      const reported: TokenUsage = translated === undefined ? (plan.readUsage ?? kind.readUsage)(bytes) : (usageOfAnswer(translated) ?? noUsage);
      usage.promptTokens = reported.promptTokens || (call.estimatedPromptTokens ?? roughPromptTokens(call.body));
      usage.completionTokens = reported.completionTokens;
      if (call.operation === 'chat' || call.operation === 'completion') {
        state.recordThroughput(reported.completionTokens, performance.now() - started);
      }
      state.breaker.onSuccess();
      usage.status = status;
      if (call.stream && plan.synthesizeStream === true) {
        const whole = translated ?? parseJson(bytes);
        writeSynthesizedStream(call.response, route, whole, includesUsage(call.body));
        tellAnswer(call, whole);
        return done;
      }
      const answer = rewrite ? JSON.stringify(withAutoField(translated === undefined ? parseJson(bytes) : translated, auto)) : bytes;
      writeJson(call.response, status, answer, route, rewrite ? 'application/json' : contentTypeOf(headers));
      if (call.onAnswer !== undefined && status < 300 && plan.native !== true) tellAnswer(call, translated ?? parsedOrNull(bytes));
      return done;
    } catch (error) {
      if (client.signal.aborted) return clientGone(usage);
      return this.#failed(call.log ?? this.#log, deployment, toUpstreamError(error, `${plan.method ?? 'POST'} ${plan.path}`, false));
    } finally {
      clearTimeout(deadline);
      client.signal.removeEventListener('abort', onClientAbort);
      state.inflight--;
    }
  }

  #failed(log: FastifyBaseLogger, deployment: Deployment, error: UpstreamError): AttemptResult {
    deployment.state.breaker.onFailure(Date.now());
    log.warn({ server: deployment.server.name, model: deployment.model.modelId, code: error.code }, 'upstream attempt failed');
    return { done: false, error, retryable: error.retryable || error.failure === 'protocol' };
  }
}

export interface InternalCall {
  operation: Operation;
  /** The API the call came in on, when it is observed (default `openai`). */
  api?: ClientApi;
  body: Record<string, unknown>;
  modelName: string;
  requestId: string;
  keyId?: string | null;
  isAllowed?: (name: string) => boolean;
  /** Aborts the call (the upstream request is cancelled). */
  signal?: AbortSignal;
  exclude?: ReadonlySet<string>;
  onAttempt?: (deployment: Deployment) => void;
  log?: FastifyBaseLogger;
  /** Record metrics and a usage record for this call (default false). */
  observed?: boolean;
}

export interface InternalAnswer {
  status: number;
  /** The answer in OpenAI's (or the rerank) shape, parsed. */
  body: unknown;
  /** Who answered. */
  deployment: Deployment;
  /** Tokens, attempts, timings (recorded only when the call was `observed`). */
  outcome: RequestOutcome;
}

/**
 * What the proxy writes a non-streamed answer to, kept in memory for an
 * internal call. The proxy only ever calls writeHead/end on a non-stream
 * answer; 'close' before the end is how it learns the caller gave up.
 */
class CapturedReply extends EventEmitter {
  statusCode = 0;
  headersSent = false;
  destroyed = false;
  writableEnded = false;
  writableFinished = false;
  body: Buffer | null = null;
  readonly #signal: AbortSignal | undefined;
  readonly #onAbort = () => {
    this.destroyed = true;
    this.emit('close');
  };

  constructor(signal: AbortSignal | undefined) {
    super();
    this.#signal = signal;
    if (signal?.aborted === true) queueMicrotask(this.#onAbort);
    else signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  writeHead(status: number): this {
    this.statusCode = status;
    this.headersSent = true;
    return this;
  }

  end(chunk?: Buffer | string): this {
    this.body = chunk === undefined ? Buffer.alloc(0) : Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
    this.writableEnded = true;
    this.writableFinished = true;
    return this;
  }

  detach(): void {
    this.#signal?.removeEventListener('abort', this.#onAbort);
  }
}

/** An answer's body that is not wanted (an error status): read and dropped, so the connection stays reusable. */
function discard(body: AnswerBody): void {
  if (body.kind === 'whole') body.discard();
  else body.stream.dump().catch(() => undefined);
}

/** Only an answer that reached the caller whole is told (the cache keeps nothing half-sent). */
function tellAnswer(call: InferenceCall, answer: unknown): void {
  if (call.onAnswer === undefined || call.response.destroyed || !call.response.writableEnded || answer === null || typeof answer !== 'object' || Array.isArray(answer)) return;
  call.onAnswer(answer as Record<string, unknown>);
}

/** The answer already went out: one that does not parse is simply not kept. */
function parsedOrNull(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch {
    return null;
  }
}

const noUsage: TokenUsage = { promptTokens: 0, completionTokens: 0 };

function includesUsage(body: Record<string, unknown>): boolean {
  const options = body['stream_options'];
  return options !== null && typeof options === 'object' && (options as { include_usage?: unknown }).include_usage === true;
}

function isNdjsonType(contentType: string | string[] | undefined): boolean {
  const value = Array.isArray(contentType) ? contentType[0] : contentType;
  return value !== undefined && value.toLowerCase().includes('ndjson');
}

/** The same failure, saying that the retry budget (not the lack of another server) kept it from being retried. */
function withBudgetNote(error: AppError): AppError {
  const message = `${error.message} The gateway's retry budget is exhausted (too many retries in the last seconds), so the request was not retried.`;
  if (error instanceof UpstreamError) {
    return new UpstreamError(message, { failure: error.failure, upstreamStatus: error.upstreamStatus, retryAfterMs: error.retryAfterMs, cause: error.cause, neverSent: error.neverSent });
  }
  return new AppError(error.code, { message, param: error.param, retryAfterMs: error.retryAfterMs, status: error.status, cause: error.cause });
}

/** The request never reached a server (refused, no route): a retry adds no load there. */
function isNeverSent(error: AppError | null): boolean {
  return error instanceof UpstreamError && error.neverSent;
}

/** A server that hung or answered garbage would most likely do it again: retrying it costs the caller more of the same. */
function isNotWorthRepeating(error: AppError): boolean {
  return error instanceof UpstreamError && (error.failure === 'timeout' || error.failure === 'protocol');
}

/** The client left: nothing is written; the record says so. */
/** The permit a request holds while it runs (see ModelAdmission), released when it is over. */
interface HeldPermit {
  permit: Permit | null;
}

/**
 * What the deployments a request could go to can run at once, counting each
 * routable one once; null (unbounded) as soon as one has no known capacity,
 * and when none is routable (the request then fails fast, it does not wait).
 * Allocates nothing in the usual case, where no capacity is known.
 */
function capacityOf(groups: readonly CandidateGroup[], now: number): number | null {
  let total = 0;
  let counted = 0;
  let seen: Set<string> | null = null;
  for (const group of groups) {
    for (const deployment of group.deployments) {
      if (!isRoutable(deployment, now)) continue;
      if (deployment.capacity === null) return null;
      if (groups.length > 1) {
        seen ??= new Set();
        if (seen.has(deployment.key)) continue;
        seen.add(deployment.key);
      }
      total += deployment.capacity;
      counted++;
    }
  }
  return counted === 0 ? null : total;
}

/**
 * The default strategy for prompts: prefix-affinity wherever there is a
 * choice of deployment (the multi-turn benchmark in docs/benchmarks.md: lower
 * time to first token at p50 and p95 than least-inflight), unless a route chose.
 */
function preferPrefixAffinity(groups: readonly CandidateGroup[]): void {
  for (const group of groups) if (group.defaulted && group.deployments.length > 1) group.strategy = 'prefix-affinity';
}

/** Whether a prompt's prefix decides where it goes: a prompt, under a prefix-affinity group with a choice to make. */
function promptRouted(operation: Operation, groups: readonly CandidateGroup[]): boolean {
  if (operation !== 'chat' && operation !== 'completion') return false;
  let deployments = 0;
  let affine = false;
  for (const group of groups) {
    deployments += group.deployments.length;
    if (group.strategy === 'prefix-affinity') affine = true;
  }
  // One deployment in all: nothing to choose, so nothing to hash.
  return affine && deployments > 1;
}

function clientGone(usage: Usage): AttemptResult {
  usage.status = 499;
  usage.errorType = 'SY_CLIENT_DISCONNECTED';
  return done;
}

/** About four characters a token: used only when a server reports no usage. */
function roughPromptTokens(body: Record<string, unknown>): number {
  const text = body['messages'] ?? body['prompt'] ?? body['input'] ?? '';
  return Math.ceil((typeof text === 'string' ? text.length : JSON.stringify(text).length) / 4);
}
