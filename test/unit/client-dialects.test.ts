import { describe, expect, it } from 'vitest';
import { performance } from 'node:perf_hooks';
import { noMeta } from '../../src/http/dialects/client-dialect.ts';
import { messagesDialect } from '../../src/http/anthropic/messages-dialect.ts';
import { chatFromMessages } from '../../src/http/anthropic/messages-request.ts';
import { ollamaGenerationDialect } from '../../src/http/ollama/ollama-dialect.ts';
import { chatFromOllama, generateFromOllama, imageDataUrl, messagesFromOllama } from '../../src/http/ollama/ollama-request.ts';
import { LineBoundary, ollamaLineUsage, scanLines } from '../../src/data/proxy/ndjson-framing.ts';

const chunk = (delta: Record<string, unknown>, finish: string | null = null, extra: Record<string, unknown> = {}) => ({ id: 'chatcmpl-1', object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finish, ...extra }] });

describe('Ollama requests as OpenAI ones', () => {
  it('maps options, format schemas and drops runtime settings', () => {
    const schema = { type: 'object', properties: { age: { type: 'integer' } } };
    const { body, refused } = chatFromOllama({ model: 'm', messages: [{ role: 'user', content: 'hi' }], format: schema, options: { num_ctx: 4096, num_gpu: 1, repeat_penalty: 1.1, min_p: 0.05, num_predict: -1 } }, false);
    expect(body).toEqual({ model: 'm', messages: [{ role: 'user', content: 'hi' }], response_format: { type: 'json_schema', json_schema: { name: 'response', schema } }, repetition_penalty: 1.1, min_p: 0.05 });
    expect(refused).toEqual([]);
    expect(chatFromOllama({ model: 'm', messages: [], options: { mirostat: 2, tfs_z: 1 } }, true).refused).toEqual(['options.mirostat', 'options.tfs_z']);
  });

  it('pairs tool results with calls by order, or by tool_name', () => {
    const messages = messagesFromOllama([
      { role: 'user', content: 'weather and time?' },
      { role: 'assistant', content: '', tool_calls: [{ function: { name: 'weather', arguments: { city: 'Oslo' } } }, { function: { name: 'time', arguments: {} } }] },
      { role: 'tool', content: '12:00', tool_name: 'time' },
      { role: 'tool', content: 'sunny' },
    ]);
    expect(messages[1]).toMatchObject({ content: null, tool_calls: [{ id: 'call_0', function: { name: 'weather', arguments: '{"city":"Oslo"}' } }, { id: 'call_1', function: { name: 'time', arguments: '{}' } }] });
    expect(messages[2]).toEqual({ role: 'tool', tool_call_id: 'call_1', content: '12:00' });
    expect(messages[3]).toEqual({ role: 'tool', tool_call_id: 'call_0', content: 'sunny' });
  });

  it('reads an image\'s type from its first bytes', () => {
    expect(imageDataUrl('/9j/4AAQ')).toBe('data:image/jpeg;base64,/9j/4AAQ');
    expect(imageDataUrl('iVBORw0K')).toBe('data:image/png;base64,iVBORw0K');
  });

  it('sends generate as chat (template applied by the server), raw and suffix as a completion', () => {
    expect(generateFromOllama({ model: 'm', prompt: 'p', system: 's' }, false)).toMatchObject({ operation: 'chat', body: { messages: [{ role: 'system', content: 's' }, { role: 'user', content: 'p' }] } });
    expect(generateFromOllama({ model: 'm', prompt: 'def f(', suffix: 'return x' }, false)).toMatchObject({ operation: 'completion', body: { prompt: 'def f(', suffix: 'return x' } });
  });
});

describe('OpenAI answers as Ollama\'s', () => {
  it('streams content, then the tool calls whole, then the closing line with measured timings', () => {
    const stream = ollamaGenerationDialect({ model: 'm', endpoint: 'chat', startedAt: performance.now(), think: true }).stream(noMeta);
    const out = [
      stream.chunk(chunk({ role: 'assistant', content: '' })),
      stream.chunk(chunk({ reasoning_content: 'hmm' })),
      stream.chunk(chunk({ content: 'Hi' })),
      stream.chunk(chunk({ tool_calls: [{ index: 0, id: 'c1', function: { name: 'f', arguments: '{"a":' } }] })),
      stream.chunk(chunk({ tool_calls: [{ index: 0, function: { arguments: '1}' } }] }, 'tool_calls')),
      stream.chunk({ id: 'x', choices: [], usage: { prompt_tokens: 3, completion_tokens: 4 } }),
      stream.done(),
    ].join('');
    const lines = out.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.map((line) => line['message'])).toEqual([
      { role: 'assistant', content: '', thinking: 'hmm' },
      { role: 'assistant', content: 'Hi' },
      { role: 'assistant', content: '', tool_calls: [{ function: { name: 'f', arguments: { a: 1 } } }] },
      { role: 'assistant', content: '' },
    ]);
    expect(lines.at(-1)).toMatchObject({ done: true, done_reason: 'stop', prompt_eval_count: 3, eval_count: 4 });
    expect(Number(lines.at(-1)?.['total_duration'])).toBeGreaterThan(0);
    expect(stream.fail({ message: 'broke', type: 'x', code: null })).toBe('{"error":"broke"}\n');
  });
});

describe('Anthropic requests as OpenAI ones', () => {
  it('joins system blocks, puts tool results first in their turn, and maps tool_choice', () => {
    const body = chatFromMessages({
      model: 'm',
      max_tokens: 9,
      system: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }],
      tool_choice: { type: 'any', disable_parallel_tool_use: true },
      tools: [{ name: 'f', input_schema: { type: 'object' } }],
      messages: [
        { role: 'assistant', content: [{ type: 'thinking', thinking: '…' }, { type: 'tool_use', id: 't1', name: 'f', input: { x: 1 } }] },
        { role: 'user', content: [{ type: 'text', text: 'then?' }, { type: 'tool_result', tool_use_id: 't1', content: [{ type: 'text', text: 'ok' }], is_error: true }] },
      ],
    }, false);
    expect(body['messages']).toEqual([
      { role: 'system', content: 'a\nb' },
      { role: 'assistant', content: null, tool_calls: [{ id: 't1', type: 'function', function: { name: 'f', arguments: '{"x":1}' } }] },
      { role: 'tool', tool_call_id: 't1', content: 'Error: ok' },
      { role: 'user', content: 'then?' },
    ]);
    expect(body).toMatchObject({ tool_choice: 'required', parallel_tool_calls: false, tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }] });
  });
});

describe('OpenAI answers as Anthropic\'s', () => {
  it('names the stop sequence when the server says which matched', () => {
    const dialect = messagesDialect({ model: 'm', stopSequences: ['###'], estimatedInputTokens: 1 });
    const answer = dialect.answer({ id: 'chatcmpl-9', choices: [{ message: { content: 'x' }, finish_reason: 'stop', stop_reason: '###' }], usage: { prompt_tokens: 2, completion_tokens: 1 } }, noMeta);
    expect(answer).toMatchObject({ id: 'msg_9', stop_reason: 'stop_sequence', stop_sequence: '###', usage: { input_tokens: 2, output_tokens: 1 } });
  });

  it('streams text then a tool_use block with its JSON in pieces, closing each block', () => {
    const stream = messagesDialect({ model: 'm', stopSequences: [], estimatedInputTokens: 5 }).stream(noMeta);
    const text = [
      stream.chunk(chunk({ role: 'assistant', content: 'Let me check' })),
      stream.chunk(chunk({ tool_calls: [{ index: 0, id: 'call_1', function: { name: 'f', arguments: '' } }] })),
      stream.chunk(chunk({ tool_calls: [{ index: 0, function: { arguments: '{"a":1}' } }] }, 'tool_calls')),
      stream.done(),
    ].join('');
    const events = text.trim().split('\n\n').map((block) => JSON.parse(block.split('\n')[1]?.slice(6) ?? '{}') as Record<string, unknown>);
    expect(events.map((event) => event['type'])).toEqual(['message_start', 'ping', 'content_block_start', 'content_block_delta', 'content_block_stop', 'content_block_start', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
    expect(events[5]).toMatchObject({ index: 1, content_block: { type: 'tool_use', id: 'call_1', name: 'f', input: {} } });
    expect(events[6]).toMatchObject({ index: 1, delta: { type: 'input_json_delta', partial_json: '{"a":1}' } });
    expect(events[8]).toMatchObject({ delta: { stop_reason: 'tool_use' } });
  });
});

describe('NDJSON framing', () => {
  it('holds a partial line until its newline, checks each line and reads Ollama\'s closing counts', () => {
    const boundary = new LineBoundary(1024);
    expect(boundary.push(Buffer.from('{"a":1}\n{"b"')).toString()).toBe('{"a":1}\n');
    expect(boundary.push(Buffer.from(':2}\n')).toString()).toBe('{"b":2}\n');
    expect(scanLines(Buffer.from('{"a":1}\nnot json\n'), { events: 0 })).toBe(8);
    expect(ollamaLineUsage(Buffer.from('{"done":false}\n{"done":true,"prompt_eval_count":7,"eval_count":9}\n'))).toEqual({ promptTokens: 7, completionTokens: 9 });
    expect(() => new LineBoundary(8).push(Buffer.from('{"a":"long line"'))).toThrow();
  });
});
