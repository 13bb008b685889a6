import type { FastifyReply, FastifyRequest } from 'fastify';
import type { EmbeddingPipeline } from '../../data/embeddings/create-embedding-service.ts';
import { vectorBase64 } from '../../data/embeddings/embedding-cache-entry.ts';
import { routeHeaderList } from '../../data/proxy/client-reply.ts';
import type { InferenceProxy } from '../../data/proxy/inference-proxy.ts';
import type { ClientApi, RequestOutcome } from '../../data/proxy/request-outcome.ts';

/** Fields of an embeddings body the pipeline reads itself; any other is passed to the server (and keys the cache). */
const ownFields = new Set(['model', 'input', 'encoding_format', 'dimensions', 'user']);

/** The texts of an embeddings `input` (a string, or strings); null for token arrays, which go straight through. */
export function textInputs(input: unknown): string[] | null {
  if (typeof input === 'string') return [input];
  if (Array.isArray(input) && input.length > 0 && input.every((item) => typeof item === 'string')) return input as string[];
  return null;
}

/** `Cache-Control: no-store` (neither read nor store), `no-cache` (store, do not read), as for the response cache. */
export function cacheModeOf(header: string | string[] | undefined): 'use' | 'no-cache' | 'no-store' {
  const directives = (Array.isArray(header) ? header.join(',') : (header ?? '')).toLowerCase().split(',').map((part) => part.trim());
  if (directives.includes('no-store')) return 'no-store';
  if (directives.includes('no-cache')) return 'no-cache';
  return 'use';
}

/** An abort signal that fires when the client goes away before its answer. */
export function clientGoneSignal(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) controller.abort();
  });
  // Gone already (while its body was read, or hung up in-process): its 'close' has passed.
  if (reply.raw.destroyed && !reply.raw.writableFinished) controller.abort();
  return controller.signal;
}

/** What the pipeline's routes need of a request that passed auth and quota. */
export interface PipelineCall {
  request: FastifyRequest;
  reply: FastifyReply;
  body: Record<string, unknown>;
  keyId: string;
  isAllowed: (name: string) => boolean;
  extraHeaders: Record<string, string>;
  /** Called once the outcome is known (usage recorded, quota to settle). */
  onSettled: (outcome: RequestOutcome) => void;
  /** The API the request came in on (default `openai`). */
  api?: ClientApi;
}

export type EmbeddingsCall = PipelineCall & { texts: string[] };

/**
 * Runs one pipeline answer; when it fails before any outcome was known, the
 * reservation is released (`release`) and the error goes to Fastify's
 * handler (the refusal hook records it), with the quota headers.
 */
export async function pipelineAnswer(run: (call: PipelineCall) => Promise<unknown>, call: PipelineCall, release: () => void): Promise<unknown> {
  let settled = false;
  try {
    return await run({ ...call, onSettled: (outcome) => {
      settled = true;
      call.onSettled(outcome);
    } });
  } catch (error) {
    if (!settled) release();
    call.reply.headers(call.extraHeaders);
    throw error;
  }
}

/** `/v1/embeddings` through the embedding pipeline, answered in OpenAI's shape (float or base64). */
export async function answerEmbeddings(pipeline: EmbeddingPipeline, call: EmbeddingsCall): Promise<unknown> {
  const { body, reply } = call;
  const options: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(body)) if (!ownFields.has(field)) options[field] = value;
  const dimensions = typeof body['dimensions'] === 'number' ? body['dimensions'] : undefined;
  const result = await pipeline.embedder.embed({
    model: body['model'] as string,
    inputs: call.texts,
    requestId: call.request.id,
    keyId: call.keyId,
    isAllowed: call.isAllowed,
    signal: clientGoneSignal(reply),
    log: call.request.log,
    cache: cacheModeOf(call.request.headers['cache-control']),
    options,
    onSettled: call.onSettled,
    ...(call.api === undefined ? {} : { api: call.api }),
    ...(dimensions === undefined ? {} : { dimensions }),
  });
  reply.headers({
    ...routeHeaderList({ requestId: call.request.id, server: result.serverName, model: result.servedModel, attempts: result.attempts ?? 0, route: result.route ?? null, reason: null, extra: call.extraHeaders }),
    'x-switchyard-cache': result.cache ?? 'bypass',
    ...(result.hedged ? { 'x-switchyard-hedged': 'true' } : {}),
  });
  const base64 = body['encoding_format'] === 'base64';
  return {
    object: 'list',
    data: result.vectors.map((vector, index) => ({ object: 'embedding', index, embedding: base64 ? vectorBase64(vector) : vector })),
    model: result.servedModel,
    usage: { prompt_tokens: result.promptTokens, total_tokens: result.promptTokens },
  };
}

export type RerankCall = PipelineCall;

/** `/v1/rerank` through the hedged path: the answer is the proxy's (already in the rerank shape), one usage record for the winner. */
export async function answerRerank(pipeline: EmbeddingPipeline, proxy: InferenceProxy, call: RerankCall): Promise<unknown> {
  const { request, reply } = call;
  let outcome: RequestOutcome | null = null;
  try {
    const answer = await pipeline.hedger.call({
      operation: 'rerank',
      body: call.body,
      modelName: call.body['model'] as string,
      requestId: request.id,
      keyId: call.keyId,
      isAllowed: call.isAllowed,
      signal: clientGoneSignal(reply),
      log: request.log,
      observed: false,
    });
    outcome = answer.outcome;
    reply.status(answer.status);
    reply.headers({
      ...routeHeaderList({ requestId: request.id, server: answer.deployment.server.name, model: answer.deployment.model.modelId, attempts: answer.outcome.attempts, route: answer.outcome.route, reason: null, extra: call.extraHeaders }),
      ...(answer.hedged ? { 'x-switchyard-hedged': 'true' } : {}),
    });
    return answer.body;
  } finally {
    if (outcome !== null) {
      if (call.api !== undefined) outcome.api = call.api;
      proxy.observe(outcome);
      call.onSettled(outcome);
    }
  }
}
