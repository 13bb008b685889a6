import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiTags } from '../../src/http/docs/api-docs.ts';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';

// The published OpenAPI document is generated from the routes' schemas: a route
// registered without one (no summary, so nobody described it; no tags, so /docs
// cannot list it) fails here. Add `summary`, `tags` and its body/params/querystring
// schema to the route itself; src/http/docs/api-docs.ts says which scope it needs.
let gateway: TestGateway;
let document: any;
const keyScopes = ['inference', 'read', 'vectors:write'] as const;
type KeyScope = (typeof keyScopes)[number];
const keys = {} as Record<KeyScope, string>;

beforeAll(async () => {
  gateway = await startTestGateway();
  for (const scope of keyScopes) keys[scope] = (await gateway.api('POST', '/api/v1/keys', { name: `docs-${scope}`, scopes: [scope] })).body.key;
  const response = await fetch(`${gateway.url}/openapi.json`);
  expect(response.status).toBe(200);
  document = await response.json();
});

afterAll(async () => {
  await gateway.stop();
});

/**
 * Not API, so not in the document: the only exclusions, and they stay explicit.
 * - the console's pages and files: `/` and `/favicon.ico` (redirects), `/ui` and `/ui/*`;
 * - the docs' own: the page and its assets under `/docs`, and `/openapi.json` itself.
 */
function isExcluded(url: string): boolean {
  return url === '/' || url === '/favicon.ico' || url === '/ui' || url.startsWith('/ui/') || url === '/docs' || url.startsWith('/docs/') || url === '/openapi.json';
}

function documentPath(url: string): string {
  return url.replace(/:([A-Za-z_]+)/g, '{$1}').replace(/\*$/, '{*}');
}

const documentedRoutes = () => gateway.gateway.app.routeTable.filter((route) => route.method !== 'HEAD' && route.method !== 'OPTIONS' && !isExcluded(route.url));
const operationOf = (route: { method: string; url: string }) => document.paths[documentPath(route.url)]?.[route.method.toLowerCase()];

async function send(method: string, path: string, headers: Record<string, string>): Promise<number> {
  const body = ['POST', 'PUT', 'PATCH'].includes(method) ? '{}' : undefined;
  const response = await fetch(`${gateway.url}${path}`, { method, headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { body }) });
  await response.body?.cancel();
  return response.status;
}

describe('the published API document', () => {
  it('is OpenAPI 3.1 with the ways to authenticate', () => {
    expect(document.openapi).toBe('3.1.0');
    expect(document.info.title).toBe('Switchyard');
    expect(document.components.securitySchemes).toEqual({
      bearerKey: expect.objectContaining({ type: 'http', scheme: 'bearer' }),
      apiKeyHeader: expect.objectContaining({ type: 'apiKey', in: 'header', name: 'x-api-key' }),
      sessionCookie: expect.objectContaining({ type: 'apiKey', in: 'cookie', name: 'sy_session' }),
    });
    expect(document.security).toEqual([{ bearerKey: [] }, { apiKeyHeader: [] }, { sessionCookie: [] }]);
  });

  it('describes every registered route, each with a summary, its own declared group and the scope it needs', () => {
    const routes = documentedRoutes();
    expect(routes.length).toBeGreaterThan(100);
    const declared = new Set(apiTags.map((tag) => tag.name));
    const undocumented = routes.filter((route) => {
      const operation = operationOf(route);
      if (operation === undefined) return true;
      const hasSummary = typeof operation.summary === 'string' && operation.summary !== '';
      const hasGroup = Array.isArray(operation.tags) && operation.tags.length > 0 && operation.tags.every((tag: string) => declared.has(tag));
      return !hasSummary || !hasGroup || typeof operation['x-switchyard-scope'] !== 'string';
    });
    expect(undocumented.map((route) => `${route.method} ${route.url}`)).toEqual([]);
  });

  it('documents every path parameter and every body a PUT or PATCH takes', () => {
    const missing: string[] = [];
    for (const route of documentedRoutes()) {
      const operation = operationOf(route);
      const inPath = [...documentPath(route.url).matchAll(/\{([^}]+)\}/g)].map((match) => match[1]);
      const documented = new Set((operation.parameters ?? []).filter((parameter: any) => parameter.in === 'path').map((parameter: any) => parameter.name));
      for (const name of inPath) if (!documented.has(name)) missing.push(`${route.method} ${route.url}: path parameter ${name}`);
      if ((route.method === 'PUT' || route.method === 'PATCH') && operation.requestBody === undefined) missing.push(`${route.method} ${route.url}: body`);
    }
    expect(missing).toEqual([]);
  });

  it('carries the request schemas: bodies with their required fields, path and query parameters', () => {
    const bodyOf = (path: string, method: string) => document.paths[path][method].requestBody.content['application/json'].schema;
    expect(bodyOf('/v1/messages', 'post').required).toEqual(expect.arrayContaining(['model', 'max_tokens', 'messages']));
    expect(bodyOf('/v1/chat/completions', 'post').required).toEqual(expect.arrayContaining(['model', 'messages']));
    expect(bodyOf('/api/chat', 'post').required).toEqual(['model']);
    expect(bodyOf('/api/v1/keys', 'post').properties.scopes).toBeDefined();
    expect(bodyOf('/api/v1/keys', 'post').additionalProperties).toBe(false);
    // A body its handler checks itself is documented all the same.
    expect(bodyOf('/api/v1/models/{*}', 'post').anyOf.map((shape: any) => shape.title)).toEqual(expect.arrayContaining(['Search (POST {model}/vectors/search)']));
    expect(document.paths['/api/v1/routes/{id}'].get.parameters).toEqual([expect.objectContaining({ name: 'id', in: 'path', required: true })]);
    expect(document.paths['/api/v1/prices/{*}'].put.parameters).toEqual([expect.objectContaining({ name: '*', in: 'path', description: expect.stringContaining('URL-encoded') })]);
    expect(document.paths['/api/v1/audit'].get.parameters.map((parameter: any) => `${parameter.in} ${parameter.name}`)).toEqual(expect.arrayContaining(['query action', 'query limit', 'query cursor']));
    expect(document.paths['/v1/responses'].post.tags).toEqual(['OpenAI Responses API']);
  });

  it('holds request schemas that are valid JSON Schema (2020-12, as OpenAPI 3.1 reads them)', () => {
    const ajv = new Ajv2020({ strict: false, validateFormats: false });
    const invalid: string[] = [];
    for (const [path, operations] of Object.entries<any>(document.paths)) {
      for (const [method, operation] of Object.entries<any>(operations)) {
        const schemas = [...Object.values<any>(operation.requestBody?.content ?? {}).map((media) => media.schema), ...(operation.parameters ?? []).map((parameter: any) => parameter.schema)];
        for (const schema of schemas) {
          try {
            ajv.compile({ ...schema, components: document.components });
          } catch (error) {
            invalid.push(`${method.toUpperCase()} ${path}: ${(error as Error).message}`);
          }
        }
      }
    }
    expect(invalid).toEqual([]);
  });

  it('marks the open routes as needing no key, and the others with their scope', () => {
    expect(document.paths['/health'].get.security).toEqual([]);
    expect(document.paths['/integrations/status'].get.security).toEqual([]);
    expect(document.paths['/v1/chat/completions'].post.security).toBeUndefined();
    expect(document.paths['/v1/chat/completions'].post['x-switchyard-scope']).toBe('inference');
    expect(document.paths['/v1/messages'].post['x-switchyard-scope']).toBe('inference');
    expect(document.paths['/api/pull'].post['x-switchyard-scope']).toBe('admin');
    expect(document.paths['/api/v1/keys'].get['x-switchyard-scope']).toBe('read');
    expect(document.paths['/api/v1/keys'].post['x-switchyard-scope']).toBe('admin');
    expect(document.paths['/api/v1/collections'].post['x-switchyard-scope']).toBe('vectors:write');
  });

  it('states the scope the gateway really asks for: each documented scope is admitted, a key of another is refused', async () => {
    const wrong: string[] = [];
    for (const route of documentedRoutes()) {
      const scope = operationOf(route)['x-switchyard-scope'] as string;
      // `/api/v1/models/some-model` alone is the lifecycle route: the vector routes are under `/vectors/`.
      const rest = route.url === '/api/v1/models/*' ? 'some-model/vectors/some-id' : 'some-model';
      const path = route.url.replace(/:[A-Za-z_]+/g, '00000000-0000-4000-8000-000000000000').replace('*', rest);
      if (scope === 'none') {
        const status = await send(route.method, path, {});
        if (status === 401 || status === 403) wrong.push(`${route.method} ${route.url}: documented open, refused ${status} without a key`);
        continue;
      }
      // Only plain lists of scopes ("read or vectors:write"); a scope that depends on more than the route is described in words.
      if (!/^[a-z:]+( or [a-z:]+)*$/.test(scope)) continue;
      const admitted = scope.split(' or ') as Array<KeyScope | 'admin'>;
      for (const each of admitted) {
        const status = await send(route.method, path, { authorization: `Bearer ${each === 'admin' ? adminKey : keys[each]}` });
        if (status === 401 || status === 403) wrong.push(`${route.method} ${route.url}: documented ${scope}, a ${each} key refused ${status}`);
      }
      const other = keyScopes.find((each) => !admitted.includes(each));
      if (other !== undefined && !admitted.includes('admin')) {
        const status = await send(route.method, path, { authorization: `Bearer ${keys[other]}` });
        if (status !== 403) wrong.push(`${route.method} ${route.url}: documented ${scope}, a ${other} key got ${status}`);
      }
      if (admitted.includes('admin')) {
        const status = await send(route.method, path, { authorization: `Bearer ${keys.read}` });
        if (status !== 403) wrong.push(`${route.method} ${route.url}: documented admin, a read key got ${status}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('serves the docs page and its assets from the gateway, with no validator badge', async () => {
    const page = await fetch(`${gateway.url}/docs/`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('swagger-ui');
    expect(html).not.toMatch(/https?:\/\/(?!localhost|127\.0\.0\.1)[a-z]/i);
    const initializer = await (await fetch(`${gateway.url}/docs/static/swagger-initializer.js`)).text();
    expect(initializer).toContain('"validatorUrl":null');
  });
});
