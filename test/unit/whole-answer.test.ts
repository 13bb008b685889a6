import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestWhole } from '../../src/data/proxy/whole-answer.ts';
import { UpstreamError } from '../../src/data/upstream/upstream-error.ts';

// The non-streamed upstream call's reader (undici dispatch, no stream object), against a real
// server on a loopback socket: what it answers, where it stops, and how it fails.

let server: Server;
let origin: string;
const connections = new Set<unknown>();
let connectionCount = 0;
// One connection: a second request reuses it unless the first left it unusable.
let client: Client;

beforeAll(async () => {
  server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      if (request.url === '/json') {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.write('{"a":');
        response.end('1}');
      } else if (request.url === '/large') {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end('x'.repeat(4_096));
      } else if (request.url === '/cut') {
        response.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
        response.write('{"a":');
        setImmediate(() => response.socket?.destroy());
      } else if (request.url === '/error') {
        response.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' });
        response.end('{"error":"busy"}');
      }
      // '/silent' answers nothing.
    });
  });
  server.on('connection', (socket) => {
    connectionCount++;
    connections.add(socket);
    socket.on('close', () => connections.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  client = new Client(origin, { keepAliveTimeout: 30_000 });
});

afterAll(async () => {
  await client.destroy();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const post = (path: string, signal = new AbortController().signal, limit = 1_024) =>
  requestWhole(client, { origin, path, method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }, signal, limit, `POST ${path}`);

describe('requestWhole', () => {
  it('answers the head, then the whole body however it was split', async () => {
    const answer = await post('/json');
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toBe('application/json');
    expect((await answer.bytes).toString()).toBe('{"a":1}');
  });

  it('refuses a body past the limit as a protocol failure', async () => {
    const answer = await post('/large');
    await expect(answer.bytes).rejects.toBeInstanceOf(UpstreamError);
    await expect(answer.bytes).rejects.toMatchObject({ failure: 'protocol', message: 'POST /large: answer larger than 1024 bytes' });
  });

  it('fails the body with undici\'s socket error when the server hangs up mid-body', async () => {
    const answer = await post('/cut');
    await expect(answer.bytes).rejects.toMatchObject({ code: 'UND_ERR_SOCKET' });
  });

  it('rejects with the signal\'s reason when aborted before the head', async () => {
    const controller = new AbortController();
    const pending = post('/silent', controller.signal);
    const reason = new DOMException('deadline', 'TimeoutError');
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
  });

  it('drops a discarded small body and keeps the connection for the next request', async () => {
    await (await post('/json')).bytes;
    const before = connectionCount;
    const answer = await post('/error');
    expect(answer.status).toBe(503);
    expect(answer.headers['retry-after']).toBe('1');
    answer.discard();
    // The body may be in already (one packet with the head); either way it is read to its end.
    await answer.bytes;
    expect((await (await post('/json')).bytes).toString()).toBe('{"a":1}');
    expect(connectionCount).toBe(before);
  });
});
