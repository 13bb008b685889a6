import type { Operation, UpstreamPlan } from '../inference-mapping.ts';
import { estimateTokens, inputsOf, isVectorList, toEmbeddingList } from '../shared/embedding-list.ts';
import { planRerank } from '../shared/rerank-plans.ts';
import { protocolError } from '../shared/wire-values.ts';

/**
 * TEI's native API: `/embed` answers bare vectors, `/rerank` `[{index, score}]`.
 * Both are translated to the shapes our callers use (rerank in rerank-plans.ts).
 */
export function planTei(operation: Operation, body: Record<string, unknown>, headers: Record<string, string>): UpstreamPlan | null {
  if (operation === 'embeddings') {
    const inputs = inputsOf(body['input']);
    return {
      path: '/embed',
      headers,
      body: { inputs, truncate: true },
      translate: (answer) => {
        if (!isVectorList(answer)) throw protocolError('POST /embed', 'answer is not a list of vectors');
        return toEmbeddingList(answer, String(body['model']), body['encoding_format'], estimateTokens(inputs));
      },
    };
  }
  if (operation === 'rerank') return planRerank('tei', body, String(body['model']), headers);
  return null;
}
