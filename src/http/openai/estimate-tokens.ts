import type { Operation } from '../../data/adapters/inference-mapping.ts';

/**
 * Tokens a request will use, guessed before the call (about four characters a
 * token, plus the completion it asks for) so TPM limits and budgets can be
 * checked up front; the response's usage settles the difference.
 */
export function estimateTokens(operation: Operation, body: Record<string, unknown>): number {
  const text = operation === 'chat' ? body['messages'] : operation === 'completion' ? body['prompt'] : operation === 'embeddings' ? body['input'] : [body['query'], body['documents']];
  const prompt = Math.ceil(lengthOf(text) / 4);
  const completion = typeof body['max_completion_tokens'] === 'number' ? body['max_completion_tokens'] : typeof body['max_tokens'] === 'number' ? body['max_tokens'] : 0;
  return Math.max(1, prompt + (operation === 'chat' || operation === 'completion' ? completion : 0));
}

function lengthOf(value: unknown): number {
  if (typeof value === 'string') return value.length;
  if (value === null || value === undefined) return 0;
  return JSON.stringify(value).length;
}
