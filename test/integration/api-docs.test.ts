import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';

// The published OpenAPI document is generated from the routes' schemas: a route
// registered without one (no summary, so nobody described it) fails here.
let gateway: TestGateway;
let document: any;
const keys: Record<'inference' | 'read', string> = { inference: '', read: '' };

beforeAll(async () => {
  gateway = await startTestGateway();
  for (const scope of ['inference', 'read'] as const) keys[scope] = (await gateway.api('POST', '/api/v1/keys', { name: `docs-${scope}`, scopes: [scope] })).body.key;
  const response = await fetch(`${gateway.url}/openapi.json`);
  expect(response.status).toBe(200);
  document = await response.json();
});

afterAll(async () => {
  await gateway.stop();
});

/** Not API: the console's pages and files, and the docs themselves (explicit, and nothing else). */
function isExcluded(url: string): boolean {
  return url === '/' || url === '/favicon.ico' || url === '/ui' || url.startsWith('/ui/') || url === '/docs' || url.startsWith('/docs/') || url === '/openapi.json';
}

function documentPath(url: string): string {
  return url.replace(/:([A-Za-z_]+)/g, '{$1}').replace(/\*$/, '{*}');
}

const documentedRoutes = () => gateway.gateway.app.routeTable.filter((route) => route.method !== 'HEAD' && route.method !== 'OPTIONS' && !isExcluded(route.url));

describe('the published API document', () => {
  it('is OpenAPI 3.1 with the ways to authenticate', () => {
    expect(document.openapi).toBe('3.1.0');
    expect(Object.keys(document.components.securitySchemes).sort()).toEqual(['apiKeyHeader', 'bearerKey', 'sessionCookie']);
    expect(document.info.title).toBe('Switchyard');
  });

  it('describes every registered route, each with a summary, tags and the scope it needs', () => {
    const routes = documentedRoutes();
    expect(routes.length).toBeGreaterThan(100);
    const undocumented = routes.filter((route) => {
      const operation = document.paths[documentPath(route.url)]?.[route.method.toLowerCase()];
      return operation === undefined || typeof operation.summary !== 'string' || operation.summary === '' || !Array.isArray(operation.tags) || typeof operation['x-switchyard-scope'] !== 'string';
    });
    expect(undocumented.map((route) => `${route.method} ${route.url}`)).toEqual([]);
  });

  it('carries the request schemas: bodies with their required fields, path parameters', () => {
    const messages = document.paths['/v1/messages'].post;
    expect(messages.requestBody.content['application/json'].schema.required).toEqual(expect.arrayContaining(['model', 'max_tokens', 'messages']));
    expect(document.paths['/api/chat'].post.requestBody.content['application/json'].schema.required).toEqual(['model']);
    expect(document.paths['/api/v1/keys'].post.requestBody.content['application/json'].schema.properties.scopes).toBeDefined();
    expect(document.paths['/api/v1/routes/{id}'].get.parameters).toEqual([expect.objectContaining({ name: 'id', in: 'path', required: true })]);
    expect(document.paths['/v1/responses'].post.tags).toEqual(['OpenAI Responses API']);
  });

  it('marks the open routes as needing no key, and the others with their scope', () => {
    expect(document.paths['/health'].get.security).toEqual([]);
    expect(document.paths['/integrations/status'].get.security).toEqual([]);
    expect(document.paths['/v1/chat/completions'].post.security).toBeUndefined();
    expect(document.paths['/v1/chat/completions'].post['x-switchyard-scope']).toBe('inference');
    expect(document.paths['/api/pull'].post['x-switchyard-scope']).toBe('admin');
    expect(document.paths['/api/v1/keys'].get['x-switchyard-scope']).toBe('read');
  });

  it('states the scope the gateway really asks for: a key of that scope is admitted, on every route that needs one scope', async () => {
    const wrong: string[] = [];
    for (const route of documentedRoutes()) {
      const scope = document.paths[documentPath(route.url)][route.method.toLowerCase()]['x-switchyard-scope'] as string;
      if (scope !== 'inference' && scope !== 'read' && scope !== 'admin') continue;
      const path = route.url.replace(/:[A-Za-z_]+/g, '00000000-0000-4000-8000-000000000000').replace('*', 'some-model');
      const key = scope === 'admin' ? adminKey : keys[scope];
      const body = ['POST', 'PUT', 'PATCH'].includes(route.method) ? '{}' : undefined;
      const response = await fetch(`${gateway.url}${path}`, { method: route.method, headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { body }) });
      await response.body?.cancel();
      if (response.status === 401 || response.status === 403) wrong.push(`${route.method} ${route.url}: documented ${scope}, refused ${response.status}`);
      if (scope !== 'admin') {
        const other = scope === 'read' ? keys.inference : keys.read;
        const refused = await fetch(`${gateway.url}${path}`, { method: route.method, headers: { authorization: `Bearer ${other}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { body }) });
        await refused.body?.cancel();
        if (refused.status !== 403) wrong.push(`${route.method} ${route.url}: documented ${scope}, another scope got ${refused.status}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('serves the docs page and its assets from the gateway', async () => {
    const page = await fetch(`${gateway.url}/docs/`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('swagger-ui');
    expect(html).not.toMatch(/https?:\/\/(?!localhost|127\.0\.0\.1)[a-z]/i);
  });
});
