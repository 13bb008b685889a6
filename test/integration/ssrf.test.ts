import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UpstreamHttp } from '../../src/data/upstream/upstream-http.ts';
import { guardedConnector } from '../../src/security/guarded-connector.ts';
import { NetworkPolicy, normalizeAddress } from '../../src/security/network-policy.ts';
import { startOpenAIFake, type OpenAIFake } from '../fakes/index.ts';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.ts';

let gateway: TestGateway;
let strict: TestGateway;
let fake: OpenAIFake;

beforeAll(async () => {
  [gateway, strict, fake] = await Promise.all([
    startTestGateway(),
    startTestGateway({ env: { SWITCHYARD_DENY_NETS: '127.0.0.0/8,169.254.0.0/16,::1/128' } }),
    startOpenAIFake({ flavor: 'vllm' }),
  ]);
});

afterAll(async () => {
  await Promise.all([gateway.stop(), strict.stop(), fake.stop()]);
});

describe('server URLs and the network policy', () => {
  it.each([
    ['the metadata address', 'http://169.254.169.254/latest/meta-data'],
    ['an IPv4-mapped IPv6 spelling of it', 'http://[::ffff:169.254.169.254]/'],
    ['its hex spelling', 'http://0xa9fea9fe/'],
    ['its decimal spelling', 'http://2852039166/'],
    ['the AWS IPv6 metadata address', 'http://[fd00:ec2::254]/'],
    ['an IPv6 link-local address', 'http://[fe80::1]:8080/'],
    ['the Alibaba Cloud metadata address', 'http://100.100.100.200/latest/meta-data'],
    ['the metadata address through NAT64', 'http://[64:ff9b::169.254.169.254]/'],
    ['the metadata address through local-use NAT64', 'http://[64:ff9b:1::a9fe:a9fe]/'],
    ['an IPv4-compatible spelling of it', 'http://[::169.254.169.254]/'],
    ['a 6to4 spelling of it', 'http://[2002:a9fe:a9fe::]/'],
  ])('refuses %s by default, storing nothing', async (_label, url) => {
    const response = await gateway.api('POST', '/api/v1/model-servers', { name: 'ssrf', server_type: 'openai', base_url: url });
    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({ param: 'base_url', message: expect.stringMatching(/may not connect to/) });
    expect((await gateway.api('GET', '/api/v1/model-servers')).body.data).toEqual([]);
  });

  it('allows private and loopback ranges by default: model servers live there', async () => {
    const response = await gateway.api('POST', '/api/v1/model-servers', { name: 'private', server_type: 'openai', base_url: 'http://10.1.2.3:8000' });
    expect(response.status).toBe(201);
    await gateway.api('DELETE', `/api/v1/model-servers/${response.body.id}`);
  });

  it('applies SWITCHYARD_DENY_NETS to names (after resolving them) and to alternate spellings', async () => {
    const port = new URL(fake.url).port;
    for (const url of [`http://127.0.0.1:${port}`, `http://localhost:${port}`, `http://2130706433:${port}`, `http://0x7f000001:${port}`, `http://[::1]:${port}`]) {
      const response = await strict.api('POST', '/api/v1/model-servers', { name: 'local', server_type: 'vllm', base_url: url });
      expect(response.status, url).toBe(400);
    }
    // An update may not move a server there either.
    const elsewhere = await strict.api('POST', '/api/v1/model-servers', { name: 'elsewhere', server_type: 'vllm', base_url: 'http://10.9.9.9:8000' });
    expect((await strict.api('PUT', `/api/v1/model-servers/${elsewhere.body.id}`, { base_url: `http://localhost:${port}` })).status).toBe(400);
    expect(fake.requests.filter((request) => request.path !== '/metrics')).toHaveLength(0);
  });

  it('checks again at connect time, on the address the name resolves to then (DNS rebinding)', async () => {
    const policy = new NetworkPolicy({ denyNets: '127.0.0.0/8,::1/128' });
    const http = new UpstreamHttp({ connector: guardedConnector(policy, { timeout: 1_000 }) });
    const port = new URL(fake.url).port;
    fake.resetRequests();
    for (const url of [`http://localhost:${port}/v1/models`, `http://127.0.0.1:${port}/v1/models`]) {
      await expect(http.json({ url, timeoutMs: 1_000 })).rejects.toThrow(/network policy/);
    }
    expect(fake.requests).toHaveLength(0);
    await http.close();
  });

  it('reads IPv4-mapped IPv6 addresses as the IPv4 address they are', () => {
    expect(normalizeAddress('::ffff:169.254.169.254')).toBe('169.254.169.254');
    expect(normalizeAddress('[::ffff:a9fe:a9fe]')).toBe('169.254.169.254');
    expect(normalizeAddress('0:0:0:0:0:ffff:a9fe:a9fe')).toBe('169.254.169.254');
    expect(new NetworkPolicy().reasonToDeny('::ffff:a9fe:a9fe')).toMatch(/169\.254\.169\.254/);
    expect(new NetworkPolicy().reasonToDeny('10.0.0.1')).toBeNull();
    expect(new NetworkPolicy({ allowNets: '10.0.0.0/8' }).reasonToDeny('192.168.1.1')).toMatch(/outside the allowed networks/);
  });

  it('never follows a redirect, so a stored key cannot be bounced to another host', async () => {
    const server = await gateway.api('POST', '/api/v1/model-servers', { name: 'redirecting', server_type: 'vllm', base_url: fake.url, api_key: 'sk-upstream-redirect-canary' });
    await gateway.api('POST', '/api/v1/model-servers/health-check-all');
    await fake.setFault({ kind: 'status', status: 302, headers: { location: 'http://169.254.169.254/steal' }, body: '' }, ['/v1/chat/completions']);
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${'sk-sy-test-admin-key-0123456789abcdef'}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'yi34b', messages: [{ role: 'user', content: 'x' }] }),
    });
    expect(response.status).toBe(502);
    expect(await response.text()).toMatch(/redirect/);
    await fake.clearFault();
    await gateway.api('DELETE', `/api/v1/model-servers/${server.body.id}`);
  });

  it('drops a stored key when a server moves to another origin without a new key', async () => {
    const server = await gateway.api('POST', '/api/v1/model-servers', { name: 'moving', server_type: 'vllm', base_url: 'http://10.0.0.1:8000', api_key: 'sk-upstream-origin-canary' });
    expect(server.body.has_api_key).toBe(true);
    const samePlace = await gateway.api('PUT', `/api/v1/model-servers/${server.body.id}`, { base_url: 'http://10.0.0.1:8000/' });
    expect(samePlace.body.has_api_key).toBe(true);
    const moved = await gateway.api('PUT', `/api/v1/model-servers/${server.body.id}`, { base_url: 'http://10.0.0.2:8000' });
    expect(moved.body.has_api_key).toBe(false);
    await gateway.api('DELETE', `/api/v1/model-servers/${server.body.id}`);
  });
});
