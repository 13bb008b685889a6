import type { Operation } from '../inference-mapping.ts';
import { isRecord } from '../shared/wire-values.ts';
import type { CustomConfig } from './custom-config.ts';

type Values = Record<string, unknown>;

/**
 * The placeholder values for one request. A chat becomes one prompt: a lone
 * user message is sent as it is; a longer conversation as a transcript
 * ("role: text" lines ending with "assistant:"), which in-house servers that
 * take only a prompt can still follow.
 */
export function placeholderValues(operation: Operation, body: Record<string, unknown>, modelId: string): Values {
  const messages = Array.isArray(body['messages']) ? body['messages'].filter(isRecord) : [];
  const prompt = operation === 'chat' ? chatPrompt(messages) : completionPrompt(body['prompt']);
  return {
    prompt,
    messages: messages.map((message) => ({ role: String(message['role'] ?? 'user'), content: contentText(message['content']) })),
    max_tokens: body['max_tokens'] ?? body['max_completion_tokens'],
    temperature: body['temperature'],
    model: modelId,
  };
}

/** A value that is exactly one placeholder keeps its type (numbers stay numbers); unset ones are left out. */
export function renderTemplate(template: unknown, values: Values): unknown {
  if (typeof template === 'string') {
    const whole = /^\{([a-z_]+)\}$/.exec(template);
    if (whole !== null) return values[whole[1] as string];
    return template.replace(/\{([a-z_]+)\}/g, (_all, name: string) => {
      const value = values[name];
      return value === undefined || value === null ? '' : typeof value === 'string' ? value : JSON.stringify(value);
    });
  }
  if (Array.isArray(template)) return template.map((item) => renderTemplate(item, values)).filter((item) => item !== undefined);
  if (isRecord(template)) {
    const result: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(template)) {
      const rendered = renderTemplate(item, values);
      if (rendered !== undefined) result[key] = rendered;
    }
    return result;
  }
  return template;
}

export function generatePath(config: CustomConfig, modelId: string): string {
  return config.generate_path.replaceAll('{model}', encodeURIComponent(modelId));
}

function chatPrompt(messages: Record<string, unknown>[]): string {
  if (messages.length === 1 && messages[0]?.['role'] === 'user') return contentText(messages[0]['content']);
  return `${messages.map((message) => `${String(message['role'] ?? 'user')}: ${contentText(message['content'])}`).join('\n')}\nassistant:`;
}

function completionPrompt(prompt: unknown): string {
  if (typeof prompt === 'string') return prompt;
  if (Array.isArray(prompt)) return prompt.map((part) => (typeof part === 'string' ? part : '')).join('\n');
  return '';
}

/** OpenAI content is a string or a list of parts; only text parts make sense in a prompt. */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((part) => (isRecord(part) && typeof part['text'] === 'string' ? part['text'] : '')).join('');
  return '';
}
