import { randomUUID } from 'node:crypto';
import type { StreamTranslator, UpstreamPlan } from '../inference-mapping.ts';
import { isRecord, numberField, protocolError, stringField } from '../shared/wire-values.ts';

// OpenAI completion fields the native endpoint has no equivalent for: such requests use /v1/completions.
const openAIOnlyFields = ['echo', 'logprobs', 'suffix', 'best_of', 'logit_bias'] as const;
// OpenAI's names that llama.cpp spells differently or does not take.
const renamedFields = new Set(['model', 'prompt', 'max_tokens', 'max_completion_tokens', 'stream', 'stream_options', 'user', 'n']);

/**
 * llama.cpp's native `/completion`, for plain text completions: it reports
 * exact token counts (`tokens_evaluated`, `tokens_predicted`) and why it
 * stopped, and takes llama.cpp's own sampling fields (grammar, json_schema,
 * mirostat, n_probs…) which a caller may pass through. Requests that need
 * OpenAI-only fields, a batch of prompts, or n > 1 return null (use /v1).
 */
export function planNativeCompletion(body: Record<string, unknown>, modelId: string, headers: Record<string, string>): UpstreamPlan | null {
  const prompt = body['prompt'];
  if (typeof prompt !== 'string') return null;
  if (body['n'] !== undefined && body['n'] !== 1) return null;
  if (openAIOnlyFields.some((field) => body[field] !== undefined && body[field] !== null && body[field] !== false)) return null;
  const native: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(body)) if (!renamedFields.has(field)) native[field] = value;
  // A single-model llama-server ignores it; a router (several models) sends the request to the model it names and refuses one without.
  native['model'] = modelId;
  native['prompt'] = prompt;
  const maxTokens = body['max_tokens'] ?? body['max_completion_tokens'];
  if (typeof maxTokens === 'number') native['n_predict'] = maxTokens;
  const isStream = body['stream'] === true;
  native['stream'] = isStream;
  const includeUsage = isRecord(body['stream_options']) && body['stream_options']['include_usage'] === true;
  const plan: UpstreamPlan = { path: '/completion', headers, body: native, translate: (answer) => toTextCompletion(answer, modelId) };
  if (isStream) plan.stream = new NativeCompletionStream(modelId, includeUsage);
  return plan;
}

function finishReason(stopType: string | null): string {
  return stopType === 'limit' ? 'length' : 'stop';
}

function usageOf(answer: Record<string, unknown>) {
  const prompt = numberField(answer, 'tokens_evaluated') ?? 0;
  const completion = numberField(answer, 'tokens_predicted') ?? 0;
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

/** `{content, stop_type, tokens_*}` → OpenAI's `text_completion`. */
function toTextCompletion(answer: unknown, modelId: string): unknown {
  if (!isRecord(answer) || typeof answer['content'] !== 'string') throw protocolError('POST /completion', 'answer has no "content"');
  return {
    id: `cmpl-${randomUUID()}`,
    object: 'text_completion',
    created: Math.floor(Date.now() / 1000),
    model: modelId,
    choices: [{ index: 0, text: answer['content'], logprobs: null, finish_reason: finishReason(stringField(answer, 'stop_type')) }],
    usage: usageOf(answer),
  };
}

/** The native stream (`data: {"content": "…", "stop": false}` … `{"stop": true, …}`, no [DONE]) as OpenAI chunks. */
export class NativeCompletionStream implements StreamTranslator {
  readonly #id = `cmpl-${randomUUID()}`;
  readonly #created = Math.floor(Date.now() / 1000);
  readonly #modelId: string;
  readonly #includeUsage: boolean;
  #finished = false;
  #usage: { promptTokens: number; completionTokens: number } | null = null;

  constructor(modelId: string, includeUsage: boolean) {
    this.#modelId = modelId;
    this.#includeUsage = includeUsage;
  }

  event(data: string): readonly string[] {
    if (this.#finished || data === '[DONE]') return [];
    let event: unknown;
    try {
      event = JSON.parse(data);
    } catch {
      throw protocolError('POST /completion', 'a stream event is not JSON');
    }
    if (!isRecord(event)) throw protocolError('POST /completion', 'a stream event is not an object');
    if (event['error'] !== undefined) throw protocolError('POST /completion', 'the server sent an error event');
    const text = stringField(event, 'content') ?? '';
    if (event['stop'] !== true) return text === '' ? [] : [this.#chunk(text, null)];
    this.#finished = true;
    const usage = usageOf(event);
    this.#usage = { promptTokens: usage.prompt_tokens, completionTokens: usage.completion_tokens };
    const out = [this.#chunk(text, finishReason(stringField(event, 'stop_type')))];
    if (this.#includeUsage) out.push(JSON.stringify({ id: this.#id, object: 'text_completion', created: this.#created, model: this.#modelId, choices: [], usage }));
    out.push('[DONE]');
    return out;
  }

  end(): readonly string[] {
    if (!this.#finished) throw protocolError('POST /completion', 'the stream ended before its final event');
    return [];
  }

  usage() {
    return this.#usage;
  }

  #chunk(text: string, finish: string | null): string {
    return JSON.stringify({
      id: this.#id,
      object: 'text_completion',
      created: this.#created,
      model: this.#modelId,
      choices: [{ index: 0, text, logprobs: null, finish_reason: finish }],
    });
  }
}
