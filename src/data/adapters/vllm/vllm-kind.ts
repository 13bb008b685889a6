import { bearerHeaders, openAIPlan } from '../inference-mapping.ts';
import type { ServerKindModule } from '../server-kind-module.ts';
import { kindDefaults } from '../shared/kind-defaults.ts';
import { nativeApisConfig, planStatedNative } from '../shared/native-apis.ts';
import { planRerank, rerankApiOf } from '../shared/rerank-plans.ts';
import { modelOwners } from '../shared/model-list-signature.ts';
import { vllmAdapter } from './vllm-adapter.ts';
import { vllmLoraLifecycle } from './vllm-lora.ts';

export const vllmKind: ServerKindModule = {
  id: 'vllm',
  label: 'vLLM',
  description: 'vLLM: OpenAI API on /v1; queue and KV-cache use from /metrics.',
  ...kindDefaults,
  // `vllm serve` runs one task (generate, embed, score): a chat model answers embeddings with a 404, never with vectors.
  namesTellCapabilities: true,
  detection: [
    {
      paths: ['/metrics', '/v1/models'],
      precedence: 80,
      recognise(answers) {
        if (modelOwners(answers.get('/v1/models')).has('vllm')) return { flavor: null, detectedBy: 'GET /v1/models', version: null };
        const metrics = answers.get('/metrics');
        if (metrics?.ok === true && /^vllm:/m.test(metrics.text)) return { flavor: null, detectedBy: 'GET /metrics', version: null };
        return null;
      },
    },
  ],
  lifecycle: vllmLoraLifecycle,
  probe: vllmAdapter.probe,
  probeEmbeddingDimension: vllmAdapter.probeEmbeddingDimension,
  // Anthropic's Messages or OpenAI's Responses, when the operator states the server serves them itself.
  config: nativeApisConfig,
  native(request, modelId, server) {
    return planStatedNative(request, modelId, server, bearerHeaders(server.apiKey?.reveal() ?? null));
  },
  plan(operation, body, modelId, server, model) {
    const headers = bearerHeaders(server.apiKey?.reveal() ?? null);
    if (operation === 'rerank') return planRerank(rerankApiOf(model?.details) === 'score' ? 'score' : 'cohere', body, modelId, headers);
    return openAIPlan(operation, body, modelId, headers);
  },
};
