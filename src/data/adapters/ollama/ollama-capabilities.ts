import type { ModelCapability } from '../../../domain/server-kind.ts';
import { capabilitiesFromName, sortCapabilities, withNameHints } from '../shared/capability-heuristics.ts';

/**
 * Maps Ollama's reported capabilities (`/api/show`, Ollama ≥ 0.6) to ours:
 * `completion` means the model generates text, so it serves chat and completion;
 * `insert` (fill-in-the-middle) marks a code model. Older servers report none,
 * so we fall back to the name.
 */
export function mapOllamaCapabilities(reported: string[] | null, modelId: string): ModelCapability[] {
  if (reported === null || reported.length === 0) return capabilitiesFromName(modelId);
  const result = new Set<ModelCapability>();
  for (const capability of reported) {
    switch (capability) {
      case 'completion':
        result.add('chat');
        result.add('completion');
        break;
      case 'embedding':
        result.add('embedding');
        break;
      case 'vision':
        result.add('vision');
        break;
      case 'tools':
        result.add('tools');
        break;
      case 'insert':
        result.add('code');
        break;
      default:
        break;
    }
  }
  return withNameHints(sortCapabilities(result), modelId);
}
