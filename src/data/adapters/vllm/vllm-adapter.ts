import { createOpenAICompatibleAdapter } from '../openai/openai-adapter.ts';
import type { KindProbe } from '../server-kind-module.ts';
import { upstreamCall } from '../server-adapter.ts';
import { assertOk } from '../../upstream/upstream-http.ts';
import { parseVllmMetrics } from './vllm-metrics.ts';
import { learnRerankApi } from './vllm-rerank-api.ts';

const openAICompatible = createOpenAICompatibleAdapter(async (context, models) => {
  const response = await context.http.text(upstreamCall(context, '/metrics', 'GET /metrics'));
  assertOk(response, 'GET /metrics');
  return parseVllmMetrics(response.text, models.map((model) => model.id));
});

/** vLLM speaks OpenAI on /v1, reports its queue and KV cache on /metrics, and reranks on /v1/rerank or /v1/score. */
export const vllmAdapter: KindProbe = {
  async probe(context, previous) {
    const result = await openAICompatible.probe(context, previous);
    await learnRerankApi(context, result.models, previous);
    return result;
  },
  probeEmbeddingDimension: openAICompatible.probeEmbeddingDimension,
};
