// vLLM's scoring API for a cross-encoder served with the score task:
// POST /v1/rerank (Jina/Cohere shape, vLLM ≥ 0.7; also /rerank and /v2/rerank)
// and POST /v1/score (text_1 against each of text_2). Scores are word overlap.
import type { RequestContext } from './fake-server.ts';
import { asNumber, bodyRecord, estimateTokens, isRecord, overlapScore, randomId, unixSeconds } from './fake-util.ts';
import { flavorError } from './openai-flavors.ts';

export const VLLM_RERANK_PATHS = new Set(['/v1/rerank', '/rerank', '/v2/rerank']);
export const VLLM_SCORE_PATHS = new Set(['/v1/score', '/score']);

function documentsOf(value: unknown): string[] | undefined {
  if (typeof value === 'string') return [value];
  if (!Array.isArray(value)) return undefined;
  const texts: string[] = [];
  for (const item of value) {
    if (typeof item === 'string') texts.push(item);
    else if (isRecord(item) && typeof item.text === 'string') texts.push(item.text);
    else return undefined;
  }
  return texts;
}

/** `{id, model, usage: {total_tokens}, results: [{index, document: {text}, relevance_score}]}`, best first; vLLM always echoes documents. */
export function respondVllmRerank(ctx: RequestContext, modelName: string): void {
  const body = bodyRecord(ctx.body);
  const query = body.query;
  const documents = documentsOf(body.documents);
  if (typeof query !== 'string' || documents === undefined) return ctx.json(400, flavorError('vllm', 400, "'query' and 'documents' are required"));
  const topN = asNumber(body.top_n) ?? 0; // vLLM: 0 means all
  const ranked = documents
    .map((text, index) => ({ index, document: { text }, relevance_score: overlapScore(query, text) }))
    .sort((a, b) => b.relevance_score - a.relevance_score);
  const tokens = documents.reduce((sum, text) => sum + estimateTokens(query) + estimateTokens(text) + 2, 0);
  ctx.json(200, {
    id: `rerank-${randomId(32)}`,
    model: modelName,
    usage: { total_tokens: tokens },
    results: topN > 0 && topN < ranked.length ? ranked.slice(0, topN) : ranked,
  });
}

/** `{id, object: 'list', created, model, data: [{index, object: 'score', score}], usage}`, in document order. */
export function respondVllmScore(ctx: RequestContext, modelName: string): void {
  const body = bodyRecord(ctx.body);
  const first = documentsOf(body.text_1);
  const second = documentsOf(body.text_2);
  if (first === undefined || second === undefined || first.length === 0) return ctx.json(400, flavorError('vllm', 400, "'text_1' and 'text_2' are required"));
  if (first.length !== 1 && first.length !== second.length) return ctx.json(400, flavorError('vllm', 400, 'Input lengths must be either 1:1, 1:N or N:N'));
  const pairs = second.map((text, index) => [first.length === 1 ? (first[0] as string) : (first[index] as string), text] as const);
  const tokens = pairs.reduce((sum, [query, text]) => sum + estimateTokens(query) + estimateTokens(text) + 2, 0);
  ctx.json(200, {
    id: `score-${randomId(32)}`,
    object: 'list',
    created: unixSeconds(),
    model: modelName,
    data: pairs.map(([query, text], index) => ({ index, object: 'score', score: overlapScore(query, text) })),
    usage: { prompt_tokens: tokens, total_tokens: tokens, completion_tokens: 0 },
  });
}
