import { performance } from 'node:perf_hooks';
import type { ClientDialect, StreamFailure } from '../dialects/client-dialect.ts';
import { firstChoice, record, tokenCount, type Json } from '../dialects/openai-answer.ts';

/**
 * The simple REST answer of `POST /api/v1/models/{model}/generate`:
 * `{id, model, text, server, usage, cost, latency_ms, finish_reason}`; streamed as SSE
 * `{type: "delta", text}` events and a last `{type: "done", …}` with the same
 * fields as the whole answer.
 */
/** What a request cost from the model's price (PriceBook.costOf), null without one. */
export type CostOf = (modelId: string | null, promptTokens: number, completionTokens: number, latencyMs: number) => number | null;

export function restGenerateDialect(startedAt: number, requestId: string, costOf: CostOf): ClientDialect {
  const whole = (model: unknown, text: string, server: string | null, usage: Json, finish: unknown): Json => {
    const promptTokens = tokenCount(usage['prompt_tokens']);
    const completionTokens = tokenCount(usage['completion_tokens']);
    const latencyMs = Math.round((performance.now() - startedAt) * 1000) / 1000;
    return {
      id: requestId,
      model,
      text,
      server,
      usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
      // From the model's price when one is set (the usage record's own figure), else null.
      cost: costOf(typeof model === 'string' ? model : null, promptTokens, completionTokens, latencyMs),
      latency_ms: latencyMs,
      finish_reason: typeof finish === 'string' ? finish : null,
    };
  };
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
