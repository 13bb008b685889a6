import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAIFake, type OpenAIFake } from '../fakes/index.ts';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';

let gateway: TestGateway;
let upstream: OpenAIFake;

beforeAll(async () => {
  [gateway, upstream] = await Promise.all([startTestGateway(), startOpenAIFake({ flavor: 'vllm' })]);
  await gateway.api('POST', '/api/v1/model-servers', { name: 'victim', server_type: 'vllm', base_url: upstream.url, api_key: 'sk-upstream-hostile-canary' });
  await gateway.api('POST', '/api/v1/model-servers/health-check-all');
});

afterAll(async () => {
  await Promise.all([gateway.stop(), upstream.stop()]);
});

/** Everything that could have been stored or forwarded, counted. */
async function footprint(): Promise<string> {
  const db = gateway.gateway.database.db;
  const counts = await Promise.all(
    (['model_servers', 'api_keys', 'routes', 'webhooks'] as const).map(async (table) => `${table}=${(await db.selectFrom(table).selectAll().execute()).length}`),
  );
  const forwarded = upstream.requests.filter((request) => request.method === 'POST').length;
  return `${counts.join(',')},forwarded=${forwarded}`;
}

const auth = { authorization: `Bearer ${adminKey}` };
const json = { ...auth, 'content-type': 'application/json' };
const nested = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
const chat = (extra: Record<string, unknown>) => JSON.stringify({ model: 'yi34b', messages: [{ role: 'user', content: 'x' }], ...extra });

type Case = [label: string, method: string, path: string, headers: Record<string, string>, body: string | Buffer | undefined, status: number];

const cases: Case[] = [
  // Authentication
  ['no key on the admin API', 'GET', '/api/v1/model-servers', {}, undefined, 401],
  ['an empty bearer token', 'GET', '/api/v1/model-servers', { authorization: 'Bearer ' }, undefined, 401],
  ['a 64 KB key', 'GET', '/api/v1/model-servers', { authorization: `Bearer ${'k'.repeat(65_536)}` }, undefined, 401],
  ['a key laced with SQL', 'GET', '/api/v1/keys', { authorization: "Bearer ' OR 1=1; --" }, undefined, 401],
  ['Basic instead of Bearer', 'GET', '/api/v1/keys', { authorization: `Basic ${Buffer.from(`admin:${adminKey}`).toString('base64')}` }, undefined, 401],
  ['a key in the query string', 'GET', `/api/v1/keys?api_key=${adminKey}`, {}, undefined, 401],
  ['no key on /v1', 'POST', '/v1/chat/completions', { 'content-type': 'application/json' }, chat({}), 401],
  // Bad bodies
  ['invalid JSON', 'POST', '/api/v1/model-servers', json, '{"name": "x",', 400],
  ['an empty body', 'POST', '/api/v1/model-servers', json, '', 400],
  ['a JSON array instead of an object', 'POST', '/api/v1/model-servers', json, '[]', 400],
  ['a bare JSON string', 'POST', '/api/v1/model-servers', json, '"hello"', 400],
  ['a __proto__ key', 'POST', '/api/v1/model-servers', json, '{"name":"p","base_url":"http://10.0.0.1","__proto__":{"admin":true}}', 400],
  ['a constructor.prototype key', 'POST', '/api/v1/model-servers', json, '{"name":"p","base_url":"http://10.0.0.1","constructor":{"prototype":{"admin":true}}}', 400],
  ['JSON nested 1,000 levels deep', 'POST', '/api/v1/model-servers', json, nested(1_000), 400],
  ['a 2 MB admin body', 'POST', '/api/v1/model-servers', json, JSON.stringify({ name: 'big', base_url: 'http://10.0.0.1', metadata: { blob: 'x'.repeat(2_000_000) } }), 413],
  ['an 11 MB inference body', 'POST', '/v1/embeddings', json, JSON.stringify({ model: 'yi34b', input: 'x'.repeat(11 * 1_048_576) }), 413],
  ['invalid UTF-8', 'POST', '/api/v1/model-servers', json, Buffer.from([0x7b, 0x22, 0x6e, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]), 400],
  ['a text/plain body', 'POST', '/api/v1/model-servers', { ...auth, 'content-type': 'text/plain' }, 'name=x', 415],
  ['an unknown field', 'POST', '/api/v1/model-servers', json, JSON.stringify({ name: 'u', base_url: 'http://10.0.0.1', server_type: 'vllm', is_admin: true }), 400],
  ['a number where a name belongs', 'POST', '/api/v1/model-servers', json, JSON.stringify({ name: 42, base_url: 'http://10.0.0.1', server_type: 'vllm' }), 400],
  ['a negative max_tokens', 'POST', '/v1/chat/completions', json, chat({ max_tokens: -1 }), 400],
  ['messages that are a string', 'POST', '/v1/chat/completions', json, JSON.stringify({ model: 'yi34b', messages: 'hi' }), 400],
  ['prototype pollution on /v1', 'POST', '/v1/chat/completions', json, '{"model":"yi34b","messages":[{"role":"user","content":"x"}],"__proto__":{"x":1}}', 400],
  ['a deeply nested /v1 body', 'POST', '/v1/chat/completions', json, `{"model":"yi34b","messages":[{"role":"user","content":${nested(200)}}]}`, 400],
  // SSRF
  ['a metadata base_url', 'POST', '/api/v1/model-servers', json, JSON.stringify({ name: 's1', server_type: 'openai', base_url: 'http://169.254.169.254/' }), 400],
  ['a mapped-IPv6 metadata base_url', 'POST', '/api/v1/model-servers', json, JSON.stringify({ name: 's2', server_type: 'openai', base_url: 'http://[::ffff:169.254.169.254]/' }), 400],
  ['a file: base_url', 'POST', '/api/v1/model-servers', json, JSON.stringify({ name: 's3', server_type: 'openai', base_url: 'file:///etc/passwd' }), 400],
  ['a gopher: base_url', 'POST', '/api/v1/model-servers', json, JSON.stringify({ name: 's4', server_type: 'openai', base_url: 'gopher://10.0.0.1:70/' }), 400],
  ['credentials in the base_url', 'POST', '/api/v1/model-servers', json, JSON.stringify({ name: 's5', server_type: 'openai', base_url: 'http://user:pass@10.0.0.1/' }), 400],
  ['a webhook to the metadata address', 'POST', '/api/v1/webhooks', json, JSON.stringify({ url: 'http://169.254.169.254/', events: ['server.down'], secret: 'x'.repeat(20) }), 400],
  ['a webhook with a javascript: URL', 'POST', '/api/v1/webhooks', json, JSON.stringify({ url: 'javascript:alert(1)', events: ['server.down'], secret: 'x'.repeat(20) }), 400],
  // Injection in names and headers
  ['a server name with CRLF', 'POST', '/api/v1/model-servers', json, JSON.stringify({ name: 'a\r\nx-evil: 1', server_type: 'vllm', base_url: 'http://10.0.0.1' }), 400],
  ['a server name with markup', 'POST', '/api/v1/model-servers', json, JSON.stringify({ name: '<script>alert(1)</script>', server_type: 'vllm', base_url: 'http://10.0.0.1' }), 400],
  ['a route name with a newline', 'POST', '/api/v1/routes', json, JSON.stringify({ name: 'gpt\n4', targets: ['yi34b'] }), 400],
  ['a model name with a control character', 'POST', '/v1/chat/completions', json, chat({ model: 'yi34b\u0000' }), 400],
  ['a model name that climbs paths', 'POST', '/v1/chat/completions', json, chat({ model: '../../admin' }), 400],
  ['a model name with a backslash', 'POST', '/v1/chat/completions', json, chat({ model: 'yi34b\\..\\x' }), 400],
  ['a 201-character key name', 'POST', '/api/v1/keys', json, JSON.stringify({ name: 'k'.repeat(201), scopes: ['read'] }), 400],
  ['an unknown scope', 'POST', '/api/v1/keys', json, JSON.stringify({ name: 'k', scopes: ['root'] }), 400],
  ['SQL in a query filter', 'GET', "/api/v1/audit?limit=1;DROP%20TABLE%20audit_log", auth, undefined, 400],
  ['an encoded path traversal as an id', 'GET', '/api/v1/model-servers/..%2F..%2Fetc%2Fpasswd', auth, undefined, 404],
  ['broken percent-encoding in a path parameter', 'GET', '/api/v1/model-servers/%E0%A4%A', auth, undefined, 400],
  ['a 300-character path parameter', 'GET', `/api/v1/model-servers/${'a'.repeat(300)}`, auth, undefined, 414],
  ['an unknown path under /v1', 'POST', '/v1/engines/davinci/completions', json, chat({}), 404],
  ['headers over the 96 KiB cap', 'GET', '/api/v1/model-servers', { ...auth, 'x-padding': 'p'.repeat(100 * 1024) }, undefined, 431],
];

describe('hostile input', () => {
  it.each(cases)('answers %s with its exact status, storing and forwarding nothing', async (_label, method, path, headers, body, status) => {
    const before = await footprint();
    const response = await fetch(`${gateway.url}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
    const text = await response.text();
    expect(response.status, text.slice(0, 300)).toBe(status);
    // Every answer is ours: a catalogue code, never one of Fastify's.
    expect(text).not.toMatch(/FST_/);
    if (status !== 413 || text.startsWith('{')) expect(JSON.parse(text).error).toMatchObject({ message: expect.any(String), code: expect.stringMatching(/^(SY_[A-Z_]+|model_not_found)$/) });
    expect(text).not.toContain('sk-upstream-hostile-canary');
    expect(await footprint()).toBe(before);
  });

  it('rejects a request whose header carries raw control characters, at the HTTP parser', async () => {
    const port = Number(new URL(gateway.url).port);
    const answer = await new Promise<string>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.write(`GET /api/v1/model-servers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${adminKey}\r\nX-Evil: a\u0001b\r\n\r\n`);
      });
      let data = '';
      socket.on('data', (chunk) => (data += chunk.toString()));
      socket.on('close', () => resolve(data));
      socket.on('end', () => socket.destroy());
    });
    expect(answer.split('\r\n')[0]).toMatch(/^HTTP\/1\.1 400/);
    expect(answer).toContain('"code":"SY_BAD_HTTP_REQUEST"');
    expect(answer).not.toMatch(/FST_/);
  });

  it('replaces a request id that is not a safe token rather than echoing it into headers and logs', async () => {
    const response = await fetch(`${gateway.url}/health`, { headers: { 'x-request-id': 'a'.repeat(500) } });
    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const spaced = await fetch(`${gateway.url}/health`, { headers: { 'x-request-id': 'id with spaces' } });
    expect(spaced.headers.get('x-request-id')).not.toBe('id with spaces');
  });
});
