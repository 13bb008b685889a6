import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOllamaFake, type OllamaFake } from '../fakes/index.ts';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.ts';

let gateway: TestGateway;
let ollama: OllamaFake;

beforeAll(async () => {
  [gateway, ollama] = await Promise.all([startTestGateway(), startOllamaFake()]);
  const existing = await gateway.api('POST', '/api/v1/model-servers', { name: 'taken', server_type: 'ollama', base_url: ollama.url });
  expect(existing.status).toBe(201);
});

afterAll(async () => {
  await Promise.all([gateway.stop(), ollama.stop()]);
});

// Explicit kind: creating needs no answer from the URL.
const valid = () => ({ name: 'fresh', server_type: 'ollama', base_url: 'http://10.0.0.1:11434' });

async function serverCount(): Promise<number> {
  return (await gateway.api('GET', '/api/v1/model-servers')).body.data.length;
}

describe('bad input on POST /api/v1/model-servers', () => {
  it.each([
    ['invalid JSON', '{"name": "x",', 400, 'SY_INVALID_JSON', null],
    ['an unknown server_type', { ...valid(), server_type: 'tgi' }, 400, 'SY_INVALID_REQUEST', 'server_type'],
    ['a base_url that is not http(s)', { ...valid(), base_url: 'ftp://10.0.0.1/models' }, 400, 'SY_INVALID_REQUEST', 'base_url'],
    ['a base_url with credentials', { ...valid(), base_url: 'http://admin:hunter2@10.0.0.1:11434' }, 400, 'SY_INVALID_REQUEST', 'base_url'],
    ['a base_url that is not a URL', { ...valid(), base_url: 'localhost 11434' }, 400, 'SY_INVALID_REQUEST', 'base_url'],
    ['a missing name', { server_type: 'ollama', base_url: 'http://10.0.0.1:11434' }, 400, 'SY_INVALID_REQUEST', 'name'],
    ['an unknown field', { ...valid(), colour: 'red' }, 400, 'SY_INVALID_REQUEST', 'colour'],
    ['a wrongly typed field', { ...valid(), is_active: 'yes' }, 400, 'SY_INVALID_REQUEST', 'is_active'],
    ['an interval of zero', { ...valid(), health_check_interval_s: 0 }, 400, 'SY_INVALID_REQUEST', 'health_check_interval_s'],
    ['a name with a line break', { ...valid(), name: 'evil\r\nx-injected: 1' }, 400, 'SY_INVALID_REQUEST', 'name'],
    ['a __proto__ key', '{"name":"p","base_url":"http://10.0.0.1:1","__proto__":{"isAdmin":true}}', 400, 'SY_INVALID_REQUEST', null],
    ['a duplicate name', { ...valid(), name: 'taken' }, 409, 'SY_CONFLICT', 'name'],
    ['an empty body', '', 400, 'SY_INVALID_REQUEST', null],
  ])('rejects %s with a clear 4xx and stores nothing', async (_label, body, status, code, param) => {
    const before = await serverCount();
    const response = await gateway.api('POST', '/api/v1/model-servers', body);
    expect(response.status, response.text).toBe(status);
    expect(response.body.error).toMatchObject({ code, type: expect.any(String), message: expect.any(String) });
    expect(response.text).not.toMatch(/FST_/);
    if (param !== null) expect(response.body.error.param).toBe(param);
    expect(await serverCount()).toBe(before);
  });

  it('answers an oversize body with 413', async () => {
    const response = await gateway.api('POST', '/api/v1/model-servers', { ...valid(), metadata: { blob: 'x'.repeat(1_100_000) } });
    expect(response.status).toBe(413);
    expect(response.body.error.code).toBe('SY_BODY_TOO_LARGE');
  });

  it('answers a non-JSON content type with 415', async () => {
    const response = await gateway.api('POST', '/api/v1/model-servers', 'name=x', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(response.status).toBe(415);
    expect(response.body.error.code).toBe('SY_UNSUPPORTED_MEDIA_TYPE');
  });

  it('rejects a rename onto an existing name and a bad base_url on update, changing nothing', async () => {
    const created = await gateway.api('POST', '/api/v1/model-servers', { ...valid(), name: 'second' });
    const id = created.body.id;
    expect((await gateway.api('PUT', `/api/v1/model-servers/${id}`, { name: 'taken' })).status).toBe(409);
    expect((await gateway.api('PUT', `/api/v1/model-servers/${id}`, { base_url: 'gopher://x' })).status).toBe(400);
    expect((await gateway.api('PUT', `/api/v1/model-servers/${id}`, { api_key: '' })).status).toBe(400);
    expect((await gateway.api('PUT', `/api/v1/model-servers/${id}`, { colour: 'red' })).body.error).toMatchObject({ param: 'colour' });
    expect((await gateway.api('PUT', `/api/v1/model-servers/${id}`, { server_type: 'tgi' })).status).toBe(400);
    const after = await gateway.api('GET', `/api/v1/model-servers/${id}`);
    expect(after.body).toMatchObject({ name: 'second', base_url: 'http://10.0.0.1:11434' });
    await gateway.api('DELETE', `/api/v1/model-servers/${id}`);
  });

  it('answers an unknown route with a JSON 404', async () => {
    const response = await gateway.api('GET', '/api/v1/nothing-here');
    expect(response.status).toBe(404);
    expect(response.body.error).toMatchObject({ type: 'not_found_error', code: 'SY_ROUTE_NOT_FOUND' });
  });
});
