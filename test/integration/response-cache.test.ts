import { randomUUID } from 'node:crypto';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePrometheusText } from '../../src/data/adapters/shared/prometheus-text.ts';
import { startOpenAIFake, startTeiFake, type OpenAIFake, type TeiFake } from '../fakes/index.ts';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';
import { redisAvailable, redisUrl } from '../support/redis.ts';
import { waitFor } from '../support/wait-for.ts';

type Chat = OpenAI.Chat.ChatCompletionCreateParamsNonStreaming;

// The same behaviour in memory and in the real Redis (shared by replicas).
describe.each([
  { backend: 'memory', env: {} as Record<string, string> },
  { backend: 'redis', env: { REDIS_URL: redisUrl } },
])('the response cache in $backend', ({ backend, env }) => {
  let gateway: TestGateway;
  let vllm: OpenAIFake;
  let tei: TeiFake;
  let client: OpenAI;
  let now = Date.now();
  let skipped = false;
  // Names of this run only: the shared Redis outlives test runs.
  const run = randomUUID().slice(0, 8);

  beforeAll(async () => {
    if (backend === 'redis' && !(await redisAvailable())) {
      skipped = true;
      return;
    }
    [vllm, tei] = await Promise.all([startOpenAIFake({ flavor: 'vllm' }), startTeiFake({ modelId: 'general', dimension: 384, embedding: 'words' })]);
    gateway = await startTestGateway({ env, clock: () => now });
    for (const body of [
      { name: 'vllm', base_url: vllm.url },
      { name: 'tei', base_url: tei.url },
    ]) {
      const response = await gateway.api('POST', '/api/v1/model-servers', body);
      expect(response.status, response.text).toBe(201);
    }
    const checks = (await gateway.api('POST', '/api/v1/model-servers/health-check-all')).body.data;
    expect(checks.every((check: { health_status: string }) => check.health_status === 'online')).toBe(true);
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: adminKey, maxRetries: 0 });
  });

  afterAll(async () => {
    await Promise.all([gateway?.stop(), vllm?.stop(), tei?.stop()]);
  });

  /** A route to yi34b of this test's own, with a cache policy on it. */
  const cachedRoute = async (suffix: string, policy: Record<string, unknown>): Promise<string> => {
    const name = `cached-${suffix}-${run}`;
    expect((await gateway.api('POST', '/api/v1/routes', { name, targets: ['yi34b'] })).status).toBe(201);
    const put = await gateway.api('PUT', `/api/v1/cache-policies/${name}`, policy);
    expect(put.status, put.text).toBe(201);
    return name;
  };
  /** llm_cache_requests_total summed over the samples with these labels. */
  const metric = async (labels: Record<string, string>) => {
    const text = await (await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${adminKey}` } })).text();
    return parsePrometheusText(text)
      .filter((sample) => sample.name === 'llm_cache_requests_total' && Object.entries(labels).every(([key, value]) => sample.labels[key] === value))
      .reduce((sum, sample) => sum + sample.value, 0);
  };
  const upstreamChats = () => vllm.requests.filter((request) => request.path === '/v1/chat/completions').length;
  const ask = (model: string, content: string, extra: Partial<Chat> = {}) => ({ model, messages: [{ role: 'user' as const, content }], ...extra });
  const streamText = async (stream: AsyncIterable<OpenAI.Chat.ChatCompletionChunk>) => {
    let text = '';
    let chunks = 0;
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | null = null;
    for await (const chunk of stream) {
      chunks++;
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      usage = chunk.usage ?? usage;
    }
    return { text, chunks, finish, usage };
  };

  it('answers a repeated request from the cache, with the stored JSON and its age', async (context) => {
    if (skipped) return context.skip();
    const model = await cachedRoute('plain', { mode: 'exact', ttl_s: 60 });
    const first = await client.chat.completions.create(ask(model, 'hello cache')).withResponse();
    expect(first.response.headers.get('x-switchyard-cache')).toBe('miss');
    const calls = upstreamChats();
    now += 7_000;
    const second = await client.chat.completions.create(ask(model, 'hello cache')).withResponse();
    expect(second.response.headers.get('x-switchyard-cache')).toBe('hit');
    expect(second.response.headers.get('age')).toBe('7');
    expect(second.response.headers.get('x-switchyard-server')).toBeNull();
    expect(second.response.headers.get('x-switchyard-model')).toBe('yi34b');
    expect(second.data).toEqual(first.data);
    expect(upstreamChats()).toBe(calls);
    // Another question is another answer.
    const other = await client.chat.completions.create(ask(model, 'hello again')).withResponse();
    expect(other.response.headers.get('x-switchyard-cache')).toBe('miss');
  });

  it('keys on what changes the answer, not on user, stream options or metadata', async (context) => {
    if (skipped) return context.skip();
    const model = await cachedRoute('fields', { mode: 'exact', ttl_s: 60 });
    await client.chat.completions.create(ask(model, 'fields', { temperature: 0.2, user: 'alice' }));
    const sameButUser = await client.chat.completions.create(ask(model, 'fields', { temperature: 0.2, user: 'bob', metadata: { team: 'x' } })).withResponse();
    expect(sameButUser.response.headers.get('x-switchyard-cache')).toBe('hit');
    const otherTemperature = await client.chat.completions.create(ask(model, 'fields', { temperature: 0.3 })).withResponse();
    expect(otherTemperature.response.headers.get('x-switchyard-cache')).toBe('miss');
    const otherMax = await client.chat.completions.create(ask(model, 'fields', { temperature: 0.2, max_tokens: 3 })).withResponse();
    expect(otherMax.response.headers.get('x-switchyard-cache')).toBe('miss');
  });

  it('stores a streamed answer and replays it as a stream the openai client reads', async (context) => {
    if (skipped) return context.skip();
    const model = await cachedRoute('stream', { mode: 'exact', ttl_s: 60 });
    const first = await client.chat.completions.create({ ...ask(model, 'stream me a story'), stream: true, stream_options: { include_usage: true } }).withResponse();
    expect(first.response.headers.get('x-switchyard-cache')).toBe('miss');
    const original = await streamText(first.data);
    const calls = upstreamChats();
    const replay = await client.chat.completions.create({ ...ask(model, 'stream me a story'), stream: true, stream_options: { include_usage: true } }).withResponse();
    expect(replay.response.headers.get('x-switchyard-cache')).toBe('hit');
    expect(replay.response.headers.get('content-type')).toContain('text/event-stream');
    const replayed = await streamText(replay.data);
    expect(replayed.text).toBe(original.text);
    expect(replayed.finish).toBe(original.finish);
    expect(replayed.usage).toEqual(original.usage);
    // Role, content in word groups, finish, usage: more than one content chunk for a long answer.
    expect(replayed.chunks).toBeGreaterThan(3);
    expect(upstreamChats()).toBe(calls);
    // Without include_usage, no usage chunk.
    const noUsage = await streamText(await client.chat.completions.create({ ...ask(model, 'stream me a story'), stream: true }));
    expect(noUsage.usage).toBeNull();
    expect(noUsage.text).toBe(original.text);
  });

  it('serves a stream from a non-streamed answer and the reverse', async (context) => {
    if (skipped) return context.skip();
    const model = await cachedRoute('cross', { mode: 'exact', ttl_s: 60 });
    const whole = await client.chat.completions.create(ask(model, 'first whole'));
    const streamed = await client.chat.completions.create({ ...ask(model, 'first whole'), stream: true }).withResponse();
    expect(streamed.response.headers.get('x-switchyard-cache')).toBe('hit');
    expect((await streamText(streamed.data)).text).toBe(whole.choices[0]?.message.content);

    const first = await streamText(await client.chat.completions.create({ ...ask(model, 'first streamed'), stream: true, stream_options: { include_usage: true } }));
    const after = await client.chat.completions.create(ask(model, 'first streamed')).withResponse();
    expect(after.response.headers.get('x-switchyard-cache')).toBe('hit');
    expect(after.data.object).toBe('chat.completion');
    expect(after.data.choices[0]?.message).toEqual({ role: 'assistant', content: first.text });
    expect(after.data.choices[0]?.finish_reason).toBe(first.finish);
    expect(after.data.usage).toEqual(first.usage);
  });

  it('stores a streamed tool call and replays it, streamed or not, as the openai client assembles it', async (context) => {
    if (skipped) return context.skip();
    const model = await cachedRoute('tools', { mode: 'exact', ttl_s: 60 });
    const tools: OpenAI.Chat.ChatCompletionTool[] = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }];
    const request = { ...ask(model, 'weather in Paris?'), tools, tool_choice: { type: 'function' as const, function: { name: 'get_weather' } } };
    const first = await client.chat.completions.stream({ ...request, stream: true }).finalChatCompletion();
    const call = first.choices[0]?.message.tool_calls?.[0];
    expect(call).toMatchObject({ type: 'function', function: { name: 'get_weather', arguments: '{"city": "Paris", "unit": "celsius"}' } });
    const calls = upstreamChats();
    const streamed = await client.chat.completions.stream({ ...request, stream: true }).finalChatCompletion();
    expect(streamed.choices[0]?.message.tool_calls).toEqual(first.choices[0]?.message.tool_calls);
    expect(streamed.choices[0]?.finish_reason).toBe('tool_calls');
    const whole = await client.chat.completions.create(request).withResponse();
    expect(whole.response.headers.get('x-switchyard-cache')).toBe('hit');
    expect(whole.data.choices[0]?.message).toMatchObject({ role: 'assistant', content: null, tool_calls: first.choices[0]?.message.tool_calls });
    expect(whole.data.choices[0]?.finish_reason).toBe('tool_calls');
    expect(upstreamChats()).toBe(calls);
  });

  it('caches legacy completions too', async (context) => {
    if (skipped) return context.skip();
    const model = await cachedRoute('legacy', { mode: 'exact', ttl_s: 60 });
    const first = await client.completions.create({ model, prompt: 'Once upon a time', max_tokens: 8 });
    const again = await client.completions.create({ model, prompt: 'Once upon a time', max_tokens: 8 }).withResponse();
    expect(again.response.headers.get('x-switchyard-cache')).toBe('hit');
    expect(again.data.choices[0]?.text).toBe(first.choices[0]?.text);
    let text = '';
    for await (const chunk of await client.completions.create({ model, prompt: 'Once upon a time', max_tokens: 8, stream: true })) text += chunk.choices[0]?.text ?? '';
    expect(text).toBe(first.choices[0]?.text);
  });

  it('keeps each key to its own answers under scope key, and shares them under scope global', async (context) => {
    if (skipped) return context.skip();
    const keyB = (await gateway.api('POST', '/api/v1/keys', { name: `b-${randomUUID().slice(0, 6)}`, scopes: ['inference'] })).body.key as string;
    const clientB = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: keyB, maxRetries: 0 });
    const perKey = await cachedRoute('perkey', { mode: 'exact', ttl_s: 60 });
    await client.chat.completions.create(ask(perKey, 'a secret of A'));
    const seenByB = await clientB.chat.completions.create(ask(perKey, 'a secret of A')).withResponse();
    expect(seenByB.response.headers.get('x-switchyard-cache')).toBe('miss');
    const shared = await cachedRoute('global', { mode: 'exact', ttl_s: 60, scope: 'global' });
    await client.chat.completions.create(ask(shared, 'common knowledge'));
    const sharedWithB = await clientB.chat.completions.create(ask(shared, 'common knowledge')).withResponse();
    expect(sharedWithB.response.headers.get('x-switchyard-cache')).toBe('hit');
  });

  it('never answers a cached model to a key whose allow-list excludes it, even under scope global', async (context) => {
    if (skipped) return context.skip();
    const shared = await cachedRoute('allowlist', { mode: 'exact', ttl_s: 60, scope: 'global' });
    await client.chat.completions.create(ask(shared, 'only for some'));
    const elsewhere = (await gateway.api('POST', '/api/v1/keys', { name: `other-${randomUUID().slice(0, 6)}`, scopes: ['inference'], models: ['general'] })).body.key as string;
    const refused = await fetch(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${elsewhere}`, 'content-type': 'application/json' }, body: JSON.stringify(ask(shared, 'only for some')) });
    expect(refused.status).toBe(404);
    expect(refused.headers.get('x-switchyard-cache')).toBe('bypass');
    expect(((await refused.json()) as { error: unknown }).error).toMatchObject({ code: 'model_not_found' });
  });

  it('counts a hit as a request against rpm, and no tokens against a budget', async (context) => {
    if (skipped) return context.skip();
    const model = await cachedRoute('quota', { mode: 'exact', ttl_s: 60 });
    const created = (await gateway.api('POST', '/api/v1/keys', { name: `limited-${randomUUID().slice(0, 6)}`, scopes: ['inference'], rpm: 2, budget_tokens: 100_000 })).body as { id: string; key: string };
    const limited = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: created.key, maxRetries: 0 });
    await limited.chat.completions.create(ask(model, 'limited'));
    const used = await waitFor(async () => ((await gateway.api('GET', `/api/v1/keys/${created.id}`)).body.used_tokens as number) || null, 'the miss to be counted');
    const hit = await limited.chat.completions.create(ask(model, 'limited')).withResponse();
    expect(hit.response.headers.get('x-switchyard-cache')).toBe('hit');
    await expect(limited.chat.completions.create(ask(model, 'limited'))).rejects.toMatchObject({ status: 429 });
    expect((await gateway.api('GET', `/api/v1/keys/${created.id}`)).body.used_tokens).toBe(used);
  });

  it('follows Cache-Control no-cache and no-store', async (context) => {
    if (skipped) return context.skip();
    const model = await cachedRoute('control', { mode: 'exact', ttl_s: 60 });
    await client.chat.completions.create(ask(model, 'controlled'));
    vllm.setReply('a fresher answer');
    try {
      const fresh = await client.chat.completions.create(ask(model, 'controlled'), { headers: { 'cache-control': 'no-cache' } }).withResponse();
      expect(fresh.response.headers.get('x-switchyard-cache')).toBe('miss');
      expect(fresh.data.choices[0]?.message.content).toContain('a fresher answer');
      // no-cache stored what it got: the next request is answered with it.
      const next = await client.chat.completions.create(ask(model, 'controlled')).withResponse();
      expect(next.response.headers.get('x-switchyard-cache')).toBe('hit');
      expect(next.data.choices[0]?.message.content).toContain('a fresher answer');

      const unstored = await client.chat.completions.create(ask(model, 'never kept'), { headers: { 'cache-control': 'no-store' } }).withResponse();
      expect(unstored.response.headers.get('x-switchyard-cache')).toBe('bypass');
      const after = await client.chat.completions.create(ask(model, 'never kept')).withResponse();
      expect(after.response.headers.get('x-switchyard-cache')).toBe('miss');
    } finally {
      vllm.setReply(undefined);
    }
  });

  it('expires answers after the policy ttl or the x-switchyard-cache-ttl header', async (context) => {
    if (skipped) return context.skip();
    const model = await cachedRoute('ttl', { mode: 'exact', ttl_s: 60 });
    await client.chat.completions.create(ask(model, 'kept a minute'));
    await client.chat.completions.create(ask(model, 'kept five seconds'), { headers: { 'x-switchyard-cache-ttl': '5' } });
    now += 6_000;
    expect((await client.chat.completions.create(ask(model, 'kept a minute')).withResponse()).response.headers.get('x-switchyard-cache')).toBe('hit');
    expect((await client.chat.completions.create(ask(model, 'kept five seconds')).withResponse()).response.headers.get('x-switchyard-cache')).toBe('miss');
    now += 60_000;
    expect((await client.chat.completions.create(ask(model, 'kept a minute')).withResponse()).response.headers.get('x-switchyard-cache')).toBe('miss');
    const bad = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json', 'x-switchyard-cache-ttl': 'soon' },
      body: JSON.stringify(ask(model, 'x')),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { param: string } }).error.param).toBe('x-switchyard-cache-ttl');
  });

  it('releases what a refused cache header reserved against the key budget', async (context) => {
    if (skipped) return context.skip();
    const model = await cachedRoute('badttl', { mode: 'exact', ttl_s: 60 });
    const created = (await gateway.api('POST', '/api/v1/keys', { name: `badttl-${randomUUID().slice(0, 6)}`, scopes: ['inference'], budget_tokens: 100_000 })).body as { id: string; key: string };
    const bad = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${created.key}`, 'content-type': 'application/json', 'x-switchyard-cache-ttl': 'soon' },
      body: JSON.stringify(ask(model, 'reserved then refused', { max_tokens: 500 })),
    });
    expect(bad.status).toBe(400);
    // Admitted with an estimate (over 500 tokens), then refused: nothing stays reserved.
    const usedTokens = async () => (await gateway.api('GET', `/api/v1/keys/${created.id}`)).body.used_tokens as number;
    await waitFor(async () => (await usedTokens()) === 0, 'the reservation to be released');
  });

  it('says bypass where no policy applies, on chat and rerank', async (context) => {
    if (skipped) return context.skip();
    const plain = await client.chat.completions.create(ask('yi34b', 'uncached')).withResponse();
    expect(plain.response.headers.get('x-switchyard-cache')).toBe('bypass');
    const unknown = await fetch(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' }, body: JSON.stringify(ask('no-such-model', 'x')) });
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('x-switchyard-cache')).toBe('bypass');
  });

  it('answers a semantic hit above the similarity and misses below it', async (context) => {
    if (skipped) return context.skip();
    const model = await cachedRoute('semantic', { mode: 'semantic', ttl_s: 60, similarity: 0.9, embedding_model: 'general' });
    const system = { role: 'system' as const, content: 'You answer geography questions.' };
    const [semanticHits, semanticMisses] = [await metric({ cache: 'semantic', result: 'hit' }), await metric({ cache: 'semantic', result: 'miss' })];
    const first = await client.chat.completions.create({ model, messages: [system, { role: 'user', content: 'What is the capital city of France' }] });
    // 7 words of 8 shared: cosine about 0.935.
    const near = await client.chat.completions.create({ model, messages: [system, { role: 'user', content: 'what is the capital city of France please' }] }).withResponse();
    expect(near.response.headers.get('x-switchyard-cache')).toBe('semantic-hit');
    expect(near.response.headers.get('age')).toBe('0');
    expect(near.data.choices[0]?.message.content).toBe(first.choices[0]?.message.content);
    // 5 of 7: about 0.76, below 0.9.
    const far = await client.chat.completions.create({ model, messages: [system, { role: 'user', content: 'What is the capital of Spain' }] }).withResponse();
    expect(far.response.headers.get('x-switchyard-cache')).toBe('miss');
    expect(await metric({ cache: 'semantic', result: 'hit' })).toBe(semanticHits + 1);
    expect(await metric({ cache: 'semantic', result: 'miss' })).toBe(semanticMisses + 2);
    // A stream is answered from a semantic hit the same way.
    const streamed = await client.chat.completions.create({ model, messages: [system, { role: 'user', content: 'what is the capital city of France then' }], stream: true }).withResponse();
    expect(streamed.response.headers.get('x-switchyard-cache')).toBe('semantic-hit');
    expect((await streamText(streamed.data)).text).toBe(first.choices[0]?.message.content);
  });

  it('never answers from another conversation: a different earlier turn is a miss', async (context) => {
    if (skipped) return context.skip();
    const model = await cachedRoute('turns', { mode: 'semantic', ttl_s: 60, similarity: 0.9, embedding_model: 'general' });
    const question = { role: 'user' as const, content: 'and how tall is it' };
    await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'tell me about the Eiffel tower' }, { role: 'assistant', content: 'It is in Paris.' }, question] });
    const same = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'tell me about the Eiffel tower' }, { role: 'assistant', content: 'It is in Paris.' }, question] }).withResponse();
    expect(same.response.headers.get('x-switchyard-cache')).toBe('hit');
    const otherConversation = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'tell me about the Burj Khalifa' }, { role: 'assistant', content: 'It is in Dubai.' }, question] }).withResponse();
    expect(otherConversation.response.headers.get('x-switchyard-cache')).toBe('miss');
    const otherSystem = await client.chat.completions.create({ model, messages: [{ role: 'system', content: 'Answer in French.' }, { role: 'user', content: 'tell me about the Eiffel tower' }, { role: 'assistant', content: 'It is in Paris.' }, question] }).withResponse();
    expect(otherSystem.response.headers.get('x-switchyard-cache')).toBe('miss');
  });

  it('answers a miss when the embedding model fails, never an error', async (context) => {
    if (skipped) return context.skip();
    const model = await cachedRoute('embedfail', { mode: 'semantic', ttl_s: 60, embedding_model: 'general' });
    await tei.setFault({ kind: 'status', status: 500 });
    try {
      const answer = await client.chat.completions.create(ask(model, 'embedding is down')).withResponse();
      expect(answer.response.headers.get('x-switchyard-cache')).toBe('miss');
      expect(answer.data.choices[0]?.message.content).toBeTruthy();
      // The exact match still works without embeddings.
      expect((await client.chat.completions.create(ask(model, 'embedding is down')).withResponse()).response.headers.get('x-switchyard-cache')).toBe('hit');
    } finally {
      await tei.clearFault();
    }
  });

  it('never stores a stream that broke or that the caller cancelled', async (context) => {
    if (skipped) return context.skip();
    const model = await cachedRoute('broken', { mode: 'exact', ttl_s: 60 });
    await vllm.setFault({ kind: 'drop-mid-stream', afterChunks: 3 }, ['/v1/chat/completions']);
    try {
      await expect(streamText(await client.chat.completions.create({ ...ask(model, 'a broken stream'), stream: true }))).rejects.toThrow();
    } finally {
      await vllm.clearFault();
    }
    expect((await client.chat.completions.create(ask(model, 'a broken stream')).withResponse()).response.headers.get('x-switchyard-cache')).toBe('miss');

    await vllm.setBehaviour({ tokenIntervalMs: 50 });
    try {
      const controller = new AbortController();
      const stream = await client.chat.completions.create({ ...ask(model, 'a cancelled stream'), stream: true }, { signal: controller.signal });
      let chunks = 0;
      // The openai client ends the iteration quietly (or throws, by version) when its signal aborts.
      await (async () => {
        for await (const _chunk of stream) if (++chunks === 2) controller.abort();
      })().catch(() => undefined);
      await waitFor(() => vllm.requests.some((request) => request.aborted), 'the upstream call to be cancelled');
    } finally {
      await vllm.setBehaviour({ tokenIntervalMs: 2 });
    }
    expect((await client.chat.completions.create(ask(model, 'a cancelled stream')).withResponse()).response.headers.get('x-switchyard-cache')).toBe('miss');
  });

  it('records hits as usage with cache_hit and no tokens, and counts them in llm_cache_requests_total', async (context) => {
    if (skipped) return context.skip();
    const model = await cachedRoute('usage', { mode: 'exact', ttl_s: 60 });
    const hitsBefore = await metric({ cache: 'response', result: 'hit' });
    const missesBefore = await metric({ cache: 'response', result: 'miss' });
    await client.chat.completions.create(ask(model, 'count me'));
    const hit = await client.chat.completions.create(ask(model, 'count me')).withResponse();
    expect(await metric({ cache: 'response', result: 'hit' })).toBe(hitsBefore + 1);
    expect(await metric({ cache: 'response', result: 'miss' })).toBe(missesBefore + 1);
    await gateway.gateway.usage.flush();
    const row = await gateway.gateway.database.db.selectFrom('usage_records').selectAll().where('request_id', '=', hit.response.headers.get('x-request-id') as string).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ cache_hit: 1, status: 200, prompt_tokens: 0, completion_tokens: 0, server_id: null, served_model: 'yi34b', requested_model: model });
  });
});
