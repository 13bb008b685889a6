import type { ModelCapability } from '../../../domain/server-kind.ts';
import { isRecord, positiveInteger, protocolError, recordField, stringField } from '../shared/wire-values.ts';

/** What TEI's `/info` says. It names the model and its task, but not the embedding size. */
export interface TeiInfo {
  modelId: string;
  task: 'embedding' | 'reranker' | 'classifier';
  maxInputLength: number | null;
  maxConcurrentRequests: number | null;
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
    version: stringField(body, 'version'),
  };
}

export function capabilitiesOfTask(task: TeiInfo['task']): ModelCapability[] {
  return task === 'embedding' ? ['embedding'] : ['rerank'];
}
