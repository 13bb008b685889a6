import type { Operation, UpstreamPlan } from '../inference-mapping.ts';
import { openAIPlan } from '../inference-mapping.ts';
import { estimateTokens, inputsOf, isVectorList, toEmbeddingList } from '../shared/embedding-list.ts';
import { isRecord, protocolError } from '../shared/wire-values.ts';

/**
 * Ollama: chat and completions through its OpenAI-compatible /v1 endpoints
 * (faithful, SSE included); embeddings through native /api/embed, which
 * batches and reports token counts, translated to the OpenAI list.
 */
export function planOllama(operation: Operation, body: Record<string, unknown>, modelId: string, headers: Record<string, string>): UpstreamPlan | null {
  if (operation === 'rerank') return null;
  if (operation !== 'embeddings') return openAIPlan(operation, body, modelId, headers);
  const inputs = inputsOf(body['input']);
  const native: Record<string, unknown> = { model: modelId, input: inputs };
  if (typeof body['dimensions'] === 'number') native['dimensions'] = body['dimensions'];
  return {
    path: '/api/embed',
    headers,
    body: native,
    translate: (answer) => {
      const embeddings = isRecord(answer) ? answer['embeddings'] : null;
      if (!isVectorList(embeddings)) throw protocolError('POST /api/embed', 'answer has no embeddings');
      const tokens = isRecord(answer) && typeof answer['prompt_eval_count'] === 'number' ? answer['prompt_eval_count'] : estimateTokens(inputs);
      return toEmbeddingList(embeddings, String(body['model']), body['encoding_format'], tokens);
    },
  };
}
