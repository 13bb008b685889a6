import { bearerHeaders, openAIPlan } from '../inference-mapping.ts';
import type { ServerKindModule } from '../server-kind-module.ts';
import { kindDefaults } from '../shared/kind-defaults.ts';
import { nativeApisConfig, planStatedNative } from '../shared/native-apis.ts';
import { planRerank } from '../shared/rerank-plans.ts';
import { listedModels } from '../shared/model-list-signature.ts';
import { createOpenAICompatibleAdapter } from './openai-adapter.ts';

const adapter = createOpenAICompatibleAdapter();

/** The fallback: anything that lists models on /v1/models and speaks the OpenAI API. */
export const openAIKind: ServerKindModule = {
  id: 'openai',
  label: 'OpenAI-compatible',
  description: 'Any server that speaks the OpenAI API (LM Studio, LocalAI, TGI, hosted APIs).',
  ...kindDefaults,
  detection: [
    {
      paths: ['/v1/models'],
      precedence: 10,
      recognise: (answers) => (listedModels(answers.get('/v1/models')) === null ? null : { flavor: null, detectedBy: 'GET /v1/models', version: null }),
    },
  ],
  probe: adapter.probe,
  probeEmbeddingDimension: adapter.probeEmbeddingDimension,
  // Anthropic's Messages or OpenAI's Responses, when the operator states the server serves them itself.
  config: nativeApisConfig,
  native(request, modelId, server) {
    return planStatedNative(request, modelId, server, bearerHeaders(server.apiKey?.reveal() ?? null));
  },
  plan(operation, body, modelId, server) {
    const headers = bearerHeaders(server.apiKey?.reveal() ?? null);
    // Cohere/Jina-style rerank: the answer is read back and normalised like every other kind's.
    return operation === 'rerank' ? planRerank('cohere', body, modelId, headers) : openAIPlan(operation, body, modelId, headers);
  },
};
