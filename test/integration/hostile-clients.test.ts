import { request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { startOpenAIFake, type OpenAIFake } from '../fakes/index.ts';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';

// Sockets on a real listening gateway, from 127.0.0.1 (the "attacker") and
// 127.0.0.2 (everyone else: Linux answers the whole of 127/8 on loopback).

interface HeldSocket {
  socket: Socket;
  received: string;
  closed: boolean;
}

function openSocket(port: number, firstBytes = ''): Promise<HeldSocket> {
  return new Promise((resolve, reject) => {
    const held: HeldSocket = { socket: connect({ port, host: '127.0.0.1' }), received: '', closed: false };
    held.socket.on('data', (chunk: Buffer) => (held.received += chunk.toString('latin1')));
    held.socket.on('close', () => (held.closed = true));
    held.socket.on('error', () => undefined);
    held.socket.once('connect', () => {
      if (firstBytes !== '') held.socket.write(firstBytes);
      resolve(held);
    });
    held.socket.once('error', reject);
  });
}

/** GET from a chosen local address, on a fresh connection. */
function getFrom(localAddress: string, url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(url, { localAddress, agent: false, headers }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    outgoing.on('error', reject);
    outgoing.end();
  });
}

const poll = { timeout: 30_000, interval: 50 };
const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describe('hostile clients: connection limits', () => {
  it('closes sockets from one address beyond its cap at once, and /health keeps answering others', async () => {
    // Head timeout far away: these sockets stay open for the whole test unless the cap closes them.
    const gateway = await startTestGateway({ env: { SWITCHYARD_MAX_CONNECTIONS_PER_ADDRESS: '100', SWITCHYARD_CLIENT_HEADERS_TIMEOUT_MS: '600000', SWITCHYARD_CLIENT_REQUEST_TIMEOUT_MS: '600000' } });
    cleanups.push(() => gateway.stop());
    const port = Number(new URL(gateway.url).port);
    const held: HeldSocket[] = [];
    cleanups.push(() => held.forEach((entry) => entry.socket.destroy()));
    for (let index = 0; index < 150; index++) held.push(await openSocket(port));

    await expect.poll(() => held.filter((entry) => entry.closed).length, poll).toBe(50);
    expect(held.slice(0, 100).every((entry) => !entry.closed)).toBe(true);
    expect(held.slice(100).every((entry) => entry.received === '')).toBe(true);

    expect(await getFrom('127.0.0.2', `${gateway.url}/health`)).toEqual({ status: 200, body: '{"status":"ok"}' });
    const metrics = await getFrom('127.0.0.2', `${gateway.url}/metrics`, { authorization: `Bearer ${adminKey}` });
    expect(metrics.body).toMatch(/^http_connections_refused_total\{reason="per_address"\} 50$/m);
    // The attacker's own address is at its cap until it lets go.
    await expect(getFrom('127.0.0.1', `${gateway.url}/health`)).rejects.toThrow();
    for (const entry of held) entry.socket.destroy();
    await expect.poll(() => getFrom('127.0.0.1', `${gateway.url}/health`).then((answer) => answer.status, () => 0), poll).toBe(200);
  });
});

describe('hostile clients: timeouts', () => {
  let gateway: TestGateway;
  let fake: OpenAIFake;

  it('closes silent and slow-header sockets after the head timeout with 408, while /health answers', async () => {
    [gateway, fake] = await Promise.all([
      startTestGateway({ env: { SWITCHYARD_CLIENT_HEADERS_TIMEOUT_MS: '400', SWITCHYARD_CLIENT_REQUEST_TIMEOUT_MS: '800', SWITCHYARD_CLIENT_KEEP_ALIVE_TIMEOUT_MS: '400' } }),
      startOpenAIFake({ flavor: 'vllm', models: [{ id: 'yi34b', contextLength: 4096 }], behaviour: { tokenIntervalMs: 150 } }),
    ]);
    cleanups.push(() => gateway.stop(), () => fake.stop());
    const port = Number(new URL(gateway.url).port);
    const held: HeldSocket[] = [];
    cleanups.push(() => held.forEach((entry) => entry.socket.destroy()));
    for (let index = 0; index < 200; index++) held.push(await openSocket(port));
    // Slow loris: a head that never ends.
    held.push(await openSocket(port, 'GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: '));
    expect((await fetch(`${gateway.url}/health`)).status).toBe(200);

    await expect.poll(() => held.filter((entry) => entry.closed).length, poll).toBe(held.length);
    for (const entry of held) expect(entry.received).toMatch(/^HTTP\/1\.1 408 /);
    expect((await fetch(`${gateway.url}/health`)).status).toBe(200);
  });

  it('cuts a request body that trickles in past the request timeout', async () => {
    const held = await openSocket(
      Number(new URL(gateway.url).port),
      `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${adminKey}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"model":"yi34b",`,
    );
    const trickle = setInterval(() => held.socket.write(' '), 50);
    cleanups.push(() => clearInterval(trickle));
    await expect.poll(() => held.closed, poll).toBe(true);
    clearInterval(trickle);
    expect(held.received).toMatch(/^HTTP\/1\.1 408 /);
    expect(fake.requests.filter((recorded) => recorded.path === '/v1/chat/completions')).toHaveLength(0);
  });

  it('does not cut a streamed answer that lasts longer than every client timeout', async () => {
    await gateway.api('POST', '/api/v1/model-servers', { name: 'gpu', server_type: 'vllm', base_url: fake.url });
    await gateway.api('POST', '/api/v1/model-servers/health-check-all');
    // The fake sends a token every 150 ms: the stream outlasts the 800 ms request timeout by construction.
    fake.setReply('one two three four five six seven eight nine ten eleven twelve');
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'yi34b', stream: true, messages: [{ role: 'user', content: 'count' }] }),
    });
    expect(response.status).toBe(200);
    const text = await response.text();
    const content = text
      .split('\n')
      .filter((line) => line.startsWith('data: {'))
      .map((line) => (JSON.parse(line.slice(6)) as { choices: Array<{ delta: { content?: string } }> }).choices[0]?.delta.content ?? '')
      .join('');
    expect(content).toBe('one two three four five six seven eight nine ten eleven twelve');
    expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
  });
});
