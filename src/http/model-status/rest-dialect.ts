import { performance } from 'node:perf_hooks';
import type { ClientDialect, StreamFailure } from '../dialects/client-dialect.ts';
import { firstChoice, record, tokenCount, type Json } from '../dialects/openai-answer.ts';

/**
 * The simple REST answer of `POST /api/v1/models/{model}/generate`:
 * `{model, text, server, usage, latency_ms, finish_reason}`; streamed as SSE
 * `{type: "delta", text}` events and a last `{type: "done", …}` with the same
 * fields as the whole answer.
 */
export function restGenerateDialect(startedAt: number): ClientDialect {
  const whole = (model: unknown, text: string, server: string | null, usage: Json, finish: unknown): Json => ({
    model,
    text,
    server,
    usage: { prompt_tokens: tokenCount(usage['prompt_tokens']), completion_tokens: tokenCount(usage['completion_tokens']), total_tokens: tokenCount(usage['prompt_tokens']) + tokenCount(usage['completion_tokens']) },
    latency_ms: Math.round((performance.now() - startedAt) * 1000) / 1000,
    finish_reason: typeof finish === 'string' ? finish : null,
  });
  return {
    answer(openAI, meta) {
      const choice = firstChoice(openAI);
      const content = record(choice['message'])['content'];
      return whole(openAI['model'], typeof content === 'string' ? content : '', meta.server, record(openAI['usage']), choice['finish_reason']);
    },
    stream(meta) {
      let text = '';
      let model: unknown = null;
      let usage: Json = {};
      let finish: unknown = null;
      const event = (value: Json) => `data: ${JSON.stringify(value)}\n\n`;
      return {
        contentType: 'text/event-stream; charset=utf-8',
        chunk(chunk) {
          model = chunk['model'] ?? model;
          if (chunk['usage'] !== undefined && chunk['usage'] !== null) usage = record(chunk['usage']);
          const choice = firstChoice(chunk);
          if (choice['finish_reason'] !== undefined && choice['finish_reason'] !== null) finish = choice['finish_reason'];
          const piece = record(choice['delta'])['content'];
          if (typeof piece !== 'string' || piece === '') return '';
          text += piece;
          return event({ type: 'delta', text: piece });
        },
        done: () => event({ type: 'done', ...whole(model, text, meta.server, usage, finish) }),
        fail: (failure: StreamFailure) => event({ type: 'error', error: { message: failure.message, type: failure.type, code: failure.code } }),
      };
    },
  };
}
