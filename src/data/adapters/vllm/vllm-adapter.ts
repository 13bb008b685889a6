import { createOpenAICompatibleAdapter } from '../openai/openai-adapter.ts';
import type { KindProbe } from '../server-kind-module.ts';
import { upstreamCall } from '../server-adapter.ts';
import { assertOk } from '../../upstream/upstream-http.ts';
import { parseVllmMetrics } from './vllm-metrics.ts';

/** vLLM speaks OpenAI on /v1 and reports its queue and KV cache on /metrics. */
export const vllmAdapter: KindProbe = createOpenAICompatibleAdapter(async (context, models) => {
  const response = await context.http.text(upstreamCall(context, '/metrics', 'GET /metrics'));
  assertOk(response, 'GET /metrics');
  return parseVllmMetrics(response.text, models.map((model) => model.id));
});
