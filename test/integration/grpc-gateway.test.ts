// gRPC gateway.ModelService against the running gateway, with @grpc/grpc-js as
// an integration team would use it: from the shipped proto, and from server
// reflection alone (what grpcurl does without the file).
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import descriptor from 'protobufjs/ext/descriptor/index.js';
import { startOpenAIFake, startTeiFake, type OpenAIFake, type TeiFake } from '../fakes/index.ts';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';
import { waitUntil } from '../support/wait-until.ts';
import { definitionByReflection, grpcAddressOf, metadataWith, modelServiceClient, serverStream, shippedDefinition, unary, type Message } from '../support/grpc-client.ts';

let gateway: TestGateway;
let vllm: OpenAIFake;
let slow: OpenAIFake;
let tei: TeiFake;
let ranker: TeiFake;
let client: ReturnType<typeof modelServiceClient>;
const keys: Record<'read' | 'inference' | 'admin' | 'vectors', string> = { read: '', inference: '', admin: adminKey, vectors: '' };
const definition = shippedDefinition();

beforeAll(async () => {
  [gateway, vllm, slow, tei, ranker] = await Promise.all([
    startTestGateway(),
    startOpenAIFake({ flavor: 'vllm', models: [{ id: 'chatty' }], behaviour: { tokenIntervalMs: 5 } }),
    startOpenAIFake({ flavor: 'vllm', models: [{ id: 'slowpoke' }], behaviour: { tokenIntervalMs: 5 } }),
    startTeiFake({ modelId: 'embedder', dimension: 8 }),
    startTeiFake({ kind: 'reranker', modelId: 'ranker' }),
  ]);
  for (const [name, url, type] of [['gpu-1', vllm.url, 'vllm'], ['gpu-slow', slow.url, 'vllm'], ['tei-1', tei.url, 'embedding'], ['ranker-1', ranker.url, 'reranker']] as const) {
    const created = await gateway.api('POST', '/api/v1/model-servers', { name, base_url: url, server_type: type });
    expect(created.status, created.text).toBe(201);
  }
  await gateway.api('POST', '/api/v1/model-servers/health-check-all');
  for (const [name, scopes] of [['read', ['read']], ['inference', ['inference']], ['vectors', ['vectors:write', 'inference']]] as const) {
    keys[name] = (await gateway.api('POST', '/api/v1/keys', { name: `grpc-${name}`, scopes })).body.key;
  }
  client = modelServiceClient(definition, grpcAddressOf(gateway.url));
});

afterAll(async () => {
  client?.close();
  await Promise.all([gateway?.stop(), vllm?.stop(), slow?.stop(), tei?.stop(), ranker?.stop()]);
});

async function usageRows(api: string): Promise<Array<{ request_id: string; served_model: string | null }>> {
  await gateway.gateway.usage.flush({ force: true });
  return gateway.gateway.database.db.selectFrom('usage_records').select(['request_id', 'served_model']).where('api', '=', api).execute();
}

function trailer(error: grpc.ServiceError | null, name: string): string | undefined {
  const value = error?.metadata?.get(name)[0];
  return typeof value === 'string' ? value : undefined;
}

describe('gRPC with the shipped proto, on the gateway\'s own port', () => {
  it('lists models and one model\'s status as REST has them', async () => {
    const listed = await unary(client, 'ListModels', {}, keys.read);
    expect(listed.error).toBeNull();
    const byName = Object.fromEntries((listed.response.data as Message[]).map((model) => [model.model, model]));
    expect(byName['chatty']).toMatchObject({ status: 'available', provider: 'vllm', servers: ['gpu-1'], capabilities: expect.arrayContaining(['chat']) });
    expect(byName['embedder']).toMatchObject({ provider: 'embedding', embedding_dimension: 8 });
    const one = await unary(client, 'GetModelStatus', { model: 'chatty' }, keys.inference);
    expect(one.response).toMatchObject({ model: 'chatty', status: 'available', deployments: [expect.objectContaining({ server: 'gpu-1', routable: true, health_status: 'online' })] });
  });

  it('streams a chat: deltas as they come, then a last message with usage, model and server, recorded as grpc', async () => {
    const { messages, error } = await serverStream(client, 'Chat', { model: 'chatty', messages: [{ role: 'user', content: 'hello over grpc' }], max_tokens: 50 }, keys.inference);
    expect(error).toBeNull();
    expect(messages.length).toBeGreaterThan(2);
    const last = messages.at(-1);
    expect(last).toMatchObject({ done: true, model: 'chatty', server: 'gpu-1', finish_reason: expect.any(String) });
    expect(last.usage.total_tokens).toBe(last.usage.prompt_tokens + last.usage.completion_tokens);
    expect(last.usage.completion_tokens).toBeGreaterThan(0);
    expect(messages.slice(0, -1).every((message) => message.done === false && message.content !== '')).toBe(true);
    expect(messages.map((message) => message.content).join('')).toContain('hello over grpc');
    expect((await usageRows('grpc')).some((row) => row.served_model === 'chatty')).toBe(true);
  });

  it('generates text with its request id, usage and server, the usage record under the same id', async () => {
    const { response, error } = await unary(client, 'Generate', { model: 'chatty', prompt: 'say something', max_tokens: 20 }, keys.inference);
    expect(error).toBeNull();
    expect(response).toMatchObject({ model: 'chatty', server: 'gpu-1', text: expect.stringContaining('say something') });
    expect(response.usage.total_tokens).toBeGreaterThan(0);
    expect((await usageRows('grpc')).map((row) => row.request_id)).toContain(response.id);
  });

  it('embeds and reranks', async () => {
    const embedded = await unary(client, 'Embed', { model: 'embedder', input: ['a', 'b'] }, keys.inference);
    expect(embedded.error).toBeNull();
    expect(embedded.response.data).toHaveLength(2);
    expect(embedded.response.data[1]).toMatchObject({ index: 1 });
    expect(embedded.response.data[0].embedding).toHaveLength(8);
    expect(embedded.response.server).toBe('tei-1');
    const reranked = await unary(client, 'Rerank', { model: 'ranker', query: 'capital of France', documents: ['bananas', 'Paris is the capital of France'], return_documents: true }, keys.inference);
    expect(reranked.error).toBeNull();
    expect(reranked.response.results[0]).toMatchObject({ index: 1, document: { text: 'Paris is the capital of France' } });
    expect(reranked.response.server).toBe('ranker-1');
  });

  it('stores texts and items with metadata, then searches them by text and by a metadata filter', async () => {
    const stored = await unary(client, 'StoreVector', { model: 'embedder', texts: ['hello', 'a cat on a mat'] }, keys.vectors);
    expect(stored.error).toBeNull();
    expect(stored.response.ids).toHaveLength(2);
    expect(stored.response.dimension).toBe(8);
    const found = await unary(client, 'SearchVectors', { model: 'embedder', query: 'hello', top_k: 1 }, keys.inference);
    expect(found.error).toBeNull();
    expect(found.response.data).toEqual([expect.objectContaining({ id: stored.response.ids[0], text: 'hello', score: expect.any(Number) })]);
    const items = await unary(client, 'StoreVector', { model: 'embedder', items: [
      { id: 'doc-en', text: 'an english text', metadata: { fields: { lang: { stringValue: 'en' }, year: { numberValue: 2023 } } } },
      { id: 'doc-fr', text: 'un texte', metadata: { fields: { lang: { stringValue: 'fr' }, tags: { listValue: { values: [{ stringValue: 'a' }, { boolValue: true }] } } } } },
    ] }, keys.vectors);
    expect(items.response?.ids).toEqual(['doc-en', 'doc-fr']);
    const french = await unary(client, 'SearchVectors', { model: 'embedder', query: 'a text', filter: { fields: { lang: { stringValue: 'fr' } } } }, keys.inference);
    expect(french.error).toBeNull();
    expect(french.response.data).toHaveLength(1);
    expect(french.response.data[0]).toMatchObject({ id: 'doc-fr', metadata: { fields: { lang: { stringValue: 'fr' }, tags: { listValue: { values: [{ stringValue: 'a' }, { boolValue: true }] } } } } });
    // The same vectors through REST: one store, whichever door it came in by.
    const rest = await gateway.api('GET', '/api/v1/models/embedder/vectors/doc-fr');
    expect(rest.body.metadata).toEqual({ lang: 'fr', tags: ['a', true] });
  });

  it('answers errors with the mapped status, REST\'s message and the catalogue code in the trailers', async () => {
    const missing = await unary(client, 'GetModelStatus', { model: 'nobody' }, keys.read);
    expect(missing.error?.code).toBe(grpc.status.NOT_FOUND);
    expect(trailer(missing.error, 'sy-error-code')).toBe('SY_NOT_FOUND');
    const unknownModel = await serverStream(client, 'Chat', { model: 'nobody', messages: [{ role: 'user', content: 'x' }] }, keys.inference);
    expect(unknownModel.error?.code).toBe(grpc.status.NOT_FOUND);
    expect(trailer(unknownModel.error, 'sy-error-code')).toBe('model_not_found');
    const invalid = await unary(client, 'SearchVectors', { model: 'embedder' }, keys.inference);
    expect(invalid.error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(invalid.error?.details).toMatch(/query/);
    const noModel = await unary(client, 'Generate', { prompt: 'x' }, keys.inference);
    expect(noModel.error?.code).toBe(grpc.status.INVALID_ARGUMENT);
  });

  it('refuses a bad key with UNAUTHENTICATED, without echoing it', async () => {
    const bad = 'sk-sy-not-a-real-key-0000000000000000';
    const answer = await unary(client, 'ListModels', {}, bad);
    expect(answer.error?.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(trailer(answer.error, 'sy-error-code')).toBe('SY_UNAUTHENTICATED');
    expect(JSON.stringify(answer.error?.metadata.getMap())).not.toContain(bad);
    expect(answer.error?.details).not.toContain(bad);
    const bare = new grpc.Metadata();
    bare.set('authorization', keys.read);
    const withBareKey = await new Promise<grpc.ServiceError | null>((resolve) => (client['ListModels'] as Function).call(client, {}, bare, (error: grpc.ServiceError | null) => resolve(error)));
    expect(withBareKey).toBeNull();
  });

  it('answers a rate-limited call with RESOURCE_EXHAUSTED, retry-after and google.rpc.RetryInfo', async () => {
    const limited = (await gateway.api('POST', '/api/v1/keys', { name: 'grpc-limited', scopes: ['inference'], rpm: 1 })).body.key as string;
    expect((await unary(client, 'Generate', { model: 'chatty', prompt: 'one' }, limited)).error).toBeNull();
    const refused = await unary(client, 'Generate', { model: 'chatty', prompt: 'two' }, limited);
    expect(refused.error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(trailer(refused.error, 'sy-error-code')).toBe('rate_limit_exceeded');
    const retryAfter = Number(trailer(refused.error, 'retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    const details = refused.error?.metadata.get('grpc-status-details-bin')[0] as Buffer;
    const root = protobuf.parse(`syntax = "proto3"; package google.rpc;
      message Any { string type_url = 1; bytes value = 2; }
      message Status { int32 code = 1; string message = 2; repeated Any details = 3; }
      message Duration { int64 seconds = 1; int32 nanos = 2; }
      message RetryInfo { Duration retry_delay = 1; }
      message ErrorInfo { string reason = 1; string domain = 2; }`, { keepCase: true }).root;
    const status = root.lookupType('google.rpc.Status').toObject(root.lookupType('google.rpc.Status').decode(details), { longs: Number }) as { code: number; message: string; details: Array<{ type_url: string; value: Uint8Array }> };
    expect(status.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(status.message).toBe(refused.error?.details);
    const byType = Object.fromEntries(status.details.map((entry) => [entry.type_url, entry.value]));
    const retry = root.lookupType('google.rpc.RetryInfo').toObject(root.lookupType('google.rpc.RetryInfo').decode(byType['type.googleapis.com/google.rpc.RetryInfo'] as Uint8Array), { longs: Number }) as { retry_delay: { seconds: number } };
    expect(retry.retry_delay.seconds).toBe(Math.floor(retryAfter));
    const info = root.lookupType('google.rpc.ErrorInfo').toObject(root.lookupType('google.rpc.ErrorInfo').decode(byType['type.googleapis.com/google.rpc.ErrorInfo'] as Uint8Array)) as { reason: string; domain: string };
    expect(info).toEqual({ reason: 'rate_limit_exceeded', domain: 'switchyard' });
  });

  it('streams server status changes of the types asked for: a server that stops answering goes offline', async () => {
    const spare = await startOpenAIFake({ flavor: 'vllm', models: [{ id: 'spare-model' }] });
    const isOffline = (message: Message) => message.type === 'server.status_changed' && message.server.name === 'spare' && message.server.health_status === 'offline';
    const watch = serverStream(client, 'WatchServers', { types: ['server.status_changed', 'server.checked'] }, keys.read, {}, (messages) => messages.some(isOffline));
    try {
      // Admitted and watching once its headers arrive (before any change).
      await new Promise((resolve) => watch.call.once('metadata', resolve));
      expect((await gateway.api('POST', '/api/v1/model-servers', { name: 'spare', base_url: spare.url, server_type: 'vllm' })).status).toBe(201);
      await gateway.api('POST', '/api/v1/model-servers/health-check-all');
      await spare.stop();
      await waitUntil(async () => {
        await gateway.api('POST', '/api/v1/model-servers/health-check-all');
        return watch.messages.some(isOffline);
      }, { what: 'the offline change to arrive' });
      const { messages, error } = await watch;
      expect(error).toBeNull();
      // server.created (spare) and the others are left out.
      expect(new Set(messages.map((message) => message.type))).toEqual(new Set(['server.checked', 'server.status_changed']));
      const offline = messages.find(isOffline);
      expect(offline.server).toMatchObject({ name: 'spare', server_type: 'vllm', has_api_key: false });
      expect(offline.server).not.toHaveProperty('api_key');
    } finally {
      watch.call.cancel();
      await spare.stop().catch(() => undefined);
    }
  });
});

describe('gRPC with reflection only', () => {
  it('lists the service and builds a client from the reflected descriptors: a streamed chat, a store and a search', async () => {
    const { services, definition: reflected, files } = await definitionByReflection(grpcAddressOf(gateway.url));
    expect(services).toContain('gateway.ModelService');
    // As protoc writes them, which strict readers (grpcurl) require: imports listed, map entries named <Field>Entry, optional marked.
    const [service, ...imported] = files.map((file) => descriptor.FileDescriptorProto.toObject(descriptor.FileDescriptorProto.decode(file)) as Message);
    expect(service.dependency).toEqual(imported.map((file: Message) => file.name));
    const struct = imported.flatMap((file: Message) => file.messageType).find((type: Message) => type.name === 'Struct');
    expect(struct.nestedType.map((type: Message) => type.name)).toEqual(['FieldsEntry']);
    expect(struct.field[0].typeName).toMatch(/FieldsEntry$/);
    const generate = service.messageType.find((type: Message) => type.name === 'GenerateRequest');
    expect(generate.field.find((field: Message) => field.name === 'max_tokens').proto3Optional).toBe(true);
    const reflectedClient = modelServiceClient(reflected, grpcAddressOf(gateway.url));
    try {
      const chat = await serverStream(reflectedClient, 'Chat', { model: 'chatty', messages: [{ role: 'user', content: 'reflected' }] }, keys.inference);
      expect(chat.error).toBeNull();
      expect(chat.messages.at(-1)).toMatchObject({ done: true, server: 'gpu-1' });
      // protobufjs builds no map fields from descriptors: a Struct's `fields` is the list of its entries (the same bytes on the wire).
      const via = { fields: [{ key: 'via', value: { stringValue: 'reflection' } }] };
      const stored = await unary(reflectedClient, 'StoreVector', { model: 'embedder', items: [{ id: 'reflected-1', text: 'found by reflection', metadata: via }] }, keys.vectors);
      expect(stored.error).toBeNull();
      const found = await unary(reflectedClient, 'SearchVectors', { model: 'embedder', query: 'found by reflection', top_k: 1, filter: via }, keys.inference);
      expect(found.error).toBeNull();
      expect(found.response.data[0]).toMatchObject({ id: 'reflected-1', text: 'found by reflection' });
    } finally {
      reflectedClient.close();
    }
  });
});

describe('gRPC deadlines and cancels reach the model server', () => {
  it('a deadline that passes while the model server is slow ends DEADLINE_EXCEEDED and hangs up the upstream call', async () => {
    await slow.setBehaviour({ latencyMs: 30_000 });
    slow.resetRequests();
    try {
      const answer = await unary(client, 'Generate', { model: 'slowpoke', prompt: 'take your time' }, keys.inference, { deadline: Date.now() + 400 });
      expect(answer.error?.code).toBe(grpc.status.DEADLINE_EXCEEDED);
      await waitUntil(() => slow.abortedCount() === 1, { what: 'the upstream generate to be aborted' });
      const stream = await serverStream(client, 'Chat', { model: 'slowpoke', messages: [{ role: 'user', content: 'x' }] }, keys.inference, { deadline: Date.now() + 400 });
      expect(stream.error?.code).toBe(grpc.status.DEADLINE_EXCEEDED);
      await waitUntil(() => slow.abortedCount() === 2, { what: 'the upstream chat to be aborted' });
    } finally {
      await slow.setBehaviour({ latencyMs: 0 });
    }
  });

  it('a cancelled chat cancels the upstream call', async () => {
    await vllm.setBehaviour({ tokenIntervalMs: 200 });
    vllm.resetRequests();
    try {
      const { messages } = await serverStream(client, 'Chat', { model: 'chatty', messages: [{ role: 'user', content: 'a long story please' }], max_tokens: 200 }, keys.inference, {}, (received) => received.length >= 1);
      expect(messages).toHaveLength(1);
      await waitUntil(() => vllm.abortedCount() === 1, { what: 'the upstream chat to be aborted' });
    } finally {
      await vllm.setBehaviour({ tokenIntervalMs: 5 });
    }
  });
});

/** A WatchServers call's refusal, or null once its headers say it was admitted (then it is cancelled). */
function watchAdmission(key: string | null): Promise<grpc.ServiceError | null> {
  return new Promise((resolve) => {
    const call = (client['WatchServers'] as Function).call(client, {}, metadataWith(key)) as grpc.ClientReadableStream<Message>;
    call.on('metadata', () => {
      resolve(null);
      call.cancel();
    });
    call.on('error', (error: grpc.ServiceError) => resolve(error.code === grpc.status.CANCELLED ? null : error));
    call.on('data', () => undefined);
  });
}

describe('gRPC scopes: each method needs what its REST route needs', () => {
  const calls: Record<string, { stream: boolean; request: Message; needs: Array<'read' | 'inference' | 'vectors'> }> = {
    Chat: { stream: true, request: { model: 'chatty', messages: [{ role: 'user', content: 'x' }], max_tokens: 2 }, needs: ['inference'] },
    Generate: { stream: false, request: { model: 'chatty', prompt: 'x', max_tokens: 2 }, needs: ['inference'] },
    Embed: { stream: false, request: { model: 'embedder', input: ['x'] }, needs: ['inference'] },
    Rerank: { stream: false, request: { model: 'ranker', query: 'x', documents: ['y'] }, needs: ['inference'] },
    ListModels: { stream: false, request: {}, needs: ['read', 'inference'] },
    GetModelStatus: { stream: false, request: { model: 'chatty' }, needs: ['read', 'inference'] },
    StoreVector: { stream: false, request: { model: 'embedder', texts: ['scoped'] }, needs: ['vectors'] },
    SearchVectors: { stream: false, request: { model: 'embedder', query: 'x' }, needs: ['inference'] },
    WatchServers: { stream: true, request: {}, needs: ['read'] },
  };

  it('covers every method of the service', () => {
    expect(Object.keys(calls).sort()).toEqual(Object.keys(definition['gateway.ModelService'] as object).sort());
  });

  it('refuses each method without a key and with a key lacking its scope; admits it with one that has it (admin holds every scope)', async () => {
    const wrong: string[] = [];
    for (const [method, call] of Object.entries(calls)) {
      for (const holder of ['none', 'read', 'inference', 'admin'] as const) {
        const key = holder === 'none' ? null : keys[holder];
        // A watch never ends by itself: admitted, it sends its headers at once, and the test hangs up.
        const error = method === 'WatchServers' ? await watchAdmission(key) : call.stream ? (await serverStream(client, method, call.request, key)).error : (await unary(client, method, call.request, key)).error;
        const got = error?.code === grpc.status.UNAUTHENTICATED ? 'UNAUTHENTICATED' : error?.code === grpc.status.PERMISSION_DENIED ? 'PERMISSION_DENIED' : 'admitted';
        const admitted = holder === 'admin' || (holder !== 'none' && call.needs.includes(holder));
        const expected = holder === 'none' ? 'UNAUTHENTICATED' : admitted ? 'admitted' : 'PERMISSION_DENIED';
        if (got !== expected) wrong.push(`${method} with ${holder}: ${got} (${error?.code} ${error?.details})`);
        if (admitted && error !== null) wrong.push(`${method} with ${holder} failed: ${error.code} ${error.details}`);
      }
    }
    expect(wrong).toEqual([]);
  });
});

describe('gRPC hostile input', () => {
  it('refuses a message over 4 MiB with RESOURCE_EXHAUSTED, stores nothing, and keeps serving', async () => {
    const before = (await unary(client, 'SearchVectors', { model: 'embedder', query: 'huge', top_k: 100 }, keys.inference)).response.data.length as number;
    const huge = await unary(client, 'StoreVector', { model: 'embedder', texts: ['x'.repeat(5 * 1024 * 1024)] }, keys.vectors);
    expect(huge.error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    const after = (await unary(client, 'SearchVectors', { model: 'embedder', query: 'huge', top_k: 100 }, keys.inference)).response.data.length as number;
    expect(after).toBe(before);
    expect((await unary(client, 'ListModels', {}, keys.read)).error).toBeNull();
  });

  it('answers UNIMPLEMENTED for a method the service does not have', async () => {
    const error = await new Promise<grpc.ServiceError | null>((resolve) => {
      client.makeUnaryRequest('/gateway.ModelService/DropAllTables', (value: Buffer) => value, (value: Buffer) => value, Buffer.alloc(0), (failure) => resolve(failure));
    });
    expect(error?.code).toBe(grpc.status.UNIMPLEMENTED);
    const otherService = await new Promise<grpc.ServiceError | null>((resolve) => {
      client.makeUnaryRequest('/gateway.AdminService/Anything', (value: Buffer) => value, (value: Buffer) => value, Buffer.alloc(0), (failure) => resolve(failure));
    });
    expect(otherService?.code).toBe(grpc.status.UNIMPLEMENTED);
  });

  it('survives garbage after the HTTP/2 preface and a connection that stops halfway through it', async () => {
    const { connect } = await import('node:net');
    const { port } = new URL(gateway.url);
    for (const bytes of [Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), Buffer.alloc(64, 0xff)]), Buffer.from('PRI * HTTP/2')]) {
      const socket = connect(Number(port), '127.0.0.1');
      socket.on('error', () => undefined);
      const answered = new Promise((resolve) => socket.once('data', resolve));
      await new Promise((resolve) => socket.write(bytes, resolve));
      // A whole preface: the HTTP/2 side has taken the connection once it speaks (its SETTINGS). Half a preface: the client gives up.
      if (bytes.length > 24) await answered;
      socket.destroy();
    }
    expect((await unary(client, 'ListModels', {}, keys.read)).error).toBeNull();
    expect((await gateway.api('GET', '/health')).status).toBe(200);
  });
});

describe('HTTP/1.1 on the shared port', () => {
  it('still serves HTTP/1.1, keep-alive connections reused, bodies larger than one packet intact', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const { port } = new URL(gateway.url);
    const ask = (method: string, path: string, body?: string) =>
      new Promise<{ status: number; text: string; reused: boolean }>((resolve, reject) => {
        const request = http.request({ host: '127.0.0.1', port, path, method, agent, headers: { authorization: `Bearer ${adminKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) } }, (response) => {
          let text = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (text += chunk));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, text, reused: request.reusedSocket }));
        });
        request.on('error', reject);
        request.end(body);
      });
    try {
      const first = await ask('GET', '/health');
      expect(first).toMatchObject({ status: 200, reused: false });
      const long = 'word '.repeat(100_000);
      const chat = await ask('POST', '/v1/chat/completions', JSON.stringify({ model: 'chatty', max_tokens: 5, user: long, messages: [{ role: 'user', content: 'hi' }] }));
      expect(chat.status, chat.text.slice(0, 200)).toBe(200);
      expect(chat.reused).toBe(true);
      const third = await ask('GET', '/api/v1/model-servers');
      expect(third.status).toBe(200);
      expect(third.reused).toBe(true);
      // gRPC at the same time, on its own connection to the same port.
      expect((await unary(client, 'ListModels', {}, keys.read)).error).toBeNull();
    } finally {
      agent.destroy();
    }
  });
});

describe('every REST record field has its proto field', () => {
  it('a field added to a REST record and forgotten in the proto fails here', async () => {
    const fieldsOf = (type: string) => new Set(((definition[`gateway.${type}`] as { type: { field: Array<{ name: string }> } }).type.field).map((field) => field.name));
    const missing: string[] = [];
    // `object` is OpenAI's type tag ("list", "embedding"): the proto's message type says it.
    const check = (type: string, record: Record<string, unknown>, skip: string[] = []) => {
      for (const key of Object.keys(record)) if (!skip.includes(key) && !fieldsOf(type).has(key)) missing.push(`${type}.${key}`);
    };
    const status = (await gateway.api('GET', '/api/v1/models/chatty/status')).body;
    check('ModelStatus', status);
    check('ModelDeployment', status.deployments[0]);
    check('Window', status.last_hour);
    check('Window', status.deployments[0].last_hour);
    check('ListModelsResponse', (await gateway.api('GET', '/api/v1/models/status')).body);
    const generated = (await gateway.api('POST', '/api/v1/models/chatty/generate', { prompt: 'fields' })).body;
    check('GenerateResponse', generated);
    check('Usage', generated.usage);
    const embedded = (await gateway.api('POST', '/v1/embeddings', { model: 'embedder', input: ['fields'] })).body;
    check('EmbedResponse', embedded, ['object']);
    check('Embedding', embedded.data[0], ['object']);
    check('EmbeddingUsage', embedded.usage);
    const reranked = (await gateway.api('POST', '/v1/rerank', { model: 'ranker', query: 'q', documents: ['d'], return_documents: true })).body;
    check('RerankResponse', reranked, ['object']);
    check('RerankResult', reranked.results[0]);
    check('EmbeddingUsage', reranked.usage);
    const stored = (await gateway.api('POST', '/api/v1/models/embedder/vectors/store', { items: [{ id: 'fields-1', text: 'fields', metadata: { a: 1 } }] })).body;
    check('StoreVectorResponse', stored);
    const searched = (await gateway.api('POST', '/api/v1/models/embedder/vectors/search', { query: 'fields', top_k: 1 })).body;
    check('SearchVectorsResponse', searched);
    check('VectorHit', searched.data[0]);
    const servers = (await gateway.api('GET', '/api/v1/model-servers')).body.data as Array<Record<string, any>>;
    check('Server', servers[0] as Record<string, unknown>);
    check('ServerLoad', servers.find((server) => server.load !== null)?.load ?? {});
    check('ServerDetection', servers.find((server) => server.detection !== null)?.detection ?? {});
    expect(missing).toEqual([]);
    // Secrets are not in the proto at all.
    const allFields = Object.entries(definition).filter(([name]) => name.startsWith('gateway.') && name !== 'gateway.ModelService').flatMap(([, type]) => ((type as { type: { field: Array<{ name: string }> } }).type.field).map((field) => field.name));
    expect(allFields.filter((name) => /hash|secret|^api_key$|^key$/i.test(name))).toEqual([]);
  });
});

describe('SWITCHYARD_GRPC_PORT', () => {
  it('serves the same service on a port of its own, and a shutdown ends open watches promptly', async () => {
    const own = await startTestGateway({ env: { SWITCHYARD_GRPC_PORT: '0' } });
    let stopped = false;
    try {
      const port = own.gateway.grpc.port as number;
      expect(port).toBeGreaterThan(0);
      expect(String(port)).not.toBe(new URL(own.url).port);
      const ownClient = modelServiceClient(definition, `127.0.0.1:${port}`);
      try {
        expect((await unary(ownClient, 'ListModels', {}, adminKey)).error).toBeNull();
        const watch = serverStream(ownClient, 'WatchServers', {}, adminKey);
        await waitUntil(() => own.gateway.grpc.inFlight === 1, { what: 'the watch to open' });
        await own.stop();
        stopped = true;
        const { error } = await watch;
        expect(error?.code).toBe(grpc.status.UNAVAILABLE);
      } finally {
        ownClient.close();
      }
    } finally {
      if (!stopped) await own.stop();
    }
  });

  it('leaves the HTTP port HTTP/1.1 only with SWITCHYARD_GRPC_SHARED_PORT=false, gRPC on its own port', async () => {
    const own = await startTestGateway({ env: { SWITCHYARD_GRPC_PORT: '0', SWITCHYARD_GRPC_SHARED_PORT: 'false' } });
    const onHttpPort = modelServiceClient(definition, grpcAddressOf(own.url));
    const onOwnPort = modelServiceClient(definition, `127.0.0.1:${own.gateway.grpc.port as number}`);
    try {
      expect((await unary(onOwnPort, 'ListModels', {}, adminKey)).error).toBeNull();
      // The HTTP server reads the HTTP/2 preface as a bad request: no gRPC there.
      expect((await unary(onHttpPort, 'ListModels', {}, adminKey, { deadline: Date.now() + 5_000 })).error?.code).toBe(grpc.status.UNAVAILABLE);
      expect((await own.api('GET', '/health')).status).toBe(200);
    } finally {
      onHttpPort.close();
      onOwnPort.close();
      await own.stop();
    }
  });

  it('publishes the proto file over HTTP without a key', async () => {
    const response = await fetch(`${gateway.url}/proto/gateway/model_service.proto`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    expect(await response.text()).toContain('service ModelService');
  });

  it('refuses to start when the gRPC port is taken, naming the setting', async () => {
    const { createServer } = await import('node:net');
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    try {
      const port = (holder.address() as { port: number }).port;
      const failure = await startTestGateway({ env: { SWITCHYARD_GRPC_PORT: String(port) } }).then(async (started) => {
        await started.stop();
        return null;
      }, (error: unknown) => error);
      expect(failure).toMatchObject({ name: 'PortUnavailableError', message: expect.stringContaining('SWITCHYARD_GRPC_PORT') });
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });
});
