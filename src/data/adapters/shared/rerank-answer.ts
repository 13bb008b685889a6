import { estimateTokens } from './embedding-list.ts';
import { arrayField, isRecord, numberField, protocolError, recordField } from './wire-values.ts';

/** A rerank request as the caller sent it (Cohere/Jina shape), read once for every kind. */
export interface RerankRequest {
  model: string;
  query: string;
  /** Texts in the caller's order; `{text}` objects are read as their text. */
  documents: string[];
  topN: number | null;
  returnDocuments: boolean;
}

/** One document's score, whatever the server called it. */
export interface RerankScore {
  index: number;
  score: number;
}

/** The answer every kind's rerank is translated to. */
export interface RerankAnswer {
  object: 'list';
  model: string;
  results: { index: number; relevance_score: number; document?: { text: string } }[];
  /** Jina's `total_tokens`; `prompt_tokens` too, so usage records count a rerank's tokens like an embedding's. */
  usage: { prompt_tokens: number; total_tokens: number };
}

/** Reads the body the `/v1/rerank` schema has already validated. */
export function readRerankRequest(body: Record<string, unknown>): RerankRequest {
  const topN = body['top_n'];
  return {
    model: String(body['model']),
    query: String(body['query']),
    documents: documentTexts(body['documents']),
    topN: typeof topN === 'number' && Number.isInteger(topN) && topN > 0 ? topN : null,
    returnDocuments: body['return_documents'] === true,
  };
}

/** Cohere and Jina accept documents as strings or `{text}` objects; servers are sent strings only (Infinity and Cohere v2 take nothing else). */
export function documentTexts(documents: unknown): string[] {
  if (!Array.isArray(documents)) return [];
  return documents.map((document) => (typeof document === 'string' ? document : isRecord(document) && typeof document['text'] === 'string' ? document['text'] : JSON.stringify(document)));
}

/**
 * Reads the scores out of any rerank answer we know: TEI's bare
 * `[{index, score}]`, Cohere/Jina/Infinity/vLLM `{results: [{index,
 * relevance_score}]}` and vLLM's `/score` `{data: [{index, score}]}`. Every
 * index must name one of the documents sent, once.
 */
export function readRerankScores(answer: unknown, documentCount: number, what: string): { scores: RerankScore[]; totalTokens: number | null } {
  const list = Array.isArray(answer) ? answer : isRecord(answer) ? (arrayField(answer, 'results') ?? arrayField(answer, 'data')) : null;
  if (list === null) throw protocolError(what, 'answer has no list of results');
  const seen = new Set<number>();
  const scores: RerankScore[] = [];
  for (const entry of list) {
    if (!isRecord(entry)) throw protocolError(what, 'a result is not an object');
    const index = entry['index'];
    const score = numberField(entry, 'relevance_score') ?? numberField(entry, 'score');
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= documentCount || seen.has(index)) {
      throw protocolError(what, 'a result names no document that was sent');
    }
    if (score === null) throw protocolError(what, 'a result has no score');
    seen.add(index);
    scores.push({ index, score });
  }
  const usage = isRecord(answer) ? recordField(answer, 'usage') : null;
  const totalTokens = usage === null ? null : (numberField(usage, 'total_tokens') ?? numberField(usage, 'prompt_tokens'));
  return { scores, totalTokens };
}

/**
 * The caller's answer: best first, cut to `top_n`, each document's text only
 * when `return_documents` asked for it (taken from the request, so a server
 * that always or never echoes documents answers the same).
 */
export function rerankAnswer(request: RerankRequest, scores: readonly RerankScore[], totalTokens: number | null): RerankAnswer {
  const tokens = totalTokens ?? estimateTokens([request.query, ...request.documents]);
  const ranked = [...scores].sort((a, b) => b.score - a.score || a.index - b.index);
  const kept = request.topN === null ? ranked : ranked.slice(0, request.topN);
  return {
    object: 'list',
    model: request.model,
    results: kept.map(({ index, score }) => ({
      index,
      relevance_score: score,
      ...(request.returnDocuments ? { document: { text: request.documents[index] as string } } : {}),
    })),
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  };
}

/** The translate step of a rerank plan: any known answer shape in, the caller's shape out. */
export function translateRerank(request: RerankRequest, what: string): (answer: unknown) => RerankAnswer {
  return (answer) => {
    const { scores, totalTokens } = readRerankScores(answer, request.documents.length, what);
    return rerankAnswer(request, scores, totalTokens);
  };
}
