import type { ServerKind } from '../../domain/server-kind.ts';
import { ollamaAdapter } from './ollama/ollama-adapter.ts';
import { openAIAdapter } from './openai/openai-adapter.ts';
import { rerankerAdapter } from './reranker/reranker-adapter.ts';
import type { ServerAdapter } from './server-adapter.ts';
import { teiAdapter } from './tei/tei-adapter.ts';
import { vllmAdapter } from './vllm/vllm-adapter.ts';

/** One line per server kind. */
const adapters: Record<ServerKind, ServerAdapter> = {
  ollama: ollamaAdapter,
  vllm: vllmAdapter,
  openai: openAIAdapter,
  embedding: teiAdapter,
  reranker: rerankerAdapter,
};

export function adapterFor(kind: ServerKind): ServerAdapter {
  return adapters[kind];
}
