import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';

let gateway: TestGateway;

beforeAll(async () => {
  gateway = await startTestGateway();
});

afterAll(async () => {
  await gateway.stop();
});

async function signIn(key: string): Promise<{ status: number; cookie: string | null; setCookie: string }> {
  const response = await fetch(`${gateway.url}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key }) });
  const setCookie = response.headers.get('set-cookie') ?? '';
  return { status: response.status, cookie: /sy_session=([^;]+)/.exec(setCookie)?.[1] ?? null, setCookie };
}

describe('console sessions', () => {
  it('trade a key for an httpOnly, SameSite=Strict cookie that works for reads, same-origin changes and /v1', async () => {
    const { status, cookie, setCookie } = await signIn(adminKey);
    expect(status).toBe(201);
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Strict/i);
    expect(setCookie).not.toContain(adminKey);
    const headers = { cookie: `sy_session=${cookie}` };
    expect((await fetch(`${gateway.url}/api/v1/session`, { headers })).status).toBe(200);
    expect((await fetch(`${gateway.url}/api/v1/model-servers`, { headers })).status).toBe(200);
    expect((await fetch(`${gateway.url}/v1/models`, { headers })).status).toBe(200);
    const sameOrigin = await fetch(`${gateway.url}/api/v1/routes`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json', origin: gateway.url },
      body: JSON.stringify({ name: 'from-console', targets: ['x'] }),
    });
    expect(sameOrigin.status).toBe(201);
  });

  it('refuses a change carrying the cookie from another origin, a wrong key, and a signed-out or revoked session', async () => {
    expect((await signIn('sk-sy-wrong')).status).toBe(401);
    const { cookie } = await signIn(adminKey);
    const headers = { cookie: `sy_session=${cookie}` };
    const crossSite = await fetch(`${gateway.url}/api/v1/routes`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json', origin: 'http://evil.example' },
      body: JSON.stringify({ name: 'csrf', targets: ['x'] }),
    });
    expect(crossSite.status).toBe(401);
    expect((await fetch(`${gateway.url}/api/v1/session`, { method: 'DELETE', headers })).status).toBe(204);
    expect((await fetch(`${gateway.url}/api/v1/model-servers`, { headers })).status).toBe(401);

    const reader = (await gateway.api('POST', '/api/v1/keys', { name: 'console-reader', scopes: ['read'] })).body;
    const readerSession = await signIn(reader.key);
    const readerHeaders = { cookie: `sy_session=${readerSession.cookie}` };
    expect((await fetch(`${gateway.url}/api/v1/model-servers`, { headers: readerHeaders })).status).toBe(200);
    expect((await fetch(`${gateway.url}/api/v1/keys`, { method: 'POST', headers: { ...readerHeaders, 'content-type': 'application/json' }, body: '{"name":"x","scopes":["admin"]}' })).status).toBe(403);
    await gateway.api('DELETE', `/api/v1/keys/${reader.id}`);
    expect((await fetch(`${gateway.url}/api/v1/model-servers`, { headers: readerHeaders })).status).toBe(401);
  });

  it('serves the built console at /ui and sends / there', async () => {
    const root = await fetch(`${gateway.url}/`, { redirect: 'manual' });
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/ui/');
    const page = await fetch(`${gateway.url}/ui/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<div id="root"></div>');
    expect((await fetch(`${gateway.url}/ui/keys`)).status).toBe(200);
  });
});
