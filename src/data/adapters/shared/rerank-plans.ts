import type { UpstreamPlan } from '../inference-mapping.ts';
import { readRerankRequest, translateRerank } from './rerank-answer.ts';

/**
 * Where a server takes rerank requests, for kinds that serve more than one
 * API: TEI's native `/rerank`, the Cohere/Jina-style `/v1/rerank` (Infinity,
 * Jina, llama.cpp, vLLM ≥ 0.7), or vLLM's older `/v1/score`. Kept in a model's
 * `details` under `rerank_api` when the probe learnt it.
 */
export type RerankApi = 'tei' | 'cohere' | 'score';

export const rerankApiDetail = 'rerank_api';

export function rerankApiOf(details: Readonly<Record<string, unknown>> | undefined): RerankApi | null {
  const api = details?.[rerankApiDetail];
  return api === 'tei' || api === 'cohere' || api === 'score' ? api : null;
}

/**
 * The rerank request for one API. Documents always go as strings; the
 * server is never asked to echo them (the answer takes them from the
 * request), and top_n goes along only where the server honours it.
 */
export function planRerank(api: RerankApi, body: Record<string, unknown>, modelId: string, headers: Record<string, string>): UpstreamPlan {
  const request = readRerankRequest(body);
  switch (api) {
    case 'tei':
      return {
        path: '/rerank',
        headers,
        body: { query: request.query, texts: request.documents, truncate: true, raw_scores: false, return_text: false },
        translate: translateRerank(request, 'POST /rerank'),
      };
    case 'score':
      // vLLM pairs text_1 with each of text_2 and answers {data: [{index, score}]} in document order.
      return {
        path: '/v1/score',
        headers,
        body: { model: modelId, text_1: request.query, text_2: request.documents },
        translate: translateRerank(request, 'POST /v1/score'),
      };
    case 'cohere':
      return {
        path: '/v1/rerank',
        headers,
        body: { model: modelId, query: request.query, documents: request.documents, ...(request.topN === null ? {} : { top_n: request.topN }), return_documents: false },
        translate: translateRerank(request, 'POST /v1/rerank'),
      };
  }
}
