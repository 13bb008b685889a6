import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { startOllamaFake, startOpenAIFake, startTeiFake, type OllamaFake, type OpenAIFake, type TeiFake } from '../fakes/index.ts';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';
import { waitUntil } from '../support/wait-until.ts';

let gateway: TestGateway;
let vllm: OpenAIFake;
let tei: TeiFake;
let ollama: OllamaFake;
const keys: Record<'read' | 'inference' | 'admin' | 'vectors', string> = { read: '', inference: '', admin: adminKey, vectors: '' };
const serverIds: Record<string, string> = {};

beforeAll(async () => {
  [gateway, vllm, tei, ollama] = await Promise.all([
    startTestGateway(),
    startOpenAIFake({ flavor: 'vllm', models: [{ id: 'chatty' }], behaviour: { tokenIntervalMs: 5 } }),
    startTeiFake({ modelId: 'embedder', dimension: 8 }),
    startOllamaFake(),
  ]);
  for (const [name, url, type] of [['gpu-1', vllm.url, 'vllm'], ['tei-1', tei.url, 'embedding'], ['ollama-1', ollama.url, 'ollama']] as const) {
    const created = await gateway.api('POST', '/api/v1/model-servers', { name, base_url: url, server_type: type });
    expect(created.status, created.text).toBe(201);
    serverIds[name] = created.body.id;
  }
  await gateway.api('POST', '/api/v1/model-servers/health-check-all');
  for (const [name, scopes] of [['read', ['read']], ['inference', ['inference']], ['vectors', ['vectors:write', 'inference']]] as const) {
    keys[name] = (await gateway.api('POST', '/api/v1/keys', { name: `gql-${name}`, scopes })).body.key;
  }
});

afterAll(async () => {
  await Promise.all([gateway.stop(), vllm.stop(), tei.stop(), ollama.stop()]);
});

interface GraphqlAnswer {
  status: number;
  data: any;
  errors: Array<{ message: string; extensions: { code: string; status?: number } }> | undefined;
}

async function graphql(query: string, key: string | null = adminKey, variables?: Record<string, unknown>, contentType = 'application/json'): Promise<GraphqlAnswer> {
  const response = await fetch(`${gateway.url}/graphql`, { method: 'POST', headers: { 'content-type': contentType, ...(key === null ? {} : { authorization: `Bearer ${key}` }) }, body: JSON.stringify({ query, ...(variables === undefined ? {} : { variables }) }) });
  const body = (await response.json()) as { data: unknown; errors?: GraphqlAnswer['errors'] };
  return { status: response.status, data: body.data, errors: body.errors };
}

function subscriber(connectionParams?: Record<string, unknown>, headers?: Record<string, string>): Client {
  const url = gateway.url.replace('http', 'ws') + '/graphql';
  class HeaderedSocket extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols, { headers: headers ?? {} });
    }
  }
  return createClient({ url, webSocketImpl: HeaderedSocket, lazy: true, retryAttempts: 0, ...(connectionParams === undefined ? {} : { connectionParams }) });
}

/** Collects a subscription's events until `until` says stop (then unsubscribes), or its first error. */
function collect(client: Client, query: string, until: (events: any[]) => boolean): { events: any[]; done: Promise<{ events: any[]; errors: unknown }> } {
  const events: any[] = [];
  const done = new Promise<{ events: any[]; errors: unknown }>((resolve) => {
    const unsubscribe = client.subscribe(
      { query },
      {
        next: (value) => {
          if (value.errors !== undefined) return resolve({ events, errors: value.errors });
          events.push(value.data);
          if (until(events)) {
            unsubscribe();
            resolve({ events, errors: null });
          }
        },
        error: (error) => resolve({ events, errors: error }),
        complete: () => resolve({ events, errors: null }),
      },
    );
  });
  return { events, done };
}

/** The first event of a REST SSE stream, parsed. */
async function firstEvent(path: string): Promise<Record<string, unknown>> {
  const controller = new AbortController();
  const response = await fetch(`${gateway.url}${path}`, { headers: { authorization: `Bearer ${adminKey}` }, signal: controller.signal });
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  let text = '';
  for (;;) {
    const { value } = await reader.read();
    text += new TextDecoder().decode(value);
    const match = /^data: (.*)$/m.exec(text);
    if (match !== null) {
      controller.abort();
      return JSON.parse(match[1] as string) as Record<string, unknown>;
    }
  }
}

describe('GraphQL queries', () => {
  it('lists models as the integration guide queries them, and servers, by a plain curl -d body', async () => {
    const answer = await graphql('{ models { id name provider status capabilities servers dimension contextLength loaded } servers { name healthStatus hasApiKey load { runningRequests } } }', keys.read, undefined, 'application/x-www-form-urlencoded');
    expect(answer.errors).toBeUndefined();
    const byId = Object.fromEntries((answer.data.models as Array<{ id: string }>).map((model) => [model.id, model]));
    expect(byId['chatty']).toMatchObject({ name: 'chatty', provider: 'vllm', status: 'available', servers: ['gpu-1'], capabilities: expect.arrayContaining(['chat']) });
    expect(byId['embedder']).toMatchObject({ provider: 'embedding', dimension: 8 });
    expect((answer.data.servers as Array<{ name: string }>).map((server) => server.name).sort()).toEqual(['gpu-1', 'ollama-1', 'tei-1']);
  });

  it('answers null for an unknown server or model, and health without a key', async () => {
    const answer = await graphql('{ server(id: "nope") { id } model(name: "nope") { id } }', keys.read);
    expect(answer.data).toEqual({ server: null, model: null });
    const health = await graphql('{ health { status ready } }', null);
    expect(health.data).toEqual({ health: { status: 'ok', ready: true } });
  });

  it('reads routes, keys, usage, performance, collections and operations as REST has them', async () => {
    await gateway.api('POST', '/api/v1/routes', { name: 'reads-route', targets: [{ model: 'chatty', weight: 2 }] });
    await gateway.api('POST', '/api/v1/models/embedder/vectors/store', { texts: ['for the listing'] });
    await gateway.api('POST', '/v1/chat/completions', { model: 'chatty', messages: [{ role: 'user', content: 'counted' }] });
    await gateway.gateway.usage.flush({ force: true });
    const answer = await graphql('{ routes { name status targets { model weight } } keys { name scopes prefix } usage(groupBy: "model") { groupBy total { requests } data { group requests promptTokens } } performance(hours: 24) { windowHours data { model rating statistics { requests } } } collections { model vectorSize backend count } operations(limit: 5) { id kind } }', keys.read);
    expect(answer.errors).toBeUndefined();
    expect(answer.data.routes).toContainEqual({ name: 'reads-route', status: 'resolved', targets: [{ model: 'chatty', weight: 2 }] });
    expect((answer.data.keys as Array<{ name: string }>).map((key) => key.name)).toContain('gql-read');
    const chatty = (answer.data.usage.data as Array<{ group: string; requests: number }>).find((row) => row.group === 'chatty');
    expect(chatty?.requests).toBeGreaterThanOrEqual(1);
    expect(answer.data.usage.total.requests).toBeGreaterThanOrEqual(chatty?.requests ?? 1);
    expect(answer.data.performance.windowHours).toBe(24);
    expect(answer.data.collections).toContainEqual({ model: 'embedder', vectorSize: 8, backend: expect.any(String), count: expect.any(Number) });
    // The same figures as REST's own answer.
    const rest = (await gateway.api('GET', '/api/v1/analytics/usage?group_by=model')).body;
    expect(answer.data.usage.total.requests).toBe(rest.total.requests);
  });

  it('every REST record field has its GraphQL field: a new field cannot be missed', async () => {
    await gateway.api('POST', '/api/v1/routes', { name: 'fast', targets: [{ model: 'chatty' }] });
    await gateway.api('POST', '/api/v1/models/embedder/vectors/store', { texts: ['seed'] });
    await gateway.api('POST', '/v1/chat/completions', { model: 'chatty', messages: [{ role: 'user', content: 'warm up' }] });
    await gateway.gateway.usage.flush({ force: true });
    const pulled = await gateway.api('POST', '/api/v1/models/pull', { model: 'tinyllama', servers: ['ollama-1'] });
    const introspection = await graphql('{ __schema { types { name fields { name } } } }', keys.read);
    const fieldsOf = (type: string) => new Set(((introspection.data.__schema.types as Array<{ name: string; fields: Array<{ name: string }> | null }>).find((candidate) => candidate.name === type)?.fields ?? []).map((field) => field.name));
    const camel = (key: string) => key.replace(/_([a-z])/g, (_match, letter: string) => letter.toUpperCase());
    const renamed: Record<string, string> = { model: 'id', embedding_dimension: 'dimension' };
    const missing: string[] = [];
    const check = (type: string, record: Record<string, unknown>, renames: Record<string, string> = {}) => {
      for (const key of Object.keys(record)) if (!fieldsOf(type).has(renames[key] ?? camel(key))) missing.push(`${type}.${key}`);
    };
    const servers = (await gateway.api('GET', '/api/v1/model-servers')).body.data;
    check('Server', servers[0]);
    check('ServerLoad', servers.find((server: { load: unknown }) => server.load !== null)?.load ?? {});
    const status = (await gateway.api('GET', '/api/v1/models/chatty/status')).body;
    check('Model', status, renamed);
    check('ModelDeployment', status.deployments[0]);
    check('Window', status.last_hour);
    const route = (await gateway.api('GET', '/api/v1/routes')).body.data[0];
    check('Route', route);
    check('RouteTarget', route.targets[0]);
    check('Key', (await gateway.api('GET', '/api/v1/keys')).body.data[0]);
    const usage = (await gateway.api('GET', '/api/v1/analytics/usage?group_by=model')).body;
    check('UsageReport', usage);
    check('UsageFigures', usage.data[0]);
    const performance = (await gateway.api('GET', '/api/v1/models/performance')).body;
    check('PerformanceReport', performance);
    check('ModelPerformance', performance.data[0]);
    check('Collection', (await gateway.api('GET', '/api/v1/collections')).body.data[0]);
    const { operation_id: _operationId, ...operation } = pulled.body;
    check('Operation', operation);
    check('OperationTarget', operation.servers[0]);
    const generated = (await gateway.api('POST', '/api/v1/models/chatty/generate', { prompt: 'hi' })).body;
    check('Generation', generated);
    check('LiveMetrics', await firstEvent('/api/v1/metrics/live'));
    expect(missing).toEqual([]);
    // Secrets are not in the schema at all.
    const allFields = (introspection.data.__schema.types as Array<{ fields: Array<{ name: string }> | null }>).flatMap((type) => (type.fields ?? []).map((field) => field.name));
    expect(allFields.filter((name) => /hash|apiKey$|secret/i.test(name) && name !== 'hasApiKey' && name !== 'apiKey')).toEqual([]);
    expect(fieldsOf('Server').has('apiKey')).toBe(false);
  });
});

describe('GraphQL mutations', () => {
  it('stores texts as vectors and searches them, as the integration guide\'s curl does', async () => {
    const response = await fetch(`${gateway.url}/graphql`, { method: 'POST', headers: { authorization: `Bearer ${keys.vectors}` }, body: '{"query":"mutation{storeVector(model:\\"embedder\\", texts:[\\"hello\\", \\"a cat on a mat\\"]){ids dimension}}"}' });
    const stored = (await response.json()) as { data: { storeVector: { ids: string[]; dimension: number } } };
    expect(stored.data.storeVector.ids).toHaveLength(2);
    expect(stored.data.storeVector.dimension).toBe(8);
    const search = await graphql('mutation { searchVectors(model: "embedder", query: "hello", topK: 1) { id score text } }', keys.inference);
    expect(search.errors).toBeUndefined();
    expect(search.data.searchVectors).toEqual([{ id: stored.data.storeVector.ids[0], score: expect.any(Number), text: 'hello' }]);
    // The embeddings the store and the search made are recorded under GraphQL, as the request came in.
    await gateway.gateway.usage.flush({ force: true });
    const embeddings = await gateway.gateway.database.db.selectFrom('usage_records').select(['api']).where('requested_model', '=', 'embedder').execute();
    expect(embeddings.map((row) => row.api)).toContain('graphql');
    expect(embeddings.map((row) => row.api)).not.toContain('openai');
  });

  it('generates text with its id, tokens, cost from the model\'s price, model and server, recorded as graphql', async () => {
    expect((await gateway.api('PUT', '/api/v1/prices/chatty', { input_per_million: 1_000_000, output_per_million: 2_000_000 })).status).toBeLessThan(300);
    const answer = await graphql('mutation { generateText(model: "chatty", prompt: "hello there", maxTokens: 20) { id text tokens cost model server usage { promptTokens completionTokens } } }', keys.inference);
    expect(answer.errors).toBeUndefined();
    const generation = answer.data.generateText;
    expect(generation).toMatchObject({ model: 'chatty', server: 'gpu-1', text: expect.stringContaining('hello there') });
    expect(generation.tokens).toBe(generation.usage.promptTokens + generation.usage.completionTokens);
    expect(generation.cost).toBeCloseTo(generation.usage.promptTokens * 1 + generation.usage.completionTokens * 2, 6);
    await gateway.gateway.usage.flush({ force: true });
    const rows = await gateway.gateway.database.db.selectFrom('usage_records').select(['api', 'request_id']).where('api', '=', 'graphql').execute();
    expect(rows.map((row) => row.request_id)).toContain(generation.id);
  });

  it('chats and embeds through the same engine', async () => {
    const answer = await graphql('mutation { chat(model: "chatty", messages: [{role: "user", content: "ping"}]) { model server message { role content } usage { totalTokens } } embed(model: "embedder", texts: ["a", "b"]) { dimension vectors } }', keys.inference);
    expect(answer.errors).toBeUndefined();
    expect(answer.data.chat).toMatchObject({ model: 'chatty', server: 'gpu-1', message: { role: 'assistant', content: expect.stringContaining('ping') } });
    expect(answer.data.embed.dimension).toBe(8);
    expect(answer.data.embed.vectors).toHaveLength(2);
  });

  it('manages servers and keys; a key\'s plaintext appears once, in createKey', async () => {
    const spare = await startOpenAIFake({ flavor: 'vllm', models: [{ id: 'spare-model' }] });
    try {
      const added = await graphql(`mutation { addServer(input: {name: "spare", baseUrl: "${spare.url}", serverType: "vllm", metadata: {rack: 7}}) { id name serverType metadata } }`);
      expect(added.errors).toBeUndefined();
      expect(added.data.addServer).toMatchObject({ name: 'spare', serverType: 'vllm', metadata: { rack: 7 } });
      const id = added.data.addServer.id as string;
      const updated = await graphql(`mutation { updateServer(id: "${id}", input: {name: "spare-2"}) { name } testServer(id: "${id}") }`);
      expect(updated.data.updateServer.name).toBe('spare-2');
      expect(updated.data.testServer).toMatchObject({ ok: true });
      const checked = await graphql('mutation { checkAllServers }');
      expect((checked.data.checkAllServers as unknown[]).length).toBe(4);
      expect((await graphql(`mutation { removeServer(id: "${id}") }`)).data.removeServer).toBe(true);
      expect((await gateway.api('GET', `/api/v1/model-servers/${id}`)).status).toBe(404);
    } finally {
      await spare.stop();
    }
    const created = await graphql('mutation { createKey(input: {name: "from-graphql", scopes: ["read"]}) { key apiKey { id name prefix scopes } } }');
    expect(created.errors).toBeUndefined();
    const { key, apiKey } = created.data.createKey as { key: string; apiKey: { id: string; prefix: string } };
    expect(key.startsWith(apiKey.prefix)).toBe(true);
    expect((await graphql('{ servers { id } }', key)).errors).toBeUndefined();
    const listed = await graphql('{ keys { id name prefix } }', keys.read);
    expect(JSON.stringify(listed.data)).not.toContain(key);
    expect((await graphql(`mutation { revokeKey(id: "${apiKey.id}") }`)).data.revokeKey).toBe(true);
    expect((await graphql('{ servers { id } }', key)).errors?.[0]?.extensions.code).toBe('SY_UNAUTHENTICATED');
  });

  it('pulls a model and follows the operation to its end', async () => {
    const started = await graphql('mutation { pullModel(model: "qwen2:0.5b", servers: ["ollama-1"]) { id kind status model } }');
    expect(started.errors).toBeUndefined();
    const operation = started.data.pullModel;
    expect(operation).toMatchObject({ kind: 'pull', model: 'qwen2:0.5b' });
    const client = subscriber({ authorization: `Bearer ${keys.read}` });
    const progress = collect(client, `subscription { operationProgress(id: "${operation.id}") { status servers { name status } } }`, (events) => events.at(-1)?.operationProgress.status !== 'running');
    const { events, errors } = await progress.done;
    await client.dispose();
    expect(errors).toBeNull();
    expect(events.at(-1).operationProgress).toMatchObject({ status: 'succeeded', servers: [{ name: 'ollama-1', status: 'succeeded' }] });
  });
});

describe('GraphQL subscriptions over graphql-transport-ws', () => {
  it('streams a chat as token deltas, then a last one with usage and who answered', async () => {
    const client = subscriber({ authorization: keys.inference });
    const chat = collect(client, 'subscription { chatStream(model: "chatty", messages: [{role: "user", content: "tell me"}]) { content done usage { totalTokens } model server } }', (events) => events.at(-1)?.chatStream.done === true);
    const { events, errors } = await chat.done;
    await client.dispose();
    expect(errors).toBeNull();
    const deltas = events.map((event) => event.chatStream);
    expect(deltas.length).toBeGreaterThan(2);
    expect(deltas.slice(0, -1).map((delta) => delta.content).join('')).toContain('tell me');
    expect(deltas.at(-1)).toMatchObject({ done: true, model: 'chatty', server: 'gpu-1', usage: { totalTokens: expect.any(Number) } });
  });

  it('keeps two chat streams on one connection apart', async () => {
    const client = subscriber({ authorization: keys.inference });
    const stream = (prompt: string) => collect(client, `subscription { chatStream(model: "chatty", messages: [{role: "user", content: "${prompt}"}]) { id content done } }`, (events) => events.at(-1)?.chatStream.done === true).done;
    const [first, second] = await Promise.all([stream('first prompt'), stream('second prompt')]);
    await client.dispose();
    const text = (events: any[]) => events.map((event) => event.chatStream.content).join('');
    expect(text(first.events)).toContain('first prompt');
    expect(text(first.events)).not.toContain('second prompt');
    expect(text(second.events)).toContain('second prompt');
    expect(first.events.at(-1).chatStream.id).not.toBe(second.events.at(-1).chatStream.id);
  });

  it('cancels the upstream call when the subscriber stops mid-stream', async () => {
    await vllm.setBehaviour({ tokenIntervalMs: 200 });
    const before = vllm.abortedCount();
    const client = subscriber({ authorization: keys.inference });
    const chat = collect(client, 'subscription { chatStream(model: "chatty", messages: [{role: "user", content: "a very long story please"}], maxTokens: 200) { content done } }', (events) => events.length >= 1);
    await chat.done;
    await waitUntil(() => vllm.abortedCount() === before + 1, { what: 'the upstream call to be cancelled' });
    await client.dispose();
    await vllm.setBehaviour({ tokenIntervalMs: 5 });
  });

  it('pushes a server going down as modelStatusUpdates and serverHealth events, authenticated by header', async () => {
    const client = subscriber(undefined, { authorization: `Bearer ${keys.read}` });
    const models = collect(client, 'subscription { modelStatusUpdates { id status servers } }', (events) => events.some((event) => event.modelStatusUpdates.id === 'embedder'));
    const health = collect(client, 'subscription { serverHealth { id name status reason } }', (events) => events.some((event) => event.serverHealth.status === 'offline'));
    // Both subscriptions are open once the server side has subscribed to the fleet: wait for the connection, then act.
    await waitUntil(async () => (await graphql('{ health { status } }', null)).status === 200);
    await new Promise((resolve) => client.on('connected', resolve));
    await tei.stop();
    for (let round = 0; round < 3; round++) await gateway.api('POST', '/api/v1/model-servers/health-check-all');
    const [modelEvents, healthEvents] = await Promise.all([models.done, health.done]);
    await client.dispose();
    expect(modelEvents.errors).toBeNull();
    expect(modelEvents.events.find((event) => event.modelStatusUpdates.id === 'embedder').modelStatusUpdates).toEqual({ id: 'embedder', status: 'unavailable', servers: ['tei-1'] });
    expect(healthEvents.events.at(-1).serverHealth).toMatchObject({ id: serverIds['tei-1'], name: 'tei-1', status: 'offline' });
    await tei.restart();
    await gateway.api('POST', '/api/v1/model-servers/health-check-all');
  });

  it('sends live figures', async () => {
    const client = subscriber({ authorization: keys.read });
    const live = collect(client, 'subscription { metrics(intervalMs: 250) { intervalMs requestsPerS inFlight ttftP50Ms errorRatio } }', (events) => events.length >= 2);
    const { events, errors } = await live.done;
    await client.dispose();
    expect(errors).toBeNull();
    expect(events[1].metrics).toMatchObject({ intervalMs: 250, inFlight: expect.any(Number), requestsPerS: expect.any(Number) });
  });
});

let stirred = 0;
/** A fleet change that every fleet feed reports: a server with a new model comes and goes. */
async function stirFleet(): Promise<void> {
  const fake = await startOpenAIFake({ flavor: 'vllm', models: [{ id: `stir-model-${++stirred}` }] });
  try {
    const added = await gateway.api('POST', '/api/v1/model-servers', { name: `stir-${stirred}`, base_url: fake.url, server_type: 'vllm' });
    await gateway.api('POST', `/api/v1/model-servers/${added.body.id}/test`);
    await gateway.api('POST', '/api/v1/model-servers/health-check-all');
    await gateway.api('DELETE', `/api/v1/model-servers/${added.body.id}`);
  } finally {
    await fake.stop();
  }
}

describe('GraphQL scopes: each field needs what its REST route needs', () => {
  const mutations: Record<string, string> = {
    addServer: 'mutation { addServer(input: {name: "scoped", baseUrl: "http://127.0.0.1:9", serverType: "vllm"}) { id } }',
    updateServer: 'mutation { updateServer(id: "missing", input: {name: "x"}) { id } }',
    removeServer: 'mutation { removeServer(id: "missing") }',
    testServer: 'mutation { testServer(id: "missing") }',
    checkAllServers: 'mutation { checkAllServers }',
    createKey: 'mutation { createKey(input: {name: "scoped", scopes: ["read"]}) { key } }',
    revokeKey: 'mutation { revokeKey(id: "missing") }',
    generateText: 'mutation { generateText(model: "chatty", prompt: "x") { text } }',
    chat: 'mutation { chat(model: "chatty", messages: [{role: "user", content: "x"}]) { id } }',
    embed: 'mutation { embed(model: "embedder", texts: ["x"]) { dimension } }',
    storeVector: 'mutation { storeVector(model: "embedder", texts: ["x"]) { ids } }',
    searchVectors: 'mutation { searchVectors(model: "embedder", query: "x") { id } }',
    pullModel: 'mutation { pullModel(model: "x", servers: ["missing"]) { id } }',
  };
  // The scope REST asks for each: admin changes, inference calls, vectors:write stores (admin holds every scope).
  const needs: Record<string, 'admin' | 'inference' | 'vectors'> = { addServer: 'admin', updateServer: 'admin', removeServer: 'admin', testServer: 'admin', checkAllServers: 'admin', createKey: 'admin', revokeKey: 'admin', generateText: 'inference', chat: 'inference', embed: 'inference', storeVector: 'vectors', searchVectors: 'inference', pullModel: 'admin' };

  it('refuses every mutation without a key, and with a key lacking its scope; admits it with one that has it', async () => {
    const wrong: string[] = [];
    for (const [name, query] of Object.entries(mutations)) {
      for (const holder of ['none', 'read', 'inference', 'admin'] as const) {
        const answer = await graphql(query, holder === 'none' ? null : keys[holder]);
        const code = answer.errors?.[0]?.extensions.code ?? 'ok';
        const admitted = holder === 'admin' || holder === needs[name];
        const expected = holder === 'none' ? 'SY_UNAUTHENTICATED' : admitted ? 'admitted' : 'SY_FORBIDDEN';
        const got = code === 'SY_UNAUTHENTICATED' || code === 'SY_FORBIDDEN' ? code : 'admitted';
        if (got !== expected) wrong.push(`${name} with ${holder}: ${code}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('gives every subscription the scope of the REST stream it reads: none, read, inference and admin keys', async () => {
    const subscriptions: Record<string, [string, Array<'read' | 'inference' | 'admin'>]> = {
      modelStatusUpdates: ['subscription { modelStatusUpdates { id } }', ['read', 'inference', 'admin']],
      serverHealth: ['subscription { serverHealth { id } }', ['read', 'admin']],
      metrics: ['subscription { metrics(intervalMs: 250) { inFlight } }', ['read', 'admin']],
      operationProgress: ['subscription { operationProgress(id: "unknown") { id } }', ['read', 'admin']],
      chatStream: ['subscription { chatStream(model: "chatty", messages: [{role: "user", content: "x"}]) { content } }', ['inference', 'admin']],
    };
    const quiet = new Set(['modelStatusUpdates', 'serverHealth']);
    const wrong: string[] = [];
    for (const [name, [query, admitted]] of Object.entries(subscriptions)) {
      for (const holder of ['none', 'read', 'inference', 'admin'] as const) {
        const client = subscriber(holder === 'none' ? undefined : { authorization: keys[holder] });
        let settled = false;
        const done = collect(client, query, () => true).done.finally(() => {
          settled = true;
        });
        // A quiet feed (model and server changes) says nothing until the fleet changes: change it until it speaks or refuses.
        // Each change is awaited to its end, so none spills into the next case or test.
        while (!settled && quiet.has(name)) {
          const stirring = stirFleet();
          await Promise.race([done, stirring]);
          await stirring;
        }
        const result = await done;
        await client.dispose();
        const text = JSON.stringify(result.errors ?? null);
        const code = /SY_UNAUTHENTICATED/.test(text) ? 'SY_UNAUTHENTICATED' : /SY_FORBIDDEN/.test(text) ? 'SY_FORBIDDEN' : 'admitted';
        // operationProgress with an admitted key reaches REST and learns the id is unknown: admitted, not refused.
        const expected = holder === 'none' ? 'SY_UNAUTHENTICATED' : admitted.includes(holder) ? 'admitted' : 'SY_FORBIDDEN';
        if (code !== expected) wrong.push(`${name} with ${holder}: ${code}`);
      }
    }
    expect(wrong).toEqual([]);
  });
});

describe('hostile GraphQL documents', () => {
  it('refuses aliases that multiply model calls before any reaches a server', async () => {
    const asked = vllm.requests.length;
    const aliases = Array.from({ length: 6 }, (_, index) => `g${index}: generateText(model: "chatty", prompt: "x") { text }`).join(' ');
    const answer = await graphql(`mutation { ${aliases} }`);
    expect(answer.status).toBe(400);
    expect(answer.errors?.[0]?.extensions.code).toBe('SY_GRAPHQL_TOO_COMPLEX');
    expect(vllm.requests.length).toBe(asked);
  });

  it('refuses deep nesting, fragment fan-out, oversized documents and oversized batches', async () => {
    const deep = await graphql('{ models { deployments { lastHour { requests } } } __schema { types { fields { type { ofType { ofType { ofType { ofType { name } } } } } } } } }', keys.read);
    expect(deep.errors?.[0]?.extensions.code).toBe('SY_GRAPHQL_TOO_COMPLEX');
    const fanOut = `fragment f on Server { ${Array.from({ length: 20 }, (_, index) => `a${index}: name`).join(' ')} } { ${Array.from({ length: 60 }, (_, index) => `s${index}: servers { ...f }`).join(' ')} }`;
    expect((await graphql(fanOut, keys.read)).errors?.[0]?.extensions.code).toBe('SY_GRAPHQL_TOO_COMPLEX');
    const huge = await graphql(`{ servers { id } } # ${'x'.repeat(40_000)}`, keys.read);
    expect(huge.status).toBe(400);
    expect(huge.errors?.[0]?.extensions.code).toBe('SY_GRAPHQL_TOO_COMPLEX');
    const batch = await fetch(`${gateway.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${keys.read}` }, body: JSON.stringify(Array.from({ length: 11 }, () => ({ query: '{ servers { id } }' }))) });
    expect(batch.status).toBe(400);
    const small = await fetch(`${gateway.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${keys.read}` }, body: JSON.stringify(Array.from({ length: 2 }, () => ({ query: '{ servers { id } }' }))) });
    expect(((await small.json()) as unknown[]).length).toBe(2);
  });

  it('answers a broken document or body in GraphQL\'s shape with a stable code, and keeps serving', async () => {
    const broken = await graphql('{ servers { id ', keys.read);
    expect(broken.status).toBe(400);
    expect(broken.errors?.[0]?.extensions.code).toBe('SY_GRAPHQL_INVALID');
    const unknown = await graphql('{ nothingHere }', keys.read);
    expect(unknown.errors?.[0]?.extensions.code).toBe('SY_GRAPHQL_INVALID');
    const garbage = await fetch(`${gateway.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${keys.read}` }, body: '{"query": ' });
    expect(garbage.status).toBe(400);
    expect((await graphql('{ servers { id } }', keys.read)).errors).toBeUndefined();
  });

  it('answers malformed subscription frames with errors, closes a socket that subscribes unannounced, and keeps serving', async () => {
    const exchange = (frames: string[], wanted: number) =>
      new Promise<{ received: Array<{ type: string; payload?: unknown }>; closed: boolean }>((resolve) => {
        const received: Array<{ type: string; payload?: unknown }> = [];
        const socket = new WebSocket(`${gateway.url.replace('http', 'ws')}/graphql`, 'graphql-transport-ws');
        socket.on('open', () => {
          for (const frame of frames) socket.send(frame);
        });
        socket.on('message', (data) => {
          const message = JSON.parse(data.toString()) as { type: string };
          if (message.type === 'ping') return;
          received.push(message);
          if (received.length === wanted) {
            socket.close();
            resolve({ received, closed: false });
          }
        });
        socket.on('close', () => resolve({ received, closed: true }));
        socket.on('error', () => undefined);
      });
    const malformed = await exchange(['{{{ not json', JSON.stringify({ type: 'launch_missiles' }), JSON.stringify({ type: 'connection_init', payload: { authorization: keys.read } })], 3);
    expect(malformed.received.map((message) => message.type).filter((type) => type !== 'ping')).toEqual(['error', 'error', 'connection_ack']);
    expect(JSON.stringify(malformed.received[0]?.payload)).toContain('Message must be a JSON string');
    const unannounced = await exchange([JSON.stringify({ id: '1', type: 'subscribe', payload: { query: 'subscription { metrics { inFlight } }' } })], 99);
    expect(unannounced.closed).toBe(true);
    expect(unannounced.received.map((message) => message.type)).toEqual(['connection_error']);
    expect((await graphql('{ servers { id } }', keys.read)).errors).toBeUndefined();
  });
});
