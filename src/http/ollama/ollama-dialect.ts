import { performance } from 'node:perf_hooks';
import type { ClientDialect, DialectStream, StreamFailure } from '../dialects/client-dialect.ts';
import { firstChoice, record, tokenCount, type Json } from '../dialects/openai-answer.ts';

/**
 * OpenAI answers as Ollama's: `/api/chat` (`message`), `/api/generate`
 * (`response`), NDJSON when streamed, with Ollama's closing line
 * (`done_reason` and the timing fields). The server did not report Ollama's
 * timings, so they are measured here: the whole request, and the time to the
 * first token as the prompt's evaluation (nanoseconds, as Ollama counts).
 */
export function ollamaGenerationDialect(options: { model: string; endpoint: 'chat' | 'generate'; startedAt: number; think: boolean }): ClientDialect {
  const { model, endpoint, startedAt } = options;
  const head = () => ({ model, created_at: new Date().toISOString() });
  const body = (content: string, extra: Json = {}): Json => (endpoint === 'chat' ? { message: { role: 'assistant', content, ...extra } } : { response: content, ...(extra['thinking'] === undefined ? {} : { thinking: extra['thinking'] }) });
  return {
    answer(openAI) {
      const choice = firstChoice(openAI);
      const message = record(choice['message']);
      const content = typeof message['content'] === 'string' ? message['content'] : typeof choice['text'] === 'string' ? choice['text'] : '';
      const extra: Json = {};
      const thinking = reasoningOf(message);
      if (options.think && thinking !== null) extra['thinking'] = thinking;
      const calls = Array.isArray(message['tool_calls']) ? message['tool_calls'].map(ollamaToolCall).filter((call) => call !== null) : [];
      if (endpoint === 'chat' && calls.length > 0) extra['tool_calls'] = calls;
      const usage = record(openAI['usage']);
      const total = nanosecondsSince(startedAt);
      return {
        ...head(),
        ...body(content, extra),
        done_reason: doneReason(choice['finish_reason']),
        done: true,
        ...timings(total, 0, usage),
      };
    },
    stream(): DialectStream {
      let firstTokenAt: number | null = null;
      let finish: unknown = null;
      let usage: Json = {};
      const calls = new Map<number, { name: string; arguments: string }>();
      const line = (value: Json) => `${JSON.stringify(value)}\n`;
      return {
        contentType: 'application/x-ndjson',
        chunk(chunk) {
          if (chunk['usage'] !== undefined && chunk['usage'] !== null) usage = record(chunk['usage']);
          const choice = firstChoice(chunk);
          if (choice['finish_reason'] !== undefined && choice['finish_reason'] !== null) finish = choice['finish_reason'];
          const delta = record(choice['delta']);
          for (const call of Array.isArray(delta['tool_calls']) ? delta['tool_calls'] : []) {
            const fields = record(call);
            const index = typeof fields['index'] === 'number' ? fields['index'] : calls.size;
            const fn = record(fields['function']);
            const known = calls.get(index) ?? { name: '', arguments: '' };
            if (typeof fn['name'] === 'string') known.name += fn['name'];
            if (typeof fn['arguments'] === 'string') known.arguments += fn['arguments'];
            calls.set(index, known);
          }
          const text = typeof delta['content'] === 'string' ? delta['content'] : typeof choice['text'] === 'string' ? choice['text'] : '';
          const thinking = options.think ? reasoningOf(delta) : null;
          if (text === '' && thinking === null) return '';
          firstTokenAt ??= performance.now();
          return line({ ...head(), ...body(text, thinking === null ? {} : { thinking }), done: false });
        },
        done() {
          let out = '';
          // Ollama sends a tool call whole, in one message, once its arguments are complete.
          if (endpoint === 'chat' && calls.size > 0) {
            const toolCalls = [...calls.values()].map((call) => ollamaToolCall({ function: call })).filter((call) => call !== null);
            out += line({ ...head(), message: { role: 'assistant', content: '', tool_calls: toolCalls }, done: false });
          }
          const total = nanosecondsSince(startedAt);
          const promptEval = firstTokenAt === null ? 0 : Math.round((firstTokenAt - startedAt) * 1e6);
          return `${out}${line({ ...head(), ...body(''), done_reason: doneReason(finish), done: true, ...timings(total, promptEval, usage) })}`;
        },
        fail(failure: StreamFailure) {
          return line({ error: failure.message });
        },
      };
    },
  };
}

/** `/api/embed` (`embeddings`, several) or the older `/api/embeddings` (`embedding`, one) from an OpenAI embeddings list. */
export function ollamaEmbedDialect(options: { model: string; legacy: boolean; startedAt: number }): ClientDialect {
  return {
    answer(openAI) {
      const data = Array.isArray(openAI['data']) ? openAI['data'].map(record) : [];
      data.sort((a, b) => Number(a['index'] ?? 0) - Number(b['index'] ?? 0));
      const vectors = data.map((item) => item['embedding']);
      if (options.legacy) return { embedding: vectors[0] ?? [] };
      const usage = record(openAI['usage']);
      return { model: options.model, embeddings: vectors, total_duration: nanosecondsSince(options.startedAt), load_duration: 0, prompt_eval_count: tokenCount(usage['prompt_tokens']) };
    },
    stream() {
      throw new Error('embeddings do not stream');
    },
  };
}

/** OpenAI's finish reasons as Ollama's: a tool call ends with `stop` there. */
function doneReason(finish: unknown): string {
  return finish === 'length' ? 'length' : 'stop';
}

function timings(total: number, promptEval: number, usage: Json): Json {
  return {
    total_duration: total,
    load_duration: 0,
    prompt_eval_count: tokenCount(usage['prompt_tokens']),
    prompt_eval_duration: promptEval,
    eval_count: tokenCount(usage['completion_tokens']),
    eval_duration: Math.max(0, total - promptEval),
  };
}

/** OpenAI's call (arguments as a JSON string) as Ollama's (arguments as an object). */
function ollamaToolCall(call: unknown): Json | null {
  const fn = record(record(call)['function']);
  if (typeof fn['name'] !== 'string') return null;
  let parsed: unknown = {};
  if (typeof fn['arguments'] === 'string' && fn['arguments'] !== '') {
    try {
      parsed = JSON.parse(fn['arguments']);
    } catch {
      // A model that wrote broken JSON: Ollama's clients expect an object, the text is kept under one key.
      parsed = { arguments: fn['arguments'] };
    }
  } else if (fn['arguments'] !== null && typeof fn['arguments'] === 'object') {
    parsed = fn['arguments'];
  }
  return { function: { name: fn['name'], arguments: parsed } };
}

/** vLLM and others put a reasoning model's thinking in `reasoning_content` (or `reasoning`). */
function reasoningOf(message: Json): string | null {
  const value = message['reasoning_content'] ?? message['reasoning'];
  return typeof value === 'string' && value !== '' ? value : null;
}

function nanosecondsSince(startedAt: number): number {
  return Math.round((performance.now() - startedAt) * 1e6);
}
