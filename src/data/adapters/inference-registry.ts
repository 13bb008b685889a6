import type { ServerKind } from '../../domain/server-kind.ts';
import type { InferenceMapping } from './inference-mapping.ts';
import { passThroughMapping } from './inference-mapping.ts';
import { ollamaInference } from './ollama/ollama-inference.ts';
import { teiInference } from './tei/tei-inference.ts';

/**
 * Which request mapping a server gets: TEI (found by detection, or any
 * `embedding` server not found to be something else) speaks its native API;
 * Ollama embeds natively; everything else speaks OpenAI.
 */
export function inferenceFor(kind: ServerKind, flavor: string | null): InferenceMapping {
  switch (kind) {
    case 'ollama':
      return ollamaInference;
    case 'embedding':
      return flavor === null || flavor === 'tei' ? teiInference : passThroughMapping;
    case 'reranker':
      return flavor === 'tei' ? teiInference : passThroughMapping;
    case 'vllm':
    case 'openai':
      return passThroughMapping;
  }
}
