import { randomBytes } from 'node:crypto';
import type { ClientDialect, DialectStream, StreamFailure } from '../dialects/client-dialect.ts';
import { firstChoice, record, tokenCount, type Json } from '../dialects/openai-answer.ts';

/**
 * OpenAI chat answers as Anthropic Messages: one `message` object, or the
 * Messages event stream (message_start, ping, content_block_start / delta /
 * stop per text or tool_use block, message_delta with the stop reason and
 * usage, message_stop), each event as it arrives.
 */
export function messagesDialect(options: { model: string; stopSequences: readonly string[]; estimatedInputTokens: number }): ClientDialect {
  const { model, stopSequences } = options;
  return {
    answer(openAI) {
      const choice = firstChoice(openAI);
      const message = record(choice['message']);
      const content: Json[] = [];
      if (typeof message['content'] === 'string' && message['content'] !== '') content.push({ type: 'text', text: message['content'] });
      for (const call of Array.isArray(message['tool_calls']) ? message['tool_calls'].map(record) : []) {
        const fn = record(call['function']);
        content.push({ type: 'tool_use', id: toolUseId(call['id']), name: String(fn['name'] ?? ''), input: parsedInput(fn['arguments']) });
      }
      const stop = stopOf(choice, stopSequences);
      const usage = record(openAI['usage']);
      return {
        id: messageId(openAI['id']),
        type: 'message',
        role: 'assistant',
        model,
        content,
        stop_reason: stop.reason,
        stop_sequence: stop.sequence,
        usage: { input_tokens: tokenCount(usage['prompt_tokens']), output_tokens: tokenCount(usage['completion_tokens']) },
      };
    },
    stream(): DialectStream {
      let started = false;
      let id = '';
      let blockIndex = -1;
      let open: 'text' | 'tool' | null = null;
      // OpenAI tool-call index → our block index (its arguments arrive in pieces, merged by that index).
      const toolBlocks = new Map<number, number>();
      let finish: Json = {};
      let usage: Json = {};
      const event = (type: string, data: Json) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
      const start = (chunk: Json): string => {
        if (started) return '';
        started = true;
        id = messageId(chunk['id']);
        return `${event('message_start', { message: { id, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: options.estimatedInputTokens, output_tokens: 0 } } })}${event('ping', {})}`;
      };
      const close = (): string => {
        if (open === null) return '';
        open = null;
        return event('content_block_stop', { index: blockIndex });
      };
      return {
        contentType: 'text/event-stream; charset=utf-8',
        chunk(chunk) {
          let out = start(chunk);
          if (chunk['usage'] !== undefined && chunk['usage'] !== null) usage = record(chunk['usage']);
          const choice = firstChoice(chunk);
          if (choice['finish_reason'] !== undefined && choice['finish_reason'] !== null) finish = choice;
          const delta = record(choice['delta']);
          if (typeof delta['content'] === 'string' && delta['content'] !== '') {
            if (open !== 'text') {
              out += close();
              blockIndex++;
              open = 'text';
              out += event('content_block_start', { index: blockIndex, content_block: { type: 'text', text: '' } });
            }
            out += event('content_block_delta', { index: blockIndex, delta: { type: 'text_delta', text: delta['content'] } });
          }
          for (const call of Array.isArray(delta['tool_calls']) ? delta['tool_calls'].map(record) : []) {
            const toolIndex = typeof call['index'] === 'number' ? call['index'] : toolBlocks.size;
            const fn = record(call['function']);
            let at = toolBlocks.get(toolIndex);
            if (at === undefined) {
              out += close();
              blockIndex++;
              at = blockIndex;
              toolBlocks.set(toolIndex, at);
              open = 'tool';
              out += event('content_block_start', { index: at, content_block: { type: 'tool_use', id: toolUseId(call['id']), name: String(fn['name'] ?? ''), input: {} } });
            }
            if (typeof fn['arguments'] === 'string' && fn['arguments'] !== '') out += event('content_block_delta', { index: at, delta: { type: 'input_json_delta', partial_json: fn['arguments'] } });
          }
          return out;
        },
        done() {
          const stop = stopOf(finish, stopSequences);
          return `${start({})}${close()}${event('message_delta', { delta: { stop_reason: stop.reason, stop_sequence: stop.sequence }, usage: { input_tokens: tokenCount(usage['prompt_tokens']), output_tokens: tokenCount(usage['completion_tokens']) } })}${event('message_stop', {})}`;
        },
        fail(failure: StreamFailure) {
          // Anthropic's SDKs raise the `error` event; its type is Anthropic's when the proxy wrote Anthropic's shape.
          return event('error', { error: { type: failure.type === 'server_error' || failure.type === 'upstream_error' ? 'api_error' : failure.type, message: failure.message } });
        },
      };
    },
  };
}

/**
 * OpenAI's finish reason as Anthropic's stop reason. Which stop sequence
 * ended the text is known only from servers that say (vLLM's `stop_reason`);
 * otherwise a stop reads as the end of the turn.
 */
function stopOf(choice: Json, stopSequences: readonly string[]): { reason: string; sequence: string | null } {
  switch (choice['finish_reason']) {
    case 'length':
      return { reason: 'max_tokens', sequence: null };
    case 'tool_calls':
    case 'function_call':
      return { reason: 'tool_use', sequence: null };
    case 'content_filter':
      return { reason: 'refusal', sequence: null };
    default: {
      const matched = choice['stop_reason'];
      return typeof matched === 'string' && stopSequences.includes(matched) ? { reason: 'stop_sequence', sequence: matched } : { reason: 'end_turn', sequence: null };
    }
  }
}

function messageId(upstream: unknown): string {
  const suffix = typeof upstream === 'string' && /^[A-Za-z0-9_-]+$/.test(upstream) ? upstream.replace(/^(chatcmpl|cmpl)-/, '') : randomBytes(12).toString('hex');
  return `msg_${suffix}`;
}

function toolUseId(upstream: unknown): string {
  return typeof upstream === 'string' && upstream !== '' ? upstream : `toolu_${randomBytes(12).toString('hex')}`;
}

/** Tool arguments as the object Anthropic's `input` is; a model's broken JSON is kept as text under one key. */
function parsedInput(argumentsText: unknown): unknown {
  if (typeof argumentsText !== 'string' || argumentsText === '') return {};
  try {
    const parsed = JSON.parse(argumentsText) as unknown;
    return parsed !== null && typeof parsed === 'object' ? parsed : { value: parsed };
  } catch {
    return { arguments: argumentsText };
  }
}
