import type { NativeRequest, UpstreamPlan } from '../inference-mapping.ts';
import type { TokenUsage } from '../server-kind-module.ts';

/** The native paths passed through: inference and embeddings (listing and lifecycle are the gateway's own). */
const passedPaths = new Set(['/api/chat', '/api/generate', '/api/embed', '/api/embeddings']);
/** Paths whose answer streams (NDJSON) unless `stream: false`, as Ollama defaults. */
const streamingPaths = new Set(['/api/chat', '/api/generate']);

/**
 * Ollama's own API to an Ollama server: the caller's body untouched but for
 * the served model's name, so every field (keep_alive, think, options,
 * images, format, raw, context) means exactly what Ollama says it means.
 */
export function planOllamaNative(request: NativeRequest, modelId: string, headers: Record<string, string>): UpstreamPlan | null {
  if (request.api !== 'ollama' || !passedPaths.has(request.path)) return null;
  const isStream = streamingPaths.has(request.path) && request.body['stream'] !== false;
  return {
    path: request.path,
    headers,
    body: { ...request.body, model: modelId },
    native: true,
    ...(isStream ? { framing: 'ndjson' as const } : {}),
    readUsage: nativeUsage,
  };
}

/** `prompt_eval_count` and `eval_count` of a whole native answer (none for the older /api/embeddings). */
function nativeUsage(answer: Buffer): TokenUsage {
  try {
    const parsed = JSON.parse(answer.toString('utf8')) as Record<string, unknown>;
    return { promptTokens: count(parsed['prompt_eval_count']), completionTokens: count(parsed['eval_count']) };
  } catch {
    return { promptTokens: 0, completionTokens: 0 };
  }
}

function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}
