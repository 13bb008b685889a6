import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startOpenAIFake, type OpenAIFake } from '../fakes/index.ts';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';
import { waitUntil } from '../support/wait-until.ts';

let gateway: TestGateway;
let vllm: OpenAIFake;
let spare: OpenAIFake;
const keys: Record<'read' | 'inference' | 'admin' | 'limited', string> = { read: '', inference: '', admin: adminKey, limited: '' };

beforeAll(async () => {
  [gateway, vllm, spare] = await Promise.all([
    startTestGateway({ env: { SWITCHYARD_WS_MAX_SOCKETS_PER_KEY: '3', SWITCHYARD_WS_AUTH_TIMEOUT_MS: '300', SWITCHYARD_WS_MAX_CONVERSATIONS: '2' } }),
    startOpenAIFake({ flavor: 'vllm', models: [{ id: 'chatty' }], behaviour: { tokenIntervalMs: 5 } }),
    startOpenAIFake({ flavor: 'vllm', models: [{ id: 'spare-model' }] }),
  ]);
  for (const [name, url] of [['gpu-1', vllm.url], ['gpu-2', spare.url]] as const) expect((await gateway.api('POST', '/api/v1/model-servers', { name, base_url: url })).status).toBe(201);
  await gateway.api('POST', '/api/v1/model-servers/health-check-all');
  for (const scope of ['read', 'inference'] as const) keys[scope] = (await gateway.api('POST', '/api/v1/keys', { name: `ws-${scope}`, scopes: [scope] })).body.key;
  keys.limited = (await gateway.api('POST', '/api/v1/keys', { name: 'ws-limited', scopes: ['inference', 'read'] })).body.key;
});

afterAll(async () => {
  await Promise.all([gateway.stop(), vllm.stop(), spare.stop()]);
});

type Message = Record<string, any>;

interface Client {
  socket: WebSocket;
  messages: Message[];
  /** The first message (from the start) that matches, waiting for it. */
  next: (match: (message: Message) => boolean, what?: string) => Promise<Message>;
  closed: Promise<{ code: number; reason: string }>;
  /** Rejects (HTTP status) when the upgrade itself is refused. */
  opened: Promise<void>;
}

function connect(path: string, headers: Record<string, string> = {}, options: WebSocket.ClientOptions = {}): Client {
  const socket = new WebSocket(`${gateway.url.replace('http', 'ws')}${path}`, { headers, ...options });
  const messages: Message[] = [];
  socket.on('message', (data) => messages.push(JSON.parse(data.toString()) as Message));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  const opened = new Promise<void>((resolve, reject) => {
    socket.on('open', () => resolve());
    socket.on('unexpected-response', (_request, response) => reject(new Error(`HTTP ${response.statusCode}`)));
    socket.on('error', () => undefined);
  });
  opened.catch(() => undefined);
  const next = async (match: (message: Message) => boolean, what = 'a message') => {
    let found: Message | undefined;
    await waitUntil(() => (found = messages.find(match)) !== undefined, { what });
    return found as Message;
  };
  return { socket, messages, next, closed, opened };
}

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

describe('/ws/chat', () => {
  it('streams deltas and a final done with the whole message, usage, model and server', async () => {
    const client = connect('/ws/chat', bearer(keys.inference));
    await client.next((message) => message.type === 'ready');
    client.socket.send(JSON.stringify({ id: 'one', model: 'chatty', message: 'hello over a socket' }));
    const done = await client.next((message) => message.type === 'done');
    const deltas = client.messages.filter((message) => message.type === 'delta' && message.id === 'one');
    expect(deltas.length).toBeGreaterThan(2);
    expect(done).toMatchObject({ id: 'one', model: 'chatty', server: 'gpu-1', message: { role: 'assistant', content: deltas.map((delta) => delta.content).join('') }, usage: { total_tokens: expect.any(Number) } });
    expect(done.message.content).toContain('hello over a socket');
    client.socket.close();
    await gateway.gateway.usage.flush({ force: true });
    const rows = await gateway.gateway.database.db.selectFrom('usage_records').select(['api', 'streamed']).where('api', '=', 'websocket').execute();
    expect(rows.length).toBeGreaterThanOrEqual(1);
  });

  it('runs two conversations at once on one socket, each by its id', async () => {
    const client = connect('/ws/chat', bearer(keys.inference));
    await client.next((message) => message.type === 'ready');
    client.socket.send(JSON.stringify({ id: 'a', model: 'chatty', messages: [{ role: 'user', content: 'first question' }] }));
    client.socket.send(JSON.stringify({ id: 'b', model: 'spare-model', message: 'second question' }));
    const [a, b] = await Promise.all([client.next((message) => message.type === 'done' && message.id === 'a'), client.next((message) => message.type === 'done' && message.id === 'b')]);
    expect(a.message.content).toContain('first question');
    expect(b).toMatchObject({ server: 'gpu-2', model: 'spare-model' });
    expect(b.message.content).toContain('second question');
    client.socket.close();
  });

  it('cancels a conversation, and its upstream call with it', async () => {
    await vllm.setBehaviour({ tokenIntervalMs: 200 });
    const before = vllm.abortedCount();
    const client = connect('/ws/chat', bearer(keys.inference));
    await client.next((message) => message.type === 'ready');
    client.socket.send(JSON.stringify({ id: 'long', model: 'chatty', max_tokens: 200, message: 'a very long story' }));
    await client.next((message) => message.type === 'delta' && message.id === 'long');
    client.socket.send(JSON.stringify({ type: 'cancel', id: 'long' }));
    await client.next((message) => message.type === 'cancelled' && message.id === 'long');
    await waitUntil(() => vllm.abortedCount() === before + 1, { what: 'the upstream call to be aborted' });
    expect(client.messages.some((message) => message.type === 'done')).toBe(false);
    // Closing the socket mid-stream cancels too.
    client.socket.send(JSON.stringify({ id: 'again', model: 'chatty', max_tokens: 200, message: 'another long story' }));
    await client.next((message) => message.type === 'delta' && message.id === 'again');
    client.socket.terminate();
    await waitUntil(() => vllm.abortedCount() === before + 2, { what: 'the second upstream call to be aborted' });
    await vllm.setBehaviour({ tokenIntervalMs: 5 });
  });

  it('answers bad messages with errors in the catalogue\'s terms and keeps the socket', async () => {
    const client = connect('/ws/chat', bearer(keys.inference));
    await client.next((message) => message.type === 'ready');
    client.socket.send('{not json');
    await client.next((message) => message.code === 'SY_INVALID_JSON');
    client.socket.send(Buffer.from([0xff, 0x00, 0x13]), { binary: true });
    await client.next((message) => message.code === 'SY_INVALID_REQUEST' && /binary/.test(message.message));
    client.socket.send(JSON.stringify({ type: 'dance' }));
    await client.next((message) => /Unknown message type/.test(message.message ?? ''));
    client.socket.send(JSON.stringify({ id: 'x', model: 'no-such-model', message: 'hi' }));
    expect(await client.next((message) => message.id === 'x' && message.type === 'error')).toMatchObject({ code: 'model_not_found', status: 404 });
    client.socket.send(JSON.stringify({ id: 'y', model: 'chatty' }));
    await client.next((message) => message.id === 'y' && message.type === 'error');
    // Still serving.
    client.socket.send(JSON.stringify({ id: 'z', model: 'chatty', message: 'still there?' }));
    await client.next((message) => message.type === 'done' && message.id === 'z');
    client.socket.close();
  });

  it('reports a model server that dies mid-stream as an error for that conversation, and the socket lives on', async () => {
    const client = connect('/ws/chat', bearer(keys.inference));
    await client.next((message) => message.type === 'ready');
    await vllm.setFault({ kind: 'drop-mid-stream', afterChunks: 2 });
    try {
      client.socket.send(JSON.stringify({ id: 'dies', model: 'chatty', message: 'a story that breaks off' }));
      const failure = await client.next((message) => message.id === 'dies' && message.type === 'error');
      expect(failure.code).toBe('SY_UPSTREAM_STREAM_BROKEN');
      expect(client.messages.filter((message) => message.id === 'dies' && message.type === 'delta').length).toBeGreaterThan(0);
      expect(client.messages.some((message) => message.id === 'dies' && message.type === 'done')).toBe(false);
    } finally {
      await vllm.clearFault();
    }
    client.socket.send(JSON.stringify({ id: 'after', model: 'chatty', message: 'and now?' }));
    await client.next((message) => message.id === 'after' && message.type === 'done');
    client.socket.close();
  });

  it('bounds conversations per socket and closes on an oversized message', async () => {
    await vllm.setBehaviour({ tokenIntervalMs: 100 });
    const client = connect('/ws/chat', bearer(keys.inference));
    await client.next((message) => message.type === 'ready');
    for (const id of ['p', 'q', 'r']) client.socket.send(JSON.stringify({ id, model: 'chatty', max_tokens: 50, message: 'slow' }));
    expect(await client.next((message) => message.id === 'r' && message.type === 'error')).toMatchObject({ code: 'SY_INVALID_REQUEST' });
    client.socket.send('x'.repeat(1024 * 1024 + 10));
    expect((await client.closed).code).toBe(1009);
    await vllm.setBehaviour({ tokenIntervalMs: 5 });
    // The gateway is unharmed.
    expect((await gateway.api('GET', '/health')).status).toBe(200);
  });
});

describe('authentication on the sockets', () => {
  it('takes a first {type: "auth"} message, and closes a socket that never sends one', async () => {
    const client = connect('/ws/chat');
    client.socket.on('open', () => client.socket.send(JSON.stringify({ type: 'auth', key: keys.inference })));
    await client.next((message) => message.type === 'ready');
    client.socket.send(JSON.stringify({ model: 'chatty', message: 'authenticated late' }));
    await client.next((message) => message.type === 'done');
    client.socket.close();
    const silent = connect('/ws/chat');
    expect((await silent.closed).code).toBe(4408);
    const wrong = connect('/ws/chat');
    wrong.socket.on('open', () => wrong.socket.send(JSON.stringify({ type: 'auth', key: 'sk-sy-wrong' })));
    expect(await wrong.closed).toMatchObject({ code: 4401, reason: 'That key was not accepted.' });
  });

  it('refuses a key in the URL, and a wrong header key before upgrading', async () => {
    await expect(connect(`/ws/chat?api_key=${keys.inference}`).opened).rejects.toThrow('HTTP 400');
    await expect(connect('/ws/chat', bearer('sk-sy-wrong')).opened).rejects.toThrow('HTTP 401');
    const plain = await fetch(`${gateway.url}/ws/chat`, { headers: bearer(keys.inference) });
    expect(plain.status).toBe(426);
  });

  it('accepts the console session cookie from its own origin only', async () => {
    const session = await fetch(`${gateway.url}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key: keys.read }) });
    const cookie = (session.headers.get('set-cookie') ?? '').split(';')[0] as string;
    expect(cookie).toMatch(/^sy_session=/);
    const own = connect('/ws/metrics?interval_ms=250', { cookie, origin: gateway.url });
    await own.next((message) => message.type === 'metrics');
    own.socket.close();
    await expect(connect('/ws/metrics', { cookie, origin: 'https://evil.example' }).opened).rejects.toThrow('HTTP 403');
  });

  it('gives each endpoint the scope of the REST route it reads', async () => {
    const cases: Array<[string, 'none' | 'read' | 'inference' | 'admin', 'admitted' | number]> = [];
    const needs: Record<string, Array<'read' | 'inference' | 'admin'>> = { '/ws/chat': ['inference', 'admin'], '/ws/models': ['read', 'inference', 'admin'], '/ws/metrics': ['read', 'admin'] };
    const wrong: string[] = [];
    for (const [path, admitted] of Object.entries(needs)) {
      for (const holder of ['none', 'read', 'inference', 'admin'] as const) {
        // By header: refused before the upgrade. By first message: closed with the matching 44xx code.
        if (holder === 'none') {
          const silent = connect(path);
          if ((await silent.closed).code !== 4408) wrong.push(`${path} without a key`);
          continue;
        }
        const byHeader = connect(path, bearer(keys[holder]));
        const headerResult = await byHeader.opened.then(() => 'admitted', (error: Error) => error.message);
        byHeader.socket.close();
        const expected = admitted.includes(holder) ? 'admitted' : 'HTTP 403';
        if (headerResult !== expected) wrong.push(`${path} ${holder} by header: ${headerResult}`);
        const byMessage = connect(path);
        byMessage.socket.on('open', () => byMessage.socket.send(JSON.stringify({ type: 'auth', key: keys[holder] })));
        const outcome = await Promise.race([byMessage.next((message) => message.type === 'ready').then(() => 'admitted'), byMessage.closed.then((closed) => `closed ${closed.code}`)]);
        byMessage.socket.close();
        if (outcome !== (admitted.includes(holder) ? 'admitted' : 'closed 4403')) wrong.push(`${path} ${holder} by message: ${outcome}`);
        cases.push([path, holder, outcome === 'admitted' ? 'admitted' : 403]);
      }
    }
    expect(wrong).toEqual([]);
    expect(cases.length).toBe(9);
  });

  it('bounds open sockets per key', async () => {
    const open = await Promise.all([0, 1, 2].map(async () => {
      const client = connect('/ws/metrics', bearer(keys.limited));
      await client.next((message) => message.type === 'ready');
      return client;
    }));
    const fourth = connect('/ws/metrics', bearer(keys.limited));
    expect((await fourth.closed).code).toBe(4429);
    (open[0] as Client).socket.close();
    await (open[0] as Client).closed;
    // A slot frees when a socket closes.
    await waitUntil(async () => {
      const again = connect('/ws/metrics', bearer(keys.limited));
      const outcome = await Promise.race([again.next((message) => message.type === 'ready').then(() => true), again.closed.then(() => false)]);
      again.socket.close();
      return outcome;
    }, { what: 'a socket slot to free' });
    for (const client of open) client.socket.close();
  });
});

describe('/ws/models and /ws/metrics', () => {
  it('sends the models, then a server going down and its model becoming unavailable as they happen', async () => {
    const client = connect('/ws/models', bearer(keys.read));
    const first = await client.next((message) => message.type === 'models');
    expect((first.data as Array<{ model: string }>).map((model) => model.model).sort()).toEqual(['chatty', 'spare-model']);
    await spare.stop();
    for (let round = 0; round < 3; round++) await gateway.api('POST', '/api/v1/model-servers/health-check-all');
    expect(await client.next((message) => message.type === 'model' && message.model === 'spare-model')).toMatchObject({ status: 'unavailable', servers: ['gpu-2'] });
    expect(await client.next((message) => message.type === 'server' && message.event === 'server.status_changed' && message.server.health_status === 'offline')).toMatchObject({ server: { name: 'gpu-2' } });
    client.socket.close();
    await spare.restart();
    await gateway.api('POST', '/api/v1/model-servers/health-check-all');
  });

  it('sends model changes (not the fleet\'s servers) to an inference key', async () => {
    const client = connect('/ws/models', bearer(keys.inference));
    await client.next((message) => message.type === 'models');
    const removed = await gateway.api('DELETE', `/api/v1/model-servers/${(await gateway.api('GET', '/api/v1/model-servers')).body.data.find((server: { name: string }) => server.name === 'gpu-2').id}`);
    expect(removed.status).toBe(204);
    expect(await client.next((message) => message.type === 'model' && message.model === 'spare-model')).toMatchObject({ status: 'removed' });
    expect(client.messages.some((message) => message.type === 'server')).toBe(false);
    expect(client.socket.readyState).toBe(WebSocket.OPEN);
    client.socket.close();
  });

  it('sends live figures at the pace the client asks, within bounds', async () => {
    const client = connect('/ws/metrics?interval_ms=250', bearer(keys.read));
    const first = await client.next((message) => message.type === 'metrics');
    expect(first).toMatchObject({ interval_ms: 250, in_flight: expect.any(Number), requests_per_s: expect.any(Number), ttft_p50_ms: expect.anything() });
    client.socket.send(JSON.stringify({ type: 'interval', interval_ms: 10 }));
    await client.next((message) => message.type === 'error' && /interval_ms/.test(message.message));
    client.socket.send(JSON.stringify({ type: 'interval', interval_ms: 300 }));
    await client.next((message) => message.type === 'metrics' && message.interval_ms === 300);
    client.socket.close();
  });

  it('drops a peer that stops answering pings', async () => {
    const quick = await startTestGateway({ env: { SWITCHYARD_WS_PING_INTERVAL_MS: '100' } });
    try {
      const socket = new WebSocket(`${quick.url.replace('http', 'ws')}/ws/metrics`, { headers: bearer(adminKey), autoPong: false });
      const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
      // 1006: the server ended the connection without a closing handshake (terminate).
      expect(await closed).toBe(1006);
      const answering = new WebSocket(`${quick.url.replace('http', 'ws')}/ws/metrics?interval_ms=60000`, { headers: bearer(adminKey) });
      let pings = 0;
      answering.on('ping', () => pings++);
      await waitUntil(() => pings >= 3, { what: 'three pings answered' });
      expect(answering.readyState).toBe(WebSocket.OPEN);
      answering.close();
    } finally {
      await quick.stop();
    }
  });
});
