import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_OPENAI_MODELS, startOllamaFake, startOpenAIFake, startTeiFake, type OllamaFake, type OpenAIFake, type TeiFake } from '../fakes/index.ts';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';
import { freePort } from '../support/own-postgres.ts';
import { startOwnRedisServer, type OwnRedisServer } from '../support/own-redis-server.ts';
import { waitFor } from '../support/wait-for.ts';
import { askUntil } from '../support/ask-until.ts';

// The simple REST API the integration teams' scripts use, the integrations'
// health, the "intelligent" endpoints and the /v1 aliases of the model reports.
let gateway: TestGateway;
let ollama: OllamaFake;
let vllm: OpenAIFake;
let backup: OpenAIFake;
let tei: TeiFake;
let redis: OwnRedisServer;
const keys: Record<'read' | 'inference' | 'narrow', string> = { read: '', inference: '', narrow: '' };

beforeAll(async () => {
  redis = await startOwnRedisServer();
  // Nothing listens on the OTLP port: exports fail, and the status says so.
  const deadOtlp = `http://127.0.0.1:${await freePort()}`;
  [gateway, ollama, vllm, backup, tei] = await Promise.all([
    startTestGateway({ env: { REDIS_URL: redis.url, OTEL_EXPORTER_OTLP_ENDPOINT: deadOtlp, SWITCHYARD_OTEL_BATCH_DELAY_MS: '20' } }),
    startOllamaFake(),
    startOpenAIFake({ flavor: 'vllm', models: [...DEFAULT_OPENAI_MODELS, { id: 'pair', capabilities: ['completion'], contextLength: 8192 }] }),
    startOpenAIFake({ flavor: 'vllm', models: [{ id: 'pair', capabilities: ['completion'], contextLength: 8192 }] }),
    startTeiFake({ modelId: 'bge-small', dimension: 384 }),
  ]);
  for (const body of [{ name: 'ollama-1', base_url: ollama.url }, { name: 'vllm-1', base_url: vllm.url }, { name: 'vllm-2', base_url: backup.url }, { name: 'tei-1', base_url: tei.url }]) {
    expect((await gateway.api('POST', '/api/v1/model-servers', body)).status).toBe(201);
  }
  await gateway.api('POST', '/api/v1/model-servers/health-check-all');
  for (const [name, scopes, models] of [['read', ['read'], undefined], ['inference', ['inference'], undefined], ['narrow', ['inference'], ['yi34b']]] as const) {
    keys[name] = (await gateway.api('POST', '/api/v1/keys', { name: `rest-${name}`, scopes, ...(models === undefined ? {} : { models }) })).body.key;
  }
});

afterAll(async () => {
  await Promise.all([gateway.stop(), ollama.stop(), vllm.stop(), backup.stop(), tei.stop()]);
  await redis.stop();
});

async function call(method: string, path: string, key: string, body?: unknown): Promise<{ status: number; body: any; text: string; headers: Headers }> {
  const response = await fetch(`${gateway.url}${path}`, { method, headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await response.text();
  let parsed: unknown = null;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = null;
  }
  return { status: response.status, body: parsed, text, headers: response.headers };
}

describe('model status', () => {
  it('lists every model with its servers, health, loaded state and recent latency, for read and inference keys', async () => {
    await call('POST', '/api/v1/models/yi34b/generate', keys.inference, { prompt: 'warm up' });
    await gateway.gateway.usage.flush();
    for (const key of [keys.read, keys.inference]) {
      const { status, body } = await call('GET', '/api/v1/models/status', key);
      expect(status).toBe(200);
      const yi = body.data.find((entry: { model: string }) => entry.model === 'yi34b');
      expect(yi).toMatchObject({ status: 'available', servers: ['vllm-1'], deployments: [{ server: 'vllm-1', health_status: 'online', routable: true }] });
      expect(yi.recent_latency_ms).toBeGreaterThan(0);
      expect(body.data.find((entry: { model: string }) => entry.model === 'mixtral:latest')).toMatchObject({ loaded: true, servers: ['ollama-1'] });
      expect(body.data.find((entry: { model: string }) => entry.model === 'pair')?.servers.sort()).toEqual(['vllm-1', 'vllm-2']);
    }
  });

  it('answers one model\'s status to GET and to POST alike; a model outside the key\'s allow-list is not found', async () => {
    const viaGet = await call('GET', '/api/v1/models/pair/status', keys.inference);
    const viaPost = await call('POST', '/api/v1/models/pair/status', keys.read);
    const viaEmptyPost = await fetch(`${gateway.url}/api/v1/models/pair/status`, { method: 'POST', headers: { authorization: `Bearer ${keys.read}` } });
    expect(viaGet.status).toBe(200);
    expect(viaPost.body.model).toBe('pair');
    expect(viaPost.body.deployments.map((entry: { server: string }) => entry.server).sort()).toEqual(viaGet.body.deployments.map((entry: { server: string }) => entry.server).sort());
    expect(viaEmptyPost.status).toBe(200);
    // curl -d without a content type (a form type): still read as JSON.
    const viaCurlStyle = await fetch(`${gateway.url}/api/v1/models/yi34b/generate`, { method: 'POST', headers: { authorization: `Bearer ${keys.inference}`, 'content-type': 'application/x-www-form-urlencoded' }, body: '{"prompt": "hi", "max_tokens": 2}' });
    expect(viaCurlStyle.status).toBe(200);
    expect((await call('GET', '/api/v1/models/mixtral/status', keys.narrow)).status).toBe(404);
    expect((await call('GET', '/api/v1/models/yi34b/status', keys.narrow)).status).toBe(200);
    const listed = await call('GET', '/api/v1/models/status', keys.narrow);
    expect(listed.body.data.map((entry: { model: string }) => entry.model)).toEqual(['yi34b']);
    const unknown = await call('GET', '/api/v1/models/no-such-model/status', keys.read);
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('SY_NOT_FOUND');
  });
});

describe('generate', () => {
  it('generates text with {model, text, server, usage, latency_ms}, recorded as api=rest', async () => {
    const { status, body } = await call('POST', '/api/v1/models/yi34b/generate', keys.inference, { prompt: 'hello', max_tokens: 5, temperature: 0.1 });
    expect(status).toBe(200);
    expect(body).toMatchObject({ model: 'yi34b', server: 'vllm-1', finish_reason: 'length' });
    expect(body.text.length).toBeGreaterThan(0);
    expect(body.usage).toMatchObject({ completion_tokens: 5 });
    expect(body.latency_ms).toBeGreaterThan(0);
    expect([...vllm.requests].reverse().find((request) => request.path === '/v1/chat/completions')?.body).toMatchObject({ model: 'yi34b', max_tokens: 5, temperature: 0.1, messages: [{ role: 'user', content: 'hello' }] });
    await gateway.gateway.usage.flush();
    const rows = await gateway.gateway.database.db.selectFrom('usage_records').select(['api', 'requested_model']).where('api', '=', 'rest').execute();
    expect(rows.map((row) => row.requested_model)).toContain('yi34b');
  });

  it('streams text deltas and a last event with the whole answer', async () => {
    const { headers, text } = await call('POST', '/api/v1/models/deepseek/generate', keys.inference, { prompt: 'stream please', stream: true });
    expect(headers.get('content-type')).toContain('text/event-stream');
    const events = text.trim().split('\n\n').map((block) => JSON.parse(block.slice('data: '.length)) as { type: string; text?: string });
    const deltas = events.filter((event) => event.type === 'delta').map((event) => event.text).join('');
    const done = events.at(-1) as { type: string; text: string; server: string; usage: { completion_tokens: number } };
    expect(done.type).toBe('done');
    expect(done.text).toBe(deltas);
    expect(done.text).toContain('Hello from deepseek');
    expect(done.server).toBe('vllm-1');
    expect(done.usage.completion_tokens).toBeGreaterThan(0);
  });

  it('fails over like /v1 and refuses what it must', async () => {
    await backup.setFault({ kind: 'status', status: 503 });
    try {
      const asked = () => backup.requests.some((request) => request.path === '/v1/chat/completions');
      await askUntil(asked, async () => expect((await call('POST', '/api/v1/models/pair/generate', keys.inference, { prompt: 'x' })).body.server).toBe('vllm-1'));
    } finally {
      await backup.clearFault();
    }
    expect((await call('POST', '/api/v1/models/yi34b/generate', keys.read, { prompt: 'x' })).status).toBe(403);
    expect((await call('POST', '/api/v1/models/mixtral/generate', keys.narrow, { prompt: 'x' })).status).toBe(404);
    const bad = await call('POST', '/api/v1/models/yi34b/generate', keys.inference, { prompt: '' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.param).toBe('prompt');
  });
});

describe('integration health', () => {
  it('reports storage, Redis, the OTLP exporter, webhooks and every model server with their last errors', async () => {
    // A traced request gives the exporter something to (fail to) send.
    await call('POST', '/api/v1/models/yi34b/generate', keys.inference, { prompt: 'trace me' });
    await waitFor(async () => (await call('GET', '/api/v1/integration/health', keys.read)).body.integrations.find((entry: { kind: string }) => entry.kind === 'otlp').status === 'down', 'the failed OTLP export to show');
    const { status, body } = await call('GET', '/api/v1/integration/health', keys.read);
    expect(status).toBe(200);
    expect(body.status).toBe('degraded');
    const byKind = (kind: string) => body.integrations.filter((entry: { kind: string }) => entry.kind === kind);
    expect(byKind('storage')).toEqual([expect.objectContaining({ name: 'SQLite', required: true, status: 'ok' })]);
    expect(byKind('redis')[0]).toMatchObject({ status: 'ok' });
    expect(byKind('otlp')[0].last_error).toContain('export failed');
    expect(byKind('webhooks')[0]).toMatchObject({ status: 'ok' });
    expect(byKind('model_server').map((entry: { name: string }) => entry.name).sort()).toEqual(['ollama-1', 'tei-1', 'vllm-1', 'vllm-2']);
  });

  it('shows Redis down and a model server failing its checks, with their errors', async () => {
    await redis.kill();
    await tei.setFault({ kind: 'refuse' });
    try {
      await gateway.api('POST', '/api/v1/model-servers/health-check-all');
      const health = await waitFor(async () => {
        const answer = (await call('GET', '/api/v1/integration/health', keys.read)).body;
        return answer.integrations.find((entry: { kind: string }) => entry.kind === 'redis').status === 'down' ? answer : null;
      }, 'Redis to show as down');
      expect(health.integrations.find((entry: { kind: string }) => entry.kind === 'redis').last_error).toMatch(/Redis/);
      const teiEntry = health.integrations.find((entry: { name: string }) => entry.name === 'tei-1');
      // One failed check degrades a server; more take it offline.
      expect(['degraded', 'down']).toContain(teiEntry.status);
      expect(teiEntry.detail).toMatchObject({ server_type: 'embedding', health_status: teiEntry.status === 'down' ? 'offline' : 'degraded' });
      expect(teiEntry.last_error).toBeTruthy();
    } finally {
      await tei.clearFault();
      await redis.start();
      await gateway.api('POST', '/api/v1/model-servers/health-check-all');
    }
  });

  it('answers /integrations/status without a key as a summary with no names or errors, and in detail with a read key', async () => {
    const open = await fetch(`${gateway.url}/integrations/status`);
    const summary = (await open.json()) as Record<string, any>;
    expect(open.status).toBe(200);
    expect(summary['integrations'].map((entry: { kind: string }) => entry.kind)).toEqual(['storage', 'redis', 'otlp', 'webhooks']);
    expect(summary['model_servers']).toMatchObject({ total: 4 });
    expect(JSON.stringify(summary)).not.toContain('vllm-1');
    expect(JSON.stringify(summary)).not.toContain('last_error');
    const detailed = await call('GET', '/integrations/status', keys.read);
    expect(detailed.body.integrations.some((entry: { name: string }) => entry.name === 'vllm-1')).toBe(true);
    expect((await call('GET', '/integrations/status', 'sk-sy-wrong')).status).toBe(401);
  });
});

describe('the intelligent endpoints', () => {
  const client = () => new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: keys.inference, maxRetries: 0 });

  it('chooses a model as auto does and says why, with the answer\'s timing and location', async () => {
    const response = await fetch(`${gateway.url}/v1/chat/completions/intelligent`, { method: 'POST', headers: { authorization: `Bearer ${keys.inference}`, 'content-type': 'application/json' }, body: JSON.stringify({ messages: [{ role: 'user', content: 'hello' }], quality_priority: 0.9, speed_priority: 0.1 }) });
    const body = (await response.json()) as Record<string, any>;
    expect(response.status).toBe(200);
    expect(body['choices'][0].message.content).toContain('Hello from');
    expect(body['model_selection']).toMatchObject({ recommended_model: expect.any(String), selection_reasoning: expect.stringContaining('quality 90%') });
    expect(body['model_selection'].model_score).toBeGreaterThan(0);
    expect(body['model_selection'].model_score).toBeLessThanOrEqual(1);
    expect(body['performance_metrics'].response_time).toBeGreaterThan(0);
    expect(body['performance_metrics'].model_location).toBe(response.headers.get('x-switchyard-server'));
    // The weights are the gateway's, not the server's.
    const sent = [...vllm.requests, ...backup.requests, ...ollama.requests].filter((request) => request.path === '/v1/chat/completions').map((request) => request.body as Record<string, unknown>);
    expect(sent.every((entry) => entry['quality_priority'] === undefined)).toBe(true);
  });

  it('prefers the biggest model for quality and answers completions and embeddings too', async () => {
    const quality = (await call('POST', '/v1/chat/completions/intelligent', keys.inference, { messages: [{ role: 'user', content: 'hi' }], quality_priority: 1, speed_priority: 0 })).body;
    expect(quality.model_selection.recommended_model).toBe('mixtral:latest');
    const completion = await call('POST', '/v1/completions/intelligent', keys.inference, { prompt: 'Once upon a time', max_tokens: 4 });
    expect(completion.status).toBe(200);
    expect(completion.body.choices[0].text.length).toBeGreaterThan(0);
    const embedded = await call('POST', '/v1/embeddings/intelligent', keys.inference, { input: ['one', 'two'] });
    expect(embedded.status).toBe(200);
    expect(embedded.body.data).toHaveLength(2);
    expect(embedded.body.model_selection.selection_reasoning).toContain('embedding');
    expect(embedded.body.performance_metrics.model_location).toBeTruthy();
  });

  it('streams with the selection in one last chunk, and honours a named model', async () => {
    const stream = await client().chat.completions.create({ model: 'yi34b', messages: [{ role: 'user', content: 'hi' }], stream: true }, { path: '/chat/completions/intelligent' });
    let text = '';
    let last: Record<string, any> | null = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      last = chunk as unknown as Record<string, any>;
    }
    expect(text).toContain('Hello from yi34b');
    expect(last?.['model_selection']).toEqual({ recommended_model: 'yi34b', selection_reasoning: 'named by the caller', model_score: null });
    expect(last?.['performance_metrics'].model_location).toBe('vllm-1');
  });
});

describe('the /v1 aliases of the model reports', () => {
  it('answers the registry and performance report as /api/v1 does, for read keys', async () => {
    const viaAlias = await call('GET', '/v1/models/registry', keys.read);
    const viaAdmin = await call('GET', '/api/v1/models/registry', keys.read);
    expect(viaAlias.status).toBe(200);
    expect(viaAlias.body.data.map((entry: { id: string }) => entry.id)).toEqual(viaAdmin.body.data.map((entry: { id: string }) => entry.id));
    expect((await call('GET', '/v1/models/performance?hours=1', keys.read)).body.window_hours).toBe(1);
    expect((await call('GET', '/v1/models/registry', keys.inference)).status).toBe(403);
  });

  it('benchmarks a model named in the body, for admin keys only', async () => {
    expect((await call('POST', '/v1/models/benchmark', keys.read, { model: 'yi34b', runs: 1 })).status).toBe(403);
    const ran = await call('POST', '/v1/models/benchmark', adminKey, { model: 'yi34b', runs: 1, max_tokens: 4 });
    expect(ran.status, ran.text).toBe(200);
    expect(ran.body.model).toBe('yi34b');
  });
});
