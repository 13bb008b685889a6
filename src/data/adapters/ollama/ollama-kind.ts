import { bearerHeaders } from '../inference-mapping.ts';
import type { ServerKindModule } from '../server-kind-module.ts';
import { kindDefaults } from '../shared/kind-defaults.ts';
import { nativeApisConfig, planStatedNative } from '../shared/native-apis.ts';
import { isRecord, stringField } from '../shared/wire-values.ts';
import { ollamaAdapter } from './ollama-adapter.ts';
import { ollamaLifecycle } from './ollama-lifecycle.ts';
import { planOllama } from './ollama-inference.ts';
import { planOllamaNative } from './ollama-native.ts';

export const ollamaKind: ServerKindModule = {
  id: 'ollama',
  label: 'Ollama',
  description: 'Ollama: models listed by /api/tags, chat over its /v1 API, embeddings over /api/embed; Ollama\'s own API passed through natively.',
  ...kindDefaults,
  // /api/embed asks no capability of the model: a chat model embeds too (its hidden state, pooled; size = /api/show's embedding_length).
  generatorsEmbed: true,
  detection: [
    {
      paths: ['/api/version'],
      precedence: 100,
      recognise(answers) {
        const answer = answers.get('/api/version');
        const version = answer?.ok === true && isRecord(answer.body) ? stringField(answer.body, 'version') : null;
        return version === null ? null : { flavor: null, detectedBy: 'GET /api/version', version };
      },
    },
  ],
  lifecycle: ollamaLifecycle,
  probe: ollamaAdapter.probe,
  probeEmbeddingDimension: ollamaAdapter.probeEmbeddingDimension,
  plan(operation, body, modelId, server) {
    return planOllama(operation, body, modelId, bearerHeaders(server.apiKey?.reveal() ?? null));
  },
  // Ollama's own API always; Anthropic's Messages or OpenAI's Responses when the operator states this server serves them.
  config: nativeApisConfig,
  native(request, modelId, server) {
    const headers = bearerHeaders(server.apiKey?.reveal() ?? null);
    return request.api === 'ollama' ? planOllamaNative(request, modelId, headers) : planStatedNative(request, modelId, server, headers);
  },
};
