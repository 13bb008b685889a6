import type { FastifyBaseLogger } from 'fastify';
import { describe, expect, it } from 'vitest';
import type { ByteCache } from '../../src/cache/byte-cache.ts';
import { MemoryByteCache } from '../../src/cache/memory-byte-cache.ts';
import type { CachePolicyRegistry } from '../../src/control/cache/cache-policy-registry.ts';
import { ResponseCache } from '../../src/data/response-cache/response-cache.ts';
import { parseFleetFile } from '../../src/config/fleet-file.ts';
import { synthesizeEvents } from '../../src/data/proxy/synthesized-stream.ts';
import { AnswerAssembler, maxAnswerBytes } from '../../src/data/response-cache/answer-assembler.ts';
import { canonicalJson, requestKeys } from '../../src/data/response-cache/request-key.ts';
import { decodeIndex, encodeIndex, maxIndexEntries, nearest, normalized, withEntry } from '../../src/data/response-cache/semantic-index.ts';

const sse = (...payloads: unknown[]) => Buffer.from(payloads.map((payload) => `data: ${typeof payload === 'string' ? payload : JSON.stringify(payload)}\n\n`).join(''));

describe('request keys', () => {
  const body = { messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hi' }], temperature: 0.2 };

  it('sorts keys at every depth', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { f: 1, e: 0 }], c: null } })).toBe('{"a":{"c":null,"d":[2,{"e":0,"f":1}]},"b":1}');
  });

  it('ignores user, stream, stream_options, metadata and store, but not sampling or tools', () => {
    const base = requestKeys('chat', 'm', body, '*', false).exact;
    expect(requestKeys('chat', 'm', { ...body, user: 'u', stream: true, stream_options: { include_usage: true }, metadata: { a: 1 }, store: true }, '*', false).exact).toBe(base);
    for (const change of [{ temperature: 0.3 }, { seed: 1 }, { tools: [] }, { response_format: { type: 'json_object' } }, { n: 2 }, { max_completion_tokens: 5 }]) {
      expect(requestKeys('chat', 'm', { ...body, ...change }, '*', false).exact, JSON.stringify(change)).not.toBe(base);
    }
    expect(requestKeys('chat', 'other', body, '*', false).exact).not.toBe(base);
    expect(requestKeys('chat', 'm', body, 'key:a', false).exact).not.toBe(base);
    expect(requestKeys('completion', 'm', body, '*', false).exact).not.toBe(base);
  });

  it('splits off the last user message for semantic mode, keeping everything else in the prefix', () => {
    const keys = requestKeys('chat', 'm', body, '*', true);
    expect(keys.lastUserText).toBe('hi');
    const other = requestKeys('chat', 'm', { ...body, messages: [body.messages[0], { role: 'user', content: 'hello' }] }, '*', true);
    expect(other.prefix).toBe(keys.prefix);
    expect(requestKeys('chat', 'm', { ...body, messages: [{ role: 'system', content: 'be long' }, { role: 'user', content: 'hi' }] }, '*', true).prefix).not.toBe(keys.prefix);
    expect(requestKeys('chat', 'm', { ...body, temperature: 1 }, '*', true).prefix).not.toBe(keys.prefix);
    // A tool result last, or an image: no semantic match.
    expect(requestKeys('chat', 'm', { messages: [{ role: 'tool', content: 'x', tool_call_id: '1' }] }, '*', true).prefix).toBeNull();
    expect(requestKeys('chat', 'm', { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }] }, '*', true).prefix).toBeNull();
    expect(requestKeys('completion', 'm', { prompt: 'Once', max_tokens: 3 }, '*', true).lastUserText).toBe('Once');
  });
});

describe('the answer assembler', () => {
  it('rebuilds a chat answer with content, merged tool calls, finish reason and usage, once [DONE] went by', () => {
    const head = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'm' };
    const assembler = new AnswerAssembler();
    assembler.push(sse({ ...head, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] }, { ...head, choices: [{ index: 0, delta: { content: 'Hel' } }] }));
    assembler.push(sse({ ...head, choices: [{ index: 0, delta: { content: 'lo' } }] }));
    assembler.push(sse({ ...head, choices: [{ index: 0, delta: { tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"ci' } }] } }] }));
    assembler.push(sse({ ...head, choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: 'ty":"Paris"}' } }] } }] }));
    assembler.push(sse({ ...head, choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }] }, { ...head, choices: [], usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 } }));
    expect(assembler.answer()).toBeNull();
    assembler.push(sse('[DONE]'));
    expect(assembler.answer()).toEqual({
      id: 'chatcmpl-1',
      object: 'chat.completion',
      created: 1,
      model: 'm',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Hello', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] }, logprobs: null, finish_reason: 'tool_calls' }],
      usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 },
    });
  });

  it('keeps nothing of a stream too large to store', () => {
    const assembler = new AnswerAssembler();
    const piece = sse({ id: 'x', object: 'text_completion', choices: [{ index: 0, text: 'a'.repeat(64 * 1024) }] });
    for (let sent = 0; sent <= maxAnswerBytes; sent += piece.length) assembler.push(piece);
    assembler.push(sse('[DONE]'));
    expect(assembler.answer()).toBeNull();
  });

  it('keeps nothing of a stream that carried an error event', () => {
    const assembler = new AnswerAssembler();
    assembler.push(sse({ id: 'x', object: 'text_completion', choices: [{ index: 0, text: 'a' }] }, { error: { message: 'broken' } }, '[DONE]'));
    expect(assembler.answer()).toBeNull();
  });
});

describe('a replayed stream', () => {
  it('sends role, content in word groups, each tool call, finish and usage only when asked', () => {
    const answer = { id: 'c', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'one two three four five six', tool_calls: [{ id: 't', type: 'function', function: { name: 'f', arguments: '{}' } }] }, finish_reason: 'tool_calls' }], usage: { total_tokens: 1 } };
    const events = synthesizeEvents(answer, false, { splitContent: true }).map((event) => (event === '[DONE]' ? event : JSON.parse(event)));
    const deltas = events.slice(0, -1).map((event) => event.choices[0].delta);
    expect(deltas[0]).toEqual({ role: 'assistant', content: '' });
    expect(deltas.slice(1, 3).map((delta) => delta.content).join('')).toBe('one two three four five six');
    expect(deltas[3].tool_calls[0]).toEqual({ index: 0, id: 't', type: 'function', function: { name: 'f', arguments: '{}' } });
    expect(events.at(-2).choices[0].finish_reason).toBe('tool_calls');
    expect(events.at(-1)).toBe('[DONE]');
    expect(synthesizeEvents(answer, true, { splitContent: true }).at(-2)).toContain('"usage"');
  });
});

describe('the semantic index', () => {
  it('round-trips, keeps the newest entries, and finds the nearest above the threshold', () => {
    const a = { key: 'a', vector: normalized([1, 0, 0]) };
    const b = { key: 'b', vector: normalized([1, 1, 0]) };
    const index = decodeIndex(encodeIndex([a, b]));
    expect(index.map((entry) => entry.key)).toEqual(['a', 'b']);
    expect(nearest(index, normalized([1, 0.1, 0]), 0.9)?.entry.key).toBe('a');
    expect(nearest(index, normalized([0, 0, 1]), 0.5)).toBeNull();
    expect(nearest(index, normalized([1, 0, 0]), 1)?.entry.key).toBe('a');
    let many = index;
    for (let count = 0; count < maxIndexEntries + 10; count++) many = withEntry(many, { key: `k${count}`, vector: a.vector });
    expect(many).toHaveLength(maxIndexEntries);
    expect(many.at(-1)?.key).toBe(`k${maxIndexEntries + 9}`);
    expect(decodeIndex(Buffer.from('not json'))).toEqual([]);
  });
});

describe('cache_policies in the fleet file', () => {
  it('reads them by name and refuses what cannot work, naming the key', () => {
    const fleet = parseFleetFile('cache_policies:\n  mixtral: {mode: exact, ttl_s: 60}\n', 'fleet.yaml', {});
    expect(fleet.cachePolicies).toEqual({ mixtral: { mode: 'exact', ttl_s: 60 } });
    expect(() => parseFleetFile('cache_policies:\n  mixtral: {mode: semantic, ttl_s: 60}\n', 'fleet.yaml', {})).toThrow('fleet.yaml: cache_policies.mixtral.embedding_model');
    expect(() => parseFleetFile('cache_policies:\n  mixtral: {mode: exact, ttl_s: 0}\n', 'fleet.yaml', {})).toThrow('cache_policies.mixtral.ttl_s');
  });
});

describe('a request that repeats its twin at once', () => {
  it('waits for the twin\'s answer to be stored in this replica and hits, instead of missing again', async () => {
    const memory = new MemoryByteCache({ maxBytes: 1_000_000 });
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    // Writes wait on the gate: the store is still under way when the twin asks.
    const slowWrites: ByteCache = { ...bind(memory), set: async (key, value, ttlMs) => gate.then(() => memory.set(key, value, ttlMs)) };
    const policy = { name: 'm', mode: 'exact', ttlS: 60, scope: 'global', similarity: 0.95, embeddingModel: null };
    const cache = new ResponseCache({
      policies: { byName: (name: string) => (name === 'm' ? policy : undefined) } as unknown as CachePolicyRegistry,
      bytes: slowWrites,
      embedder: { embed: () => Promise.reject(new Error('not used')) },
    });
    const request = { operation: 'chat' as const, modelName: 'm', body: { model: 'm', messages: [{ role: 'user', content: 'hi' }] }, headers: {}, keyId: 'k', requestId: 'r', log: silentLog };
    const first = await cache.lookup(request);
    expect(first.status).toBe('miss');
    first.store?.({ id: 'chatcmpl-1', object: 'chat.completion', choices: [] });
    let settled = false;
    const twin = Promise.resolve(cache.lookup(request)).then((lookup) => ((settled = true), lookup));
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe(false);
    release();
    const second = await twin;
    expect(second.status).toBe('hit');
    expect(second.hit?.answer['id']).toBe('chatcmpl-1');
  });
});

function bind(cache: MemoryByteCache): ByteCache {
  return { backend: cache.backend, get: (key) => cache.get(key), getMany: (keys) => cache.getMany(keys), set: (key, value, ttl) => cache.set(key, value, ttl), setMany: (entries, ttl) => cache.setMany(entries, ttl), delete: (key) => cache.delete(key), close: () => cache.close() };
}

const silentLog = { warn: () => undefined, info: () => undefined, error: () => undefined, debug: () => undefined } as unknown as FastifyBaseLogger;
