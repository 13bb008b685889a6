import type { Operation, UpstreamPlan } from '../inference-mapping.ts';
import { estimateTokens, inputsOf, isVectorList, toEmbeddingList } from '../shared/embedding-list.ts';
import { isRecord, protocolError } from '../shared/wire-values.ts';

/**
 * TEI's native API: `/embed` answers bare vectors, `/rerank` `[{index, score}]`.
 * Both are translated to the shapes our callers use.
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
  if (operation === 'rerank') {
    const documents = documentTexts(body['documents']);
    return {
      path: '/rerank',
      headers,
      body: { query: body['query'], texts: documents, truncate: true },
      translate: (answer) => {
        if (!Array.isArray(answer)) throw protocolError('POST /rerank', 'answer is not a list');
        const results = answer
          .filter(isRecord)
          .map((entry) => ({ index: Number(entry['index']), relevance_score: Number(entry['score']) }))
          .sort((a, b) => b.relevance_score - a.relevance_score);
        const topN = typeof body['top_n'] === 'number' ? body['top_n'] : results.length;
        return {
          object: 'list',
          model: body['model'],
          results: results.slice(0, topN).map((result) =>
            body['return_documents'] === true ? { ...result, document: { text: documents[result.index] } } : result,
          ),
          usage: { total_tokens: estimateTokens([String(body['query']), ...documents]) },
        };
      },
    };
  }
  return null;
}

/** Cohere and Jina accept documents as strings or `{text}` objects. */
export function documentTexts(documents: unknown): string[] {
  if (!Array.isArray(documents)) return [];
  return documents.map((document) => (typeof document === 'string' ? document : isRecord(document) && typeof document['text'] === 'string' ? document['text'] : JSON.stringify(document)));
}
