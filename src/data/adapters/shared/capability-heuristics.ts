import type { ModelCapability } from '../../../domain/server-kind.ts';

// Servers that list models without saying what they do (the OpenAI /v1/models
// shape) leave us the name. These patterns cover the common open model families.
const embeddingPattern = /(^|[-_/.:])(embed|embedding|embeddings|bge|e5|gte|minilm|mpnet|arctic-embed|nomic-embed|mxbai-embed|sentence-t5|jina-embeddings)([-_/.:]|\d|$)/i;
const rerankPattern = /rerank/i;
const codePattern = /(code|coder|codestral|starcoder|deepcoder|codegemma|devstral|codellama|wizardcoder)/i;
const visionPattern = /(vision|llava|pixtral|moondream|bakllava|minicpm-v|(^|[-_])vl([-_:]|$)|qwen2(\.5)?-vl|gemma3)/i;

/** Capabilities guessed from a model's name, for servers that report none. */
export function capabilitiesFromName(modelId: string): ModelCapability[] {
  if (rerankPattern.test(modelId)) return ['rerank'];
  if (embeddingPattern.test(modelId)) return ['embedding'];
  return withNameHints(['chat', 'completion'], modelId);
}

/** Adds `code` and `vision` where the name says so. */
export function withNameHints(capabilities: ModelCapability[], modelId: string): ModelCapability[] {
  const result = new Set(capabilities);
  if (result.has('chat') || result.has('completion')) {
    if (codePattern.test(modelId)) result.add('code');
    if (visionPattern.test(modelId)) result.add('vision');
  }
  return sortCapabilities([...result]);
}

const order: ModelCapability[] = ['chat', 'completion', 'embedding', 'rerank', 'code', 'vision', 'tools'];

export function sortCapabilities(capabilities: Iterable<ModelCapability>): ModelCapability[] {
  const set = new Set(capabilities);
  return order.filter((capability) => set.has(capability));
}
