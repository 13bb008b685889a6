import { eventData } from '../proxy/translated-events.ts';

type Json = Record<string, unknown>;

interface ChoiceParts {
  index: number;
  role: string | null;
  content: string[];
  text: string[];
  toolCalls: Map<number, { id?: unknown; type?: unknown; name: string[]; arguments: string[] }>;
  logprobs: unknown[] | null;
  finishReason: unknown;
}

/** The SSE bytes a stream may carry and still be stored (the events, not the rebuilt JSON). */
export const maxAnswerBytes = 4 * 1024 * 1024;

function record(value: unknown): Json | null {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : null;
}

/**
 * Rebuilds the whole answer (`chat.completion` or `text_completion`) from the
 * OpenAI SSE events a client was sent: content and text concatenated per
 * choice, tool-call deltas merged by their index, the finish reason, usage.
 * Exists only while a streamed miss may be stored; `answer()` is null until
 * `[DONE]` went by, so a stream that broke or was cut is never stored.
 */
export class AnswerAssembler {
  readonly #choices = new Map<number, ChoiceParts>();
  #head: Json = {};
  #isChat = true;
  #usage: unknown = undefined;
  #isDone = false;
  #isBroken = false;
  #bytes = 0;

  /** Whole SSE events, exactly as written to the client. */
  push(events: Buffer): void {
    if (this.#isBroken) return;
    // An answer too large to keep is not kept: the copy must not grow with an endless stream.
    this.#bytes += events.length;
    if (this.#bytes > maxAnswerBytes) {
      this.#isBroken = true;
      this.#choices.clear();
      return;
    }
    for (const data of eventData(events.toString('utf8'))) {
      if (data === '[DONE]') {
        this.#isDone = true;
        continue;
      }
      let chunk: Json | null;
      try {
        chunk = record(JSON.parse(data));
      } catch {
        chunk = null;
      }
      // An error event (or anything unreadable): this stream is not an answer to keep.
      if (chunk === null || chunk['error'] !== undefined) {
        this.#isBroken = true;
        return;
      }
      this.#take(chunk);
    }
  }

  #take(chunk: Json): void {
    if (this.#head['id'] === undefined) {
      this.#isChat = chunk['object'] !== 'text_completion';
      this.#head = { id: chunk['id'], created: chunk['created'], model: chunk['model'] };
    }
    if (chunk['system_fingerprint'] !== undefined) this.#head['system_fingerprint'] = chunk['system_fingerprint'];
    const usage = chunk['usage'];
    if (usage !== undefined && usage !== null) this.#usage = usage;
    if (!Array.isArray(chunk['choices'])) return;
    for (const [position, raw] of chunk['choices'].entries()) {
      const choice = record(raw);
      if (choice === null) continue;
      const index = typeof choice['index'] === 'number' ? choice['index'] : position;
      let parts = this.#choices.get(index);
      if (parts === undefined) {
        parts = { index, role: null, content: [], text: [], toolCalls: new Map(), logprobs: null, finishReason: null };
        this.#choices.set(index, parts);
      }
      if (choice['finish_reason'] !== undefined && choice['finish_reason'] !== null) parts.finishReason = choice['finish_reason'];
      const logprobs = record(choice['logprobs']);
      if (logprobs !== null && Array.isArray(logprobs['content'])) (parts.logprobs ??= []).push(...logprobs['content']);
      if (typeof choice['text'] === 'string') parts.text.push(choice['text']);
      const delta = record(choice['delta']);
      if (delta === null) continue;
      if (typeof delta['role'] === 'string') parts.role = delta['role'];
      if (typeof delta['content'] === 'string') parts.content.push(delta['content']);
      if (Array.isArray(delta['tool_calls'])) for (const call of delta['tool_calls']) mergeToolCall(parts, record(call));
    }
  }

  /** The whole answer once the stream ended with [DONE]; null otherwise. */
  answer(): Json | null {
    if (!this.#isDone || this.#isBroken || this.#choices.size === 0) return null;
    const choices = [...this.#choices.values()].sort((a, b) => a.index - b.index).map((parts) => (this.#isChat ? chatChoice(parts) : textChoice(parts)));
    return { ...this.#head, object: this.#isChat ? 'chat.completion' : 'text_completion', choices, ...(this.#usage === undefined ? {} : { usage: this.#usage }) };
  }
}

function mergeToolCall(parts: ChoiceParts, call: Json | null): void {
  if (call === null) return;
  const index = typeof call['index'] === 'number' ? call['index'] : parts.toolCalls.size;
  let merged = parts.toolCalls.get(index);
  if (merged === undefined) {
    merged = { name: [], arguments: [] };
    parts.toolCalls.set(index, merged);
  }
  if (call['id'] !== undefined && call['id'] !== null) merged.id = call['id'];
  if (call['type'] !== undefined && call['type'] !== null) merged.type = call['type'];
  const fn = record(call['function']);
  if (fn !== null) {
    if (typeof fn['name'] === 'string') merged.name.push(fn['name']);
    if (typeof fn['arguments'] === 'string') merged.arguments.push(fn['arguments']);
  }
}

function chatChoice(parts: ChoiceParts): Json {
  const toolCalls = [...parts.toolCalls.entries()]
    .sort(([a], [b]) => a - b)
    .map(([, call]) => ({ id: call.id, type: call.type ?? 'function', function: { name: call.name.join(''), arguments: call.arguments.join('') } }));
  const hasContent = parts.content.length > 0 || toolCalls.length === 0;
  const message: Json = { role: parts.role ?? 'assistant', content: hasContent ? parts.content.join('') : null };
  if (toolCalls.length > 0) message['tool_calls'] = toolCalls;
  return { index: parts.index, message, logprobs: parts.logprobs === null ? null : { content: parts.logprobs }, finish_reason: parts.finishReason ?? 'stop' };
}

function textChoice(parts: ChoiceParts): Json {
  return { index: parts.index, text: parts.text.join(''), logprobs: null, finish_reason: parts.finishReason ?? 'stop' };
}
