import type { AdapterContext, DiscoveredModel } from '../server-adapter.ts';
import { upstreamCall } from '../server-adapter.ts';
import { rerankApiDetail, rerankApiOf, type RerankApi } from '../shared/rerank-plans.ts';

/**
 * Which rerank API a vLLM server offers its score models: `/v1/rerank`
 * (Jina/Cohere shape, vLLM ≥ 0.7) or only `/v1/score` (older releases). A GET
 * on a POST route answers 405 and on a missing one 404 (FastAPI), so two GETs
 * settle it without scoring anything. Asked once per server while it keeps
 * its score models; the answer goes into each rerank model's `details`.
 */
export async function learnRerankApi(context: AdapterContext, models: DiscoveredModel[], previous: ReadonlyMap<string, DiscoveredModel>): Promise<void> {
  const rerankers = models.filter((model) => model.capabilities.includes('rerank'));
  if (rerankers.length === 0) return;
  const known = rerankers.map((model) => rerankApiOf(previous.get(model.id)?.details)).find((api) => api !== null);
  const api = known ?? (await askRerankApi(context));
  for (const model of rerankers) model.details[rerankApiDetail] = api;
}

async function askRerankApi(context: AdapterContext): Promise<RerankApi> {
  const offers = async (path: string) => {
    const response = await context.http.text(upstreamCall(context, path, `GET ${path}`)).catch(() => null);
    return response?.status === 405;
  };
  if (await offers('/v1/rerank')) return 'cohere';
  if (await offers('/v1/score')) return 'score';
  return 'cohere'; // Unknown (a proxy in front, say): the API every current vLLM serves.
}
