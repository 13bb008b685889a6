import { describe, expect, it } from 'vitest';
import { checkCustomConfig } from '../../src/data/adapters/custom/custom-config.ts';
import { placeholderValues, renderTemplate } from '../../src/data/adapters/custom/custom-request.ts';
import { valueAt } from '../../src/data/adapters/custom/custom-answer.ts';
import { NativeCompletionStream, planNativeCompletion } from '../../src/data/adapters/llamacpp/llamacpp-completion.ts';
import { registerServerKind, findServerKind } from '../../src/data/adapters/server-kinds.ts';
import { openAIKind } from '../../src/data/adapters/openai/openai-kind.ts';
import { synthesizeEvents } from '../../src/data/proxy/synthesized-stream.ts';
import { translateEnd, translateEvents } from '../../src/data/proxy/translated-events.ts';

describe('the custom kind’s request template', () => {
  it('keeps the type of a value that is a whole placeholder and drops unset ones', () => {
    const values = placeholderValues('chat', { messages: [{ role: 'user', content: 'hi' }], max_tokens: 7 }, 'm/1');
    expect(renderTemplate({ prompt: '{prompt}', n: '{max_tokens}', t: '{temperature}', tag: 'for {model}', list: ['{prompt}', '{temperature}'] }, values)).toEqual({
      prompt: 'hi',
      n: 7,
      tag: 'for m/1',
      list: ['hi'],
    });
  });

  it('reads answer fields by dotted path, array indexes included', () => {
    expect(valueAt({ choices: [{ text: 'a' }] }, 'choices.0.text')).toBe('a');
    expect(valueAt({ output: 'flat' }, 'output.text')).toBeUndefined();
  });

  it('fills defaults, and names the field of the first problem', () => {
    const checked = checkCustomConfig({ generate_path: '/g', text_field: 'text', models: ['m'] });
    expect(checked).toMatchObject({ ok: true, value: { method: 'POST', health_path: '/health', request_template: { prompt: '{prompt}' }, auth_header: 'authorization', auth_scheme: 'Bearer' } });
    expect(checkCustomConfig({ generate_path: '/g/../admin', text_field: 'text', models: ['m'] })).toMatchObject({ ok: false, field: 'generate_path' });
    expect(checkCustomConfig({ generate_path: '/g', text_field: 'text', models: ['m'], auth_scheme: 'Bearer\r\nX-Evil: 1' })).toMatchObject({ ok: false, field: 'auth_scheme' });
    expect(checkCustomConfig({ generate_path: '/g', text_field: 'text', models: ['m'], capabilities: ['embedding'] })).toMatchObject({ ok: false, field: 'capabilities' });
  });
});

describe('llama.cpp native completions', () => {
  it('maps OpenAI fields to native ones and passes llama.cpp’s own through', () => {
    const plan = planNativeCompletion({ model: 'x', prompt: 'p', max_tokens: 4, grammar: 'root ::= "a"', stream_options: { include_usage: true } }, 'x', {});
    // `model` stays: a llama.cpp router sends the request to the model it names and refuses one without.
    expect(plan?.body).toEqual({ model: 'x', prompt: 'p', n_predict: 4, grammar: 'root ::= "a"', stream: false });
    expect(planNativeCompletion({ prompt: 'p', logprobs: 2 }, 'x', {})).toBeNull();
    expect(planNativeCompletion({ prompt: ['a', 'b'] }, 'x', {})).toBeNull();
  });

  it('turns the native stream into OpenAI chunks with one [DONE], and refuses a stream cut before its final event', () => {
    const stream = new NativeCompletionStream('x', true);
    expect(stream.event('{"content":"He","stop":false}').map((data) => JSON.parse(data).choices[0].text)).toEqual(['He']);
    const closing = stream.event('{"content":"","stop":true,"stop_type":"limit","tokens_predicted":2,"tokens_evaluated":3}');
    expect(closing.at(-1)).toBe('[DONE]');
    expect(JSON.parse(closing[0] as string).choices[0].finish_reason).toBe('length');
    expect(JSON.parse(closing[1] as string).usage).toEqual({ prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 });
    expect(stream.usage()).toEqual({ promptTokens: 3, completionTokens: 2 });
    expect(stream.end()).toEqual([]);
    const cut = new NativeCompletionStream('x', false);
    cut.event('{"content":"He","stop":false}');
    expect(() => cut.end()).toThrow(/before its final event/);
  });
});

describe('the stream hook seam', () => {
  it('splits whole SSE events, joins multi-line data, skips comments, and translates a trailing event at the end', () => {
    const seen: string[] = [];
    const translator = { event: (data: string) => (seen.push(data), [data.toUpperCase()]), end: () => ['[DONE]'], usage: () => null };
    const out = translateEvents(Buffer.from(': comment\n\ndata: a\ndata: b\n\r\ndata:c\n\n'), translator).toString();
    expect(seen).toEqual(['a\nb', 'c']);
    expect(out).toBe('data: A\nB\n\ndata: C\n\n');
    expect(translateEnd(Buffer.from('data: tail'), translator).toString()).toBe('data: TAIL\n\ndata: [DONE]\n\n');
  });

  it('synthesizes a chat stream from a whole answer: role, content, one finish, usage when asked, one [DONE]', () => {
    const answer = { id: 'c1', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'Hi' }, finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } };
    const events = synthesizeEvents(answer, true);
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((data) => JSON.parse(data));
    expect(chunks.every((chunk) => chunk.object === 'chat.completion.chunk' && chunk.id === 'c1')).toBe(true);
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? null)).toEqual(['', 'Hi', null, null]);
    expect(chunks.filter((chunk) => chunk.choices[0]?.finish_reason === 'stop')).toHaveLength(1);
    expect(chunks.at(-1).usage).toEqual(answer.usage);
    expect(synthesizeEvents(answer, false).some((data) => data.includes('"usage"'))).toBe(false);
  });
});

describe('the kind registry', () => {
  it('refuses a second kind with a taken id, or an id that could not be a server_type', () => {
    expect(() => registerServerKind({ ...openAIKind })).toThrow(/already registered/);
    expect(() => registerServerKind({ ...openAIKind, id: 'auto' })).toThrow(/auto/);
    expect(() => registerServerKind({ ...openAIKind, id: 'Bad Kind' })).toThrow(/lower-case/);
    const unregister = registerServerKind({ ...openAIKind, id: 'openai-copy' });
    expect(findServerKind('openai-copy')).toBeDefined();
    unregister();
    expect(findServerKind('openai-copy')).toBeUndefined();
  });
});
