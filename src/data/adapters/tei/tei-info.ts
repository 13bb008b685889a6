import { capabilitySourceDetail, type CapabilitySource } from '../../../domain/model-server.ts';
import type { ModelCapability } from '../../../domain/server-kind.ts';
import { isRecord, positiveInteger, protocolError, recordField, stringField } from '../shared/wire-values.ts';

/** What TEI's `/info` says. It names the model and its task, but not the embedding size. */
export interface TeiInfo {
  modelId: string;
  task: 'embedding' | 'reranker' | 'classifier';
  maxInputLength: number | null;
  maxConcurrentRequests: number | null;
  /** Texts one request may carry; TEI answers 413 `Validation` above it. */
  maxClientBatchSize: number | null;
  /** Tokens TEI packs into one forward pass; a client batch above it is queued, not refused. */
  maxBatchTokens: number | null;
  version: string | null;
}

export function parseTeiInfo(body: unknown): TeiInfo {
  if (!isRecord(body)) throw protocolError('GET /info', 'answer is not an object');
  const modelId = stringField(body, 'model_id');
  const modelType = recordField(body, 'model_type');
  if (modelId === null || modelType === null) throw protocolError('GET /info', 'answer lacks model_id or model_type');
  const task = 'reranker' in modelType ? 'reranker' : 'classifier' in modelType ? 'classifier' : 'embedding';
  return {
    modelId,
    task,
    maxInputLength: positiveInteger(body['max_input_length']),
    maxConcurrentRequests: positiveInteger(body['max_concurrent_requests']),
    maxClientBatchSize: positiveInteger(body['max_client_batch_size']),
    maxBatchTokens: positiveInteger(body['max_batch_tokens']),
    version: stringField(body, 'version'),
  };
}

export function capabilitiesOfTask(task: TeiInfo['task']): ModelCapability[] {
  return task === 'embedding' ? ['embedding'] : ['rerank'];
}

/**
 * The batch limits `/info` states, under TEI's own names, for a discovered
 * model's `details`: the embedding pipeline splits batches by them.
 */
export function teiLimitDetails(info: TeiInfo): Record<string, number> {
  const limits: Record<string, number | null> = {
    max_client_batch_size: info.maxClientBatchSize,
    max_batch_tokens: info.maxBatchTokens,
    max_concurrent_requests: info.maxConcurrentRequests,
  };
  return Object.fromEntries(Object.entries(limits).filter((entry): entry is [string, number] => entry[1] !== null));
}

/**
 * Which API an embedding or reranker server speaks for a model, in its
 * `details` under `api`: `tei` (native /embed and /rerank, found by /info)
 * or `openai` (/v1/embeddings and /v1/rerank: Infinity, Jina and friends).
 */
export const serverApiDetail = 'api';

/** A discovered model's `details` for TEI: its task, where capabilities came from, the version and the limits. */
export function teiModelDetails(info: TeiInfo): Record<string, unknown> {
  return {
    task: info.task,
    [serverApiDetail]: 'tei',
    [capabilitySourceDetail]: 'server' satisfies CapabilitySource,
    ...(info.version === null ? {} : { server_version: info.version }),
    ...teiLimitDetails(info),
  };
}
