import { customKind } from './custom/custom-kind.ts';
import { llamaCppKind } from './llamacpp/llamacpp-kind.ts';
import { ollamaKind } from './ollama/ollama-kind.ts';
import { openAIKind } from './openai/openai-kind.ts';
import { rerankerKind } from './reranker/reranker-kind.ts';
import type { ServerKindModule } from './server-kind-module.ts';
import { embeddingKind } from './tei/embedding-kind.ts';
import { vllmKind } from './vllm/vllm-kind.ts';
import { undetectedKind } from '../../domain/server-kind.ts';

/** The built-in kinds, one line each; everything else iterates this registry. */
const builtIn: readonly ServerKindModule[] = [ollamaKind, vllmKind, llamaCppKind, openAIKind, embeddingKind, rerankerKind, customKind];

const kinds = new Map<string, ServerKindModule>(builtIn.map((module) => [module.id, module]));
const idPattern = /^[a-z][a-z0-9-]{0,31}$/;

/**
 * Adds a kind at run time (a plugin, or a test's throwaway kind). Register
 * before the gateway starts: its API schemas and detection read the list then.
 */
export function registerServerKind(module: ServerKindModule): () => void {
  if (!idPattern.test(module.id) || module.id === 'auto' || module.id === undetectedKind) {
    throw new Error(`server kind id "${module.id}" must be lower-case letters, digits and "-" (and not "auto" or "${undetectedKind}")`);
  }
  if (kinds.has(module.id)) throw new Error(`server kind "${module.id}" is already registered`);
  kinds.set(module.id, module);
  return () => {
    if (kinds.get(module.id) === module) kinds.delete(module.id);
  };
}

export function findServerKind(id: string): ServerKindModule | undefined {
  return kinds.get(id);
}

export function serverKindIds(): string[] {
  return [...kinds.keys()];
}

export function serverKindModules(): ServerKindModule[] {
  return [...kinds.values()];
}
