import type { Operation } from '../../data/adapters/inference-mapping.ts';

export interface CompletionEstimate {
  /** Completion tokens to reserve when the request sets no max_tokens. */
  defaultCompletionTokens: number;
  /** The model's context length where known: a completion cannot outgrow what the prompt leaves of it. */
  contextLength: number | null;
}

/**
 * Tokens a request will use, guessed before the call (about four characters a
 * token, plus the completion it may generate) so TPM limits and budgets can be
 * checked up front; the response's usage settles the difference. A request
 * without max_tokens reserves the configured default completion, capped by what
 * its prompt leaves of the context: counting its prompt alone let one key
 * overshoot its budget many times over.
 */
export function estimateTokens(operation: Operation, body: Record<string, unknown>, completion: CompletionEstimate): number {
  return addCompletionTokens(operation, body, estimatePromptTokens(operation, body), completion);
}

/** The whole estimate from a prompt estimate already made (the request path needs both, and measures the prompt once). */
export function addCompletionTokens(operation: Operation, body: Record<string, unknown>, prompt: number, completion: CompletionEstimate): number {
  if (operation !== 'chat' && operation !== 'completion') return Math.max(1, prompt);
  return Math.max(1, prompt + completionTokens(body, prompt, completion));
}

/** The prompt's share alone (what a stream without usage records as its prompt tokens). */
export function estimatePromptTokens(operation: Operation, body: Record<string, unknown>): number {
  const text = operation === 'chat' ? body['messages'] : operation === 'completion' ? body['prompt'] : operation === 'embeddings' ? body['input'] : [body['query'], body['documents']];
  return Math.ceil(lengthOf(text) / 4);
}

function completionTokens(body: Record<string, unknown>, prompt: number, completion: CompletionEstimate): number {
  const asked = typeof body['max_completion_tokens'] === 'number' ? body['max_completion_tokens'] : typeof body['max_tokens'] === 'number' ? body['max_tokens'] : null;
  if (asked !== null) return asked;
  if (completion.contextLength === null) return completion.defaultCompletionTokens;
  return Math.max(0, Math.min(completion.defaultCompletionTokens, completion.contextLength - prompt));
}

function lengthOf(value: unknown): number {
  if (typeof value === 'string') return value.length;
  if (value === null || value === undefined) return 0;
  return JSON.stringify(value).length;
}
