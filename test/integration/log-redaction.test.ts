import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';

let gateway: TestGateway;

beforeAll(async () => {
  // trace: every line the gateway can write for a request is captured.
  gateway = await startTestGateway({ env: { SWITCHYARD_LOG_LEVEL: 'trace' } });
});

afterAll(async () => {
  await gateway.stop();
});

describe('query strings in logs', () => {
  it('never writes a key sent in a query string, whatever the parameter, route or answer', async () => {
    const secrets = ['sk-sy-canary-query-0001', 'sk-sy-canary-query-0002', 'sk-sy-canary-query-0003', 'sk-sy-canary-query-0004', 'sk-sy-canary-query-0005', 'sk-sy-canary-query-0006'];
    const asked: Array<[path: string, headers: Record<string, string>, status: number]> = [
      [`/api/v1/keys?api_key=${secrets[0]}`, {}, 401],
      [`/v1/models?key=${secrets[1]}&limit=5`, {}, 401],
      [`/api/v1/keys?page=1&access_token=${secrets[2]}`, { authorization: `Bearer ${adminKey}` }, 200],
      [`/no/such/route?token=${secrets[3]}`, {}, 404],
      [`/health?${secrets[4]}`, {}, 200],
      [`/health?x=${encodeURIComponent(secrets[5] as string)}#frag`, {}, 200],
    ];
    for (const [path, headers, status] of asked) {
      const response = await fetch(`${gateway.url}${path}`, { headers });
      expect(response.status, path).toBe(status);
      await response.arrayBuffer();
    }
    const logged = gateway.logs.join('');
    // The requests were logged (with their parameter names), only their values are gone.
    expect(logged).toContain('/api/v1/keys?api_key=[redacted]');
    expect(logged).toContain('/v1/models?key=[redacted]&limit=[redacted]');
    expect(logged).toContain('/health?[redacted]');
    for (const secret of secrets) {
      expect(logged).not.toContain(secret);
      expect(logged).not.toContain(encodeURIComponent(secret));
    }
  });
});
