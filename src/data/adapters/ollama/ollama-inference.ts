import type { InferenceMapping } from '../inference-mapping.ts';
import { openAIPaths } from '../inference-mapping.ts';
import { estimateTokens, inputsOf, isVectorList, toEmbeddingList } from '../shared/embedding-list.ts';
import { isRecord, protocolError } from '../shared/wire-values.ts';

/**
 * Ollama: chat and completions through its OpenAI-compatible /v1 endpoints
 * (faithful, SSE included); embeddings through native /api/embed, which
 * batches and reports token counts, translated to the OpenAI list.
 */
export const ollamaInference: InferenceMapping = {
  streamsOpenAISse: true,
  plan(operation, body, modelId) {
    if (operation === 'rerank') return null;
    if (operation !== 'embeddings') return { path: openAIPaths[operation], body: { ...body, model: modelId } };
    const inputs = inputsOf(body['input']);
    const native: Record<string, unknown> = { model: modelId, input: inputs };
    if (typeof body['dimensions'] === 'number') native['dimensions'] = body['dimensions'];
    return {
      path: '/api/embed',
      body: native,
      translate: (answer) => {
        const embeddings = isRecord(answer) ? answer['embeddings'] : null;
        if (!isVectorList(embeddings)) throw protocolError('POST /api/embed', 'answer has no embeddings');
        const tokens = isRecord(answer) && typeof answer['prompt_eval_count'] === 'number' ? answer['prompt_eval_count'] : estimateTokens(inputs);
        return toEmbeddingList(embeddings, String(body['model']), body['encoding_format'], tokens);
      },
    };
  },
};
