import { randomUUID } from 'node:crypto';
import type { Operation } from '../inference-mapping.ts';
import { isRecord, protocolError } from '../shared/wire-values.ts';
import type { CustomConfig } from './custom-config.ts';

/** The value at a dotted path (`output.text`, `choices.0.text`), or undefined. */
export function valueAt(value: unknown, path: string): unknown {
  let current = value;
  for (const key of path.split('.')) {
    if (Array.isArray(current) && /^\d+$/.test(key)) current = current[Number(key)];
    else if (isRecord(current)) current = current[key];
    else return undefined;
  }
  return current;
}

function tokens(answer: unknown, path: string | null, fallbackText: string): number {
  const value = path === null ? undefined : valueAt(answer, path);
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return value;
  // A server that counts nothing still gets a usage record: about four characters a token.
  return Math.ceil(fallbackText.length / 4);
}

/** The server's answer as OpenAI's `chat.completion` or `text_completion`. */
export function toOpenAIAnswer(answer: unknown, config: CustomConfig, operation: Operation, modelId: string, prompt: string): unknown {
  const text = valueAt(answer, config.text_field);
  if (typeof text !== 'string') throw protocolError(`${config.method} ${config.generate_path}`, `answer has no text at "${config.text_field}"`);
  const promptTokens = tokens(answer, config.prompt_tokens_field, prompt);
  const completionTokens = tokens(answer, config.completion_tokens_field, text);
  const created = Math.floor(Date.now() / 1000);
  const usage = { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };
  if (operation === 'chat') {
    return {
      id: `chatcmpl-${randomUUID()}`,
      object: 'chat.completion',
      created,
      model: modelId,
      choices: [{ index: 0, message: { role: 'assistant', content: text }, logprobs: null, finish_reason: 'stop' }],
      usage,
    };
  }
  return { id: `cmpl-${randomUUID()}`, object: 'text_completion', created, model: modelId, choices: [{ index: 0, text, logprobs: null, finish_reason: 'stop' }], usage };
}
