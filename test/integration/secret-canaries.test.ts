import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ggufRepo, startHfHubFake, startOllamaFake, startOpenAIFake, type HfHubFake, type OllamaFake, type OpenAIFake } from '../fakes/index.ts';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.ts';

const adminCanary = 'sk-sy-CANARY-admin-0000000000000000000';
const upstreamCanary = 'sk-upstream-CANARY-1111111111111111';
// Configured but unused (the embedded vector backend): still never shown.
const qdrantCanary = 'qdrant-CANARY-2222222222222222';
const hfCanary = 'hf_CANARY_3333333333333333';
let gateway: TestGateway;
let vllm: OpenAIFake;
let ollama: OllamaFake;
let hub: HfHubFake;
const bodies: string[] = [];
const traces: string[] = [];
let collector: Server;

beforeAll(async () => {
  // An OTLP receiver, so traces are searched too.
  collector = createServer((request, response) => {
    const parts: Buffer[] = [];
    request.on('data', (part: Buffer) => parts.push(part));
    request.on('end', () => {
      traces.push(Buffer.concat(parts).toString('utf8'));
      response.writeHead(200).end('{}');
    });
  });
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
  const otlp = `http://127.0.0.1:${(collector.address() as { port: number }).port}`;
  hub = await startHfHubFake({ token: hfCanary, repos: [ggufRepo('acme/private-GGUF', [['Q4_0', 50_000]], { private: true })] });
  [gateway, vllm, ollama] = await Promise.all([
    startTestGateway({ env: { SWITCHYARD_ADMIN_KEY: adminCanary, SWITCHYARD_LOG_LEVEL: 'trace', OTEL_EXPORTER_OTLP_ENDPOINT: otlp, SWITCHYARD_OTEL_BATCH_DELAY_MS: '20', QDRANT_API_KEY: qdrantCanary, HF_ENDPOINT: hub.url, HF_TOKEN: hfCanary } }),
    startOpenAIFake({ flavor: 'vllm', apiKey: upstreamCanary }),
    startOllamaFake(),
  ]);
});

afterAll(async () => {
  await Promise.all([gateway.stop(), vllm.stop(), ollama.stop(), hub.stop()]);
  collector.close();
});

async function call(method: string, path: string, key: string, body?: unknown): Promise<number> {
  const response = await fetch(`${gateway.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, 'x-api-key': key, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  bodies.push(await response.text());
  bodies.push(JSON.stringify([...response.headers.entries()]));
  return response.status;
}

describe('secrets never leak', () => {
  it('keeps a canary Switchyard key and a canary upstream key out of logs, storage, traces, error bodies and /metrics', async () => {
    await call('POST', '/api/v1/model-servers', adminCanary, { name: 'guarded', server_type: 'vllm', base_url: vllm.url, api_key: upstreamCanary });
    await call('POST', '/api/v1/model-servers', adminCanary, { name: 'plain', server_type: 'ollama', base_url: ollama.url });
    await call('POST', '/api/v1/model-servers/health-check-all', adminCanary);
    const created = await fetch(`${gateway.url}/api/v1/keys`, { method: 'POST', headers: { authorization: `Bearer ${adminCanary}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'canary-app', scopes: ['inference'], rpm: 3 }) });
    const appCanary = ((await created.json()) as { key: string }).key;

    // Cached per key: the key's id scopes the cache, never the key itself.
    await call('PUT', '/api/v1/cache-policies/yi34b', adminCanary, { mode: 'exact', ttl_s: 60 });
    const chat = { model: 'yi34b', messages: [{ role: 'user', content: 'hello' }] };
    expect(await call('POST', '/v1/chat/completions', appCanary, chat)).toBe(200);
    // A hit, replayed as a stream.
    expect(await call('POST', '/v1/chat/completions', appCanary, { ...chat, stream: true })).toBe(200);
    expect(bodies.at(-1)).toContain('["x-switchyard-cache","hit"]');
    expect(await call('POST', '/v1/chat/completions', appCanary, { ...chat, model: 'no-such-model' })).toBe(404);
    expect(await call('POST', '/v1/chat/completions', appCanary, chat)).toBe(429);
    await vllm.setFault({ kind: 'status', status: 500, body: { error: `internal: ${upstreamCanary}` } }, ['/v1/chat/completions']);
    expect(await call('POST', '/v1/chat/completions', adminCanary, chat)).toBe(502);
    await vllm.clearFault();
    vllm.setApiKey('sk-upstream-rotated-elsewhere');
    expect(await call('POST', '/v1/chat/completions', adminCanary, chat)).toBe(502);
    await call('POST', '/api/v1/model-servers/health-check-all', adminCanary);
    await vllm.stop();
    await call('POST', '/api/v1/model-servers/health-check-all', adminCanary);
    expect(await call('GET', '/api/v1/model-servers', `${appCanary}x`)).toBe(401);
    await call('GET', '/api/v1/audit?limit=500', adminCanary);
    await call('GET', '/api/v1/keys', adminCanary);
    await call('GET', '/api/v1/model-servers', adminCanary);
    await call('GET', '/api/v1/cache-policies', adminCanary);
    await call('GET', '/api/v1/collections', adminCanary);
    // The Hugging Face token: sent to the Hub (a private repository is read and downloaded), shown nowhere.
    expect(await call('GET', '/api/v1/hub/search?q=acme', adminCanary)).toBe(200);
    expect(await call('GET', '/api/v1/hub/models/acme/private-GGUF', adminCanary)).toBe(200);
    expect(await call('POST', '/api/v1/hub/download', adminCanary, { repo: 'acme/private-GGUF', quant: 'Q4_0' })).toBe(202);
    const download = JSON.parse(bodies.at(-2) as string) as { operation_id: string };
    expect((await gateway.gateway.operations.settled(download.operation_id)).status).toBe('succeeded');
    await call('GET', `/api/v1/operations/${download.operation_id}`, adminCanary);
    expect(hub.requests.some((request) => request.headers.authorization === `Bearer ${hfCanary}`)).toBe(true);
    expect(await call('GET', '/metrics', adminCanary)).toBe(200);

    const db = gateway.gateway.database.db;
    const stored = JSON.stringify(
      await Promise.all((['model_servers', 'api_keys', 'audit_log', 'usage_records', 'health_checks', 'routes', 'webhook_deliveries', 'cache_policies', 'vector_collections', 'operations'] as const).map((table) => db.selectFrom(table).selectAll().execute())),
    );
    await expect.poll(() => traces.length, { timeout: 3_000 }).toBeGreaterThan(0);
    const places = { logs: gateway.logs.join(''), stored, bodies: bodies.join('\n'), traces: traces.join('\n') };
    for (const [place, text] of Object.entries(places)) {
      for (const canary of [adminCanary, appCanary, upstreamCanary, qdrantCanary, hfCanary]) {
        expect(text.includes(canary), `${canary.slice(0, 20)}… found in ${place}`).toBe(false);
      }
    }
    expect(places.logs.length).toBeGreaterThan(1_000);
  });
});
