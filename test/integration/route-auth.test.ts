import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';

let gateway: TestGateway;
let keys: Record<'inference' | 'read' | 'admin', string>;

beforeAll(async () => {
  gateway = await startTestGateway();
  keys = { admin: adminKey, inference: '', read: '' };
  for (const scope of ['inference', 'read'] as const) {
    keys[scope] = (await gateway.api('POST', '/api/v1/keys', { name: `${scope}-key`, scopes: [scope] })).body.key;
  }
});

afterAll(async () => {
  await gateway.stop();
});

const headerStyles = [(key: string) => ({ authorization: `Bearer ${key}` }), (key: string) => ({ 'x-api-key': key }), (key: string) => ({ 'api-key': key })];
// /favicon.ico redirects to the console's icon, which is as open as the console.
// /integrations/status answers a summary without a key (a detail with one).
const open = new Set(['/health', '/ready', '/', '/favicon.ico', '/integrations/status', '/proto/gateway/model_service.proto']);

/** The scope a route needs, by the rules in the README; null for open routes. */
function needed(method: string, url: string): 'inference' | 'read' | 'admin' | 'read or inference' | null | 'session' {
  if (open.has(url) || url === '/ui' || url.startsWith('/ui/')) return null;
  // The published API document and its docs page are public: they hold no secret.
  if (url === '/openapi.json' || url === '/docs' || url.startsWith('/docs/')) return null;
  if (url === '/api/v1/session') return 'session';
  // WebSocket endpoints: a plain request is authenticated as REST, then told to upgrade (426).
  if (url === '/ws/chat') return 'inference';
  if (url === '/ws/models') return 'read or inference';
  if (url === '/ws/metrics') return 'read';
  // GraphQL answers 200 with per-field errors: each field's scope is tested in graphql-api.test.ts.
  if (url === '/graphql') return null;
  // The model REST API: status for read or inference keys, generate for inference keys.
  if (url === '/api/v1/models/status' || url === '/api/v1/models/status/events' || url === '/api/v1/models/:model/status') return 'read or inference';
  if (url === '/api/v1/models/:model/generate') return 'inference';
  // /v1 aliases of the admin API's model reports keep its scopes.
  if (['/v1/models/registry', '/v1/models/performance', '/v1/models/benchmark'].includes(url)) return method === 'GET' || method === 'HEAD' ? 'read' : 'admin';
  if (url.startsWith('/v1/')) return 'inference';
  // Ollama's API: inference and listing for inference keys; pull, delete and copy change the fleet.
  if (url.startsWith('/api/') && !url.startsWith('/api/v1/')) return ['/api/pull', '/api/delete', '/api/copy'].includes(url) ? 'admin' : 'inference';
  if (url === '/metrics') return 'read';
  // Reading a model's vectors is inference; writing them takes vectors:write, which of these keys only admin holds.
  if (url === '/api/v1/models/*' && (method === 'GET' || method === 'HEAD')) return 'inference';
  return method === 'GET' || method === 'HEAD' ? 'read' : 'admin';
}

describe('authentication on every route', () => {
  it('is generated from the route table and checks every route × method × header style', async () => {
    const routes = gateway.gateway.app.routeTable.filter((route) => route.method !== 'OPTIONS');
    expect(routes.length).toBeGreaterThan(25);
    const failures: string[] = [];
    for (const route of routes) {
      const path = route.url.replace(/:[a-z]+/g, '00000000-0000-4000-8000-000000000000').replace('*', 'some-model');
      const scope = needed(route.method, route.url);
      const send = async (headers: Record<string, string>) => {
        const body = ['POST', 'PUT', 'PATCH'].includes(route.method) ? '{}' : undefined;
        const response = await fetch(`${gateway.url}${path}`, { method: route.method, headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { body }) });
        // Headers are enough (and /api/v1/events never ends).
        await response.body?.cancel();
        return response.status;
      };
      const label = `${route.method} ${route.url}`;
      if (scope === 'session') continue; // signing in is how a key becomes a session: tested on its own
      if (scope === null) {
        const status = await send({});
        if (status === 401 || status === 403) failures.push(`${label}: open route refused`);
        continue;
      }
      if ((await send({})) !== 401) failures.push(`${label}: no key → not 401`);
      for (const style of headerStyles) {
        if ((await send(style('sk-sy-wrong-key'))) !== 401) failures.push(`${label}: wrong key → not 401`);
        for (const holder of ['inference', 'read', 'admin'] as const) {
          const status = await send(style(keys[holder]));
          const allowed = holder === 'admin' || holder === scope || (scope === 'read or inference' && (holder === 'read' || holder === 'inference'));
          if (allowed && (status === 401 || status === 403)) failures.push(`${label}: ${holder} key refused (${status})`);
          if (!allowed && status !== 403) failures.push(`${label}: ${holder} key → ${status}, expected 403`);
        }
      }
    }
    expect(failures).toEqual([]);
  });
});
