import type { ModelCapability } from '../../domain/server-kind.ts';

export type ModelCategory = 'embedding' | 'lightweight_chat' | 'heavyweight_chat' | 'code_generation' | 'general_purpose';

/** Billions of parameters, from Ollama's parameter_size or a size in the name (yi-34b). */
export function parameterBillions(modelId: string, details: Record<string, unknown>): number | null {
  const stated = details['parameter_size'];
  const text = typeof stated === 'string' ? stated : modelId;
  const match = /(\d+(?:\.\d+)?)\s*([bBmM])(?![a-z])/.exec(text);
  if (match === null) return null;
  const value = Number(match[1]);
  return match[2]?.toLowerCase() === 'm' ? value / 1000 : value;
}

/** Where a model fits: by capability first, then by size. */
export function categorize(capabilities: readonly ModelCapability[], sizeB: number | null): ModelCategory {
  if (capabilities.includes('embedding') || capabilities.includes('rerank')) return 'embedding';
  if (capabilities.includes('code')) return 'code_generation';
  if (!capabilities.includes('chat')) return 'general_purpose';
  if (sizeB !== null && sizeB < 8) return 'lightweight_chat';
  if (sizeB !== null && sizeB >= 30) return 'heavyweight_chat';
  return 'general_purpose';
}
