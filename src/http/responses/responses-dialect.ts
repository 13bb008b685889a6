import { randomBytes } from 'node:crypto';
import type { ClientDialect, DialectStream, StreamFailure } from '../dialects/client-dialect.ts';
import { firstChoice, record, tokenCount, type Json } from '../dialects/openai-answer.ts';

/** What a Responses answer needs beyond the chat answer: its id, time, and the request it echoes. */
export interface ResponseContext {
  id: string;
  /** Epoch seconds. */
  createdAt: number;
  model: string;
  request: Json;
  /** Told the finished Response (completed or incomplete) and the assistant's turn as a chat message, before the caller gets it. */
  onFinished: (response: Json, assistant: Json) => void;
}

export function newResponseId(): string {
  return `resp_${randomBytes(16).toString('hex')}`;
}

function itemId(prefix: 'msg' | 'fc'): string {
  return `${prefix}_${randomBytes(16).toString('hex')}`;
}

/**
 * OpenAI chat answers as Responses API answers: the Response object (output
 * items: one assistant message, then one function_call item per tool call),
 * or the Responses event stream, every event with its `sequence_number`,
 * translated chunk by chunk as it arrives.
 */
export function responsesDialect(context: ResponseContext): ClientDialect {
  return {
    answer(openAI) {
      const choice = firstChoice(openAI);
      const message = record(choice['message']);
      const text = typeof message['content'] === 'string' ? message['content'] : '';
      const calls = Array.isArray(message['tool_calls']) ? message['tool_calls'].map(record) : [];
      const output: Json[] = [];
      if (text !== '' || calls.length === 0) output.push(messageItem(itemId('msg'), text, 'completed'));
      for (const call of calls) {
        const fn = record(call['function']);
        output.push(functionCallItem(itemId('fc'), callIdOf(call['id']), String(fn['name'] ?? ''), typeof fn['arguments'] === 'string' ? fn['arguments'] : '{}', 'completed'));
      }
      const response = finished(context, output, choice['finish_reason'], record(openAI['usage']));
      context.onFinished(response, assistantTurn(output));
      return response;
    },
    stream(): DialectStream {
      let sequence = 0;
      let started = false;
      const output: Json[] = [];
      // The output item being written (text, or a function call by its OpenAI tool index).
      let openMessage: Json | null = null;
      const openCalls = new Map<number, Json>();
      let finish: unknown = null;
      let usage: Json = {};
      const event = (type: string, data: Json) => `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: sequence++, ...data })}\n\n`;
      const start = (): string => {
        if (started) return '';
        started = true;
        const snapshot = base(context);
        return `${event('response.created', { response: snapshot })}${event('response.in_progress', { response: snapshot })}`;
      };
      const closeMessage = (): string => {
        if (openMessage === null) return '';
        const item = openMessage;
        openMessage = null;
        const index = output.indexOf(item);
        const text = String(record((item['content'] as Json[])[0])['text'] ?? '');
        item['status'] = 'completed';
        const part = { type: 'output_text', text, annotations: [], logprobs: [] };
        return `${event('response.output_text.done', { item_id: item['id'], output_index: index, content_index: 0, text, logprobs: [] })}${event('response.content_part.done', { item_id: item['id'], output_index: index, content_index: 0, part })}${event('response.output_item.done', { output_index: index, item })}`;
      };
      const closeCalls = (): string => {
        let out = '';
        for (const item of openCalls.values()) {
          const index = output.indexOf(item);
          item['status'] = 'completed';
          out += `${event('response.function_call_arguments.done', { item_id: item['id'], output_index: index, name: item['name'], arguments: item['arguments'] })}${event('response.output_item.done', { output_index: index, item })}`;
        }
        openCalls.clear();
        return out;
      };
      return {
        contentType: 'text/event-stream; charset=utf-8',
        chunk(chunk) {
          let out = start();
          if (chunk['usage'] !== undefined && chunk['usage'] !== null) usage = record(chunk['usage']);
          const choice = firstChoice(chunk);
          if (choice['finish_reason'] !== undefined && choice['finish_reason'] !== null) finish = choice['finish_reason'];
          const delta = record(choice['delta']);
          if (typeof delta['content'] === 'string' && delta['content'] !== '') {
            if (openMessage === null) {
              out += closeCalls();
              openMessage = messageItem(itemId('msg'), '', 'in_progress');
              output.push(openMessage);
              const index = output.length - 1;
              out += event('response.output_item.added', { output_index: index, item: { ...openMessage, content: [] } });
              out += event('response.content_part.added', { item_id: openMessage['id'], output_index: index, content_index: 0, part: { type: 'output_text', text: '', annotations: [], logprobs: [] } });
            }
            const part = record((openMessage['content'] as Json[])[0]);
            part['text'] = `${String(part['text'])}${delta['content']}`;
            out += event('response.output_text.delta', { item_id: openMessage['id'], output_index: output.indexOf(openMessage), content_index: 0, delta: delta['content'], logprobs: [] });
          }
          for (const call of Array.isArray(delta['tool_calls']) ? delta['tool_calls'].map(record) : []) {
            const toolIndex = typeof call['index'] === 'number' ? call['index'] : openCalls.size;
            const fn = record(call['function']);
            let item = openCalls.get(toolIndex);
            if (item === undefined) {
              out += closeMessage();
              item = functionCallItem(itemId('fc'), callIdOf(call['id']), String(fn['name'] ?? ''), '', 'in_progress');
              openCalls.set(toolIndex, item);
              output.push(item);
              out += event('response.output_item.added', { output_index: output.length - 1, item: { ...item } });
            }
            if (typeof fn['arguments'] === 'string' && fn['arguments'] !== '') {
              item['arguments'] = `${String(item['arguments'])}${fn['arguments']}`;
              out += event('response.function_call_arguments.delta', { item_id: item['id'], output_index: output.indexOf(item), delta: fn['arguments'] });
            }
          }
          return out;
        },
        done() {
          let out = `${start()}${closeMessage()}${closeCalls()}`;
          // A stream with no output at all still answers one (empty) message, as a whole answer would.
          if (output.length === 0) {
            const item = messageItem(itemId('msg'), '', 'completed');
            output.push(item);
            out += `${event('response.output_item.added', { output_index: 0, item: { ...item, content: [], status: 'in_progress' } })}${event('response.output_item.done', { output_index: 0, item })}`;
          }
          const response = finished(context, output, finish, usage);
          context.onFinished(response, assistantTurn(output));
          return `${out}${event(response['status'] === 'completed' ? 'response.completed' : 'response.incomplete', { response })}`;
        },
        fail(failure: StreamFailure) {
          const error = { code: 'server_error', message: failure.message };
          const response = { ...base(context), status: 'failed', error, output };
          return `${start()}${event('response.failed', { response })}${event('error', { code: failure.code ?? 'server_error', message: failure.message, param: null })}`;
        },
      };
    },
  };
}

/** The Response before any output: what response.created carries, echoing the request. */
function base(context: ResponseContext): Json {
  const request = context.request;
  return {
    id: context.id,
    object: 'response',
    created_at: context.createdAt,
    status: 'in_progress',
    background: false,
    error: null,
    incomplete_details: null,
    instructions: request['instructions'] ?? null,
    max_output_tokens: request['max_output_tokens'] ?? null,
    max_tool_calls: null,
    model: context.model,
    output: [],
    parallel_tool_calls: request['parallel_tool_calls'] ?? true,
    previous_response_id: request['previous_response_id'] ?? null,
    reasoning: { effort: null, summary: null },
    service_tier: 'default',
    store: request['store'] !== false,
    temperature: request['temperature'] ?? 1,
    text: request['text'] ?? { format: { type: 'text' } },
    tool_choice: request['tool_choice'] ?? 'auto',
    tools: request['tools'] ?? [],
    top_p: request['top_p'] ?? 1,
    truncation: 'disabled',
    usage: null,
    user: request['user'] ?? null,
    metadata: request['metadata'] ?? {},
  };
}

function finished(context: ResponseContext, output: Json[], finish: unknown, usage: Json): Json {
  const input = tokenCount(usage['prompt_tokens']);
  const generated = tokenCount(usage['completion_tokens']);
  const cached = tokenCount(record(usage['prompt_tokens_details'])['cached_tokens']);
  const incomplete = finish === 'length' ? 'max_output_tokens' : finish === 'content_filter' ? 'content_filter' : null;
  return {
    ...base(context),
    status: incomplete === null ? 'completed' : 'incomplete',
    incomplete_details: incomplete === null ? null : { reason: incomplete },
    output,
    usage: { input_tokens: input, input_tokens_details: { cached_tokens: cached }, output_tokens: generated, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: input + generated },
  };
}

function messageItem(id: string, text: string, status: string): Json {
  return { id, type: 'message', status, role: 'assistant', content: [{ type: 'output_text', text, annotations: [], logprobs: [] }] };
}

function functionCallItem(id: string, callId: string, name: string, argumentsText: string, status: string): Json {
  return { id, type: 'function_call', status, call_id: callId, name, arguments: argumentsText };
}

/** The answer as the chat message a continuation sends back. */
function assistantTurn(output: readonly Json[]): Json {
  const text = output.filter((item) => item['type'] === 'message').map((item) => String(record((item['content'] as Json[])[0])['text'] ?? '')).join('');
  const calls = output.filter((item) => item['type'] === 'function_call').map((item) => ({ id: item['call_id'], type: 'function', function: { name: item['name'], arguments: item['arguments'] } }));
  return calls.length === 0 ? { role: 'assistant', content: text } : { role: 'assistant', content: text === '' ? null : text, tool_calls: calls };
}

function callIdOf(upstream: unknown): string {
  return typeof upstream === 'string' && upstream !== '' ? upstream : `call_${randomBytes(12).toString('hex')}`;
}
