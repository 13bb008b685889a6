import { bearerHeaders, openAIPlan } from '../inference-mapping.ts';
import { createOpenAICompatibleAdapter } from '../openai/openai-adapter.ts';
import type { ServerKindModule } from '../server-kind-module.ts';
import { kindDefaults } from '../shared/kind-defaults.ts';
import { nativeApisConfig, planStatedNative } from '../shared/native-apis.ts';
import { planRerank } from '../shared/rerank-plans.ts';
import { modelOwners } from '../shared/model-list-signature.ts';
import { isRecord, recordField, stringField } from '../shared/wire-values.ts';
import { planNativeCompletion } from './llamacpp-completion.ts';
import { llamaCppRouterLifecycle } from './llamacpp-lifecycle.ts';
import { probeLlamaCpp } from './llamacpp-probe.ts';

// Embedding dimensions are probed as on any OpenAI-compatible server.
const openAIProbe = createOpenAICompatibleAdapter();

/**
 * llama.cpp's llama-server: models on /v1/models, context size on /props,
 * busy slots on /slots, deferred requests on /metrics. Chat, embeddings and
 * rerank go over its OpenAI API; plain completions over native /completion.
 * In router mode it loads and unloads models on request (llamacpp-router.ts).
 */
export const llamaCppKind: ServerKindModule = {
  id: 'llamacpp',
  label: 'llama.cpp server',
  description: 'llama.cpp llama-server: slots and context from /slots and /props, load from /metrics.',
  ...kindDefaults,
  detection: [
    {
      paths: ['/props'],
      precedence: 70,
      recognise(answers) {
        const props = answers.get('/props');
        if (props?.ok !== true || !isRecord(props.body) || recordField(props.body, 'default_generation_settings') === null) return null;
        return { flavor: null, detectedBy: 'GET /props', version: stringField(props.body, 'build_info') };
      },
    },
    {
      // /props can be switched off; llama-server still names itself as the models' owner.
      paths: ['/v1/models'],
      precedence: 60,
      recognise: (answers) => (modelOwners(answers.get('/v1/models')).has('llamacpp') ? { flavor: null, detectedBy: 'GET /v1/models', version: null } : null),
    },
  ],
  lifecycle: llamaCppRouterLifecycle,
  probe: probeLlamaCpp,
  probeEmbeddingDimension: openAIProbe.probeEmbeddingDimension,
  // Anthropic's Messages or OpenAI's Responses, when the operator states the server serves them itself.
  config: nativeApisConfig,
  native(request, modelId, server) {
    return planStatedNative(request, modelId, server, bearerHeaders(server.apiKey?.reveal() ?? null));
  },
  plan(operation, body, modelId, server) {
    const headers = bearerHeaders(server.apiKey?.reveal() ?? null);
    if (operation === 'completion') return planNativeCompletion(body, modelId, headers) ?? openAIPlan(operation, body, modelId, headers);
    if (operation === 'rerank') return planRerank('cohere', body, modelId, headers);
    return openAIPlan(operation, body, modelId, headers);
  },
  capacity(load, modelId) {
    // A router's models each run in their own process, with their own slots.
    const own = modelId === undefined ? undefined : load?.perModel?.[modelId];
    if (own !== undefined) return { running: own.running, waiting: null, max: own.slots, queue: own.running ?? 0 };
    // Every busy slot is a request ahead of ours: a slot-limited server queues by slots.
    const running = load?.runningRequests ?? null;
    const waiting = load?.waitingRequests ?? null;
    const slots = load?.details['total_slots'];
    return { running, waiting, max: typeof slots === 'number' ? slots : null, queue: (waiting ?? 0) + (running ?? 0) };
  },
};
