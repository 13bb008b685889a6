import { describe, expect, it } from 'vitest';
import { estimatePromptTokens, estimateTokens } from '../../src/http/openai/estimate-tokens.ts';

// messages below serialise to 32 characters: 8 prompt tokens.
const messages = [{ role: 'user', content: 'hi' }];

describe('estimateTokens', () => {
  it('counts max_tokens (or max_completion_tokens) when the request sets it', () => {
    expect(estimateTokens('chat', { messages, max_tokens: 50 }, { defaultCompletionTokens: 1024, contextLength: 4096 })).toBe(58);
    expect(estimateTokens('chat', { messages, max_completion_tokens: 7, max_tokens: 50 }, { defaultCompletionTokens: 1024, contextLength: null })).toBe(15);
  });

  it('reserves the default completion when max_tokens is missing, capped by what the prompt leaves of the context', () => {
    expect(estimateTokens('chat', { messages }, { defaultCompletionTokens: 1024, contextLength: null })).toBe(8 + 1024);
    expect(estimateTokens('chat', { messages }, { defaultCompletionTokens: 1024, contextLength: 4096 })).toBe(8 + 1024);
    expect(estimateTokens('chat', { messages }, { defaultCompletionTokens: 1024, contextLength: 100 })).toBe(100);
    expect(estimateTokens('completion', { prompt: 'x'.repeat(400) }, { defaultCompletionTokens: 1024, contextLength: 64 })).toBe(100);
  });

  it('reserves no completion for embeddings and rerank', () => {
    expect(estimateTokens('embeddings', { input: 'x'.repeat(40) }, { defaultCompletionTokens: 1024, contextLength: null })).toBe(10);
    expect(estimatePromptTokens('chat', { messages, max_tokens: 500 })).toBe(8);
  });
});
