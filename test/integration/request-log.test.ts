import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAIFake, type OpenAIFake } from '../fakes/index.ts';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';

type LogLine = Record<string, unknown> & { level: number; msg: string };

let gateway: TestGateway;
let upstream: OpenAIFake;
// The clock rate-limit windows follow: fixed, so the second request of the rpm-1 key is always refused.
const now = Date.parse('2026-01-01T12:00:00.000Z');

beforeAll(async () => {
  [gateway, upstream] = await Promise.all([startTestGateway({ clock: () => now }), startOpenAIFake({ flavor: 'vllm', models: [{ id: 'yi34b', contextLength: 4096 }] })]);
  await gateway.api('POST', '/api/v1/model-servers', { name: 'gpu-0', server_type: 'vllm', base_url: upstream.url });
  await gateway.api('POST', '/api/v1/model-servers/health-check-all');
});

afterAll(async () => {
  await Promise.all([gateway.stop(), upstream.stop()]);
});

const parsed = (logs: readonly string[]): LogLine[] => logs.map((line) => JSON.parse(line) as LogLine);
const linesOf = (requestId: string | null) => parsed(gateway.logs).filter((line) => line.reqId === requestId);
const atInfoOrAbove = (lines: LogLine[]) => lines.filter((line) => line.level >= 30);

describe('request logging', () => {
  it('writes exactly one summary line per /v1 request, with model, server, status, error, tokens, latency and key name, never the key or the prompt', async () => {
    const created = await gateway.api('POST', '/api/v1/keys', { name: 'support-bot', scopes: ['inference'], rpm: 1 });
    const secretKey = created.body.key as string;
    const prompt = 'a prompt that must never reach a log line';
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: secretKey, maxRetries: 0 });
    const admin = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: adminKey, maxRetries: 0 });
    const requestIds: Record<string, string | null> = {};

    const answered = await client.chat.completions.create({ model: 'yi34b', messages: [{ role: 'user', content: prompt }] }).withResponse();
    requestIds['answered'] = answered.response.headers.get('x-request-id');
    const limited = await client.chat.completions.create({ model: 'yi34b', messages: [{ role: 'user', content: prompt }] }).catch((error: { headers: Headers; status: number }) => error);
    expect(limited).toMatchObject({ status: 429 });
    requestIds['limited'] = (limited as { headers: Headers }).headers.get('x-request-id');
    const streamed = await admin.chat.completions.create({ model: 'yi34b', stream: true, messages: [{ role: 'user', content: prompt }] }).withResponse();
    for await (const _chunk of streamed.data) {
      // drain
    }
    requestIds['streamed'] = streamed.response.headers.get('x-request-id');
    const unknown = await admin.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: prompt }] }).catch((error: { headers: Headers }) => error);
    requestIds['unknown'] = (unknown as { headers: Headers }).headers.get('x-request-id');
    const anonymous = await fetch(`${gateway.url}/v1/models`);
    requestIds['anonymous'] = anonymous.headers.get('x-request-id');
    const listed = await fetch(`${gateway.url}/v1/models`, { headers: { authorization: `Bearer ${adminKey}` } });
    requestIds['listed'] = listed.headers.get('x-request-id');
    // A client that puts its key in the query string: the summary's path keeps the name, not the value.
    const queried = await fetch(`${gateway.url}/v1/models?api_key=${secretKey}`, { headers: { authorization: `Bearer ${adminKey}` } });
    requestIds['queried'] = queried.headers.get('x-request-id');

    const summary = (name: string) => {
      const lines = atInfoOrAbove(linesOf(requestIds[name] ?? null));
      expect(lines, name).toHaveLength(1);
      expect(lines[0]?.msg, name).toBe('request');
      return lines[0];
    };
    expect(summary('answered')).toMatchObject({ level: 30, method: 'POST', path: '/v1/chat/completions', status: 200, model: 'yi34b', server: 'gpu-0', error: null, key: 'support-bot' });
    expect(summary('answered')?.['prompt_tokens']).toBeGreaterThan(0);
    expect(summary('answered')?.['completion_tokens']).toBeGreaterThan(0);
    expect(summary('answered')?.['latency_ms']).toEqual(expect.any(Number));
    expect(summary('answered')).not.toHaveProperty('ttft_ms');
    expect(summary('limited')).toMatchObject({ status: 429, error: 'rate_limit_exceeded', model: 'yi34b', server: null, key: 'support-bot' });
    expect(summary('streamed')).toMatchObject({ status: 200, server: 'gpu-0', key: 'SWITCHYARD_ADMIN_KEY', ttft_ms: expect.any(Number) });
    expect(summary('unknown')).toMatchObject({ status: 404, error: 'model_not_found', model: 'no-such-model' });
    expect(summary('anonymous')).toMatchObject({ method: 'GET', path: '/v1/models', status: 401, error: 'SY_UNAUTHENTICATED', key: null });
    expect(summary('listed')).toMatchObject({ method: 'GET', path: '/v1/models', status: 200, error: null, key: 'SWITCHYARD_ADMIN_KEY' });
    expect(summary('queried')?.['path']).toMatch(/^\/v1\/models\?api_key=\S+$/);

    const logged = gateway.logs.join('');
    expect(logged).not.toContain(secretKey);
    expect(logged).not.toContain(adminKey);
    expect(logged).not.toContain(prompt);
    expect(logged).not.toContain('incoming request');
    expect(logged).not.toContain('request completed');
  });

  it('logs admin API, console, health and metrics requests at debug only', async () => {
    const asked = [
      await gateway.api('GET', '/api/v1/model-servers'),
      await gateway.api('POST', '/api/v1/keys', { name: '' }),
      await gateway.api('GET', '/metrics'),
    ];
    const probes = [await fetch(`${gateway.url}/health`), await fetch(`${gateway.url}/ready`), await fetch(`${gateway.url}/ui/`)];
    const ids = [...asked.map((response) => response.headers.get('x-request-id')), ...probes.map((response) => response.headers.get('x-request-id'))];
    expect(ids.every((id) => id !== null)).toBe(true);
    for (const id of ids) expect(atInfoOrAbove(linesOf(id)), String(id)).toEqual([]);
  });

  it('writes nothing at info while health checks find a stable server, and one line when its state changes', async () => {
    const before = gateway.logs.length;
    for (let round = 0; round < 5; round++) await gateway.gateway.scheduler.checkAll();
    expect(atInfoOrAbove(parsed(gateway.logs.slice(before)))).toEqual([]);

    await upstream.setFault({ kind: 'status', status: 503 });
    const failing = gateway.logs.length;
    for (let round = 0; round < 2; round++) await gateway.gateway.scheduler.checkAll();
    await upstream.clearFault();
    const changes = atInfoOrAbove(parsed(gateway.logs.slice(failing)));
    expect(changes).toEqual([expect.objectContaining({ level: 40, msg: 'model server status changed', server: 'gpu-0', from: 'online', to: 'degraded' })]);
    const recovering = gateway.logs.length;
    for (let round = 0; round < 3; round++) await gateway.gateway.scheduler.checkAll();
    expect(atInfoOrAbove(parsed(gateway.logs.slice(recovering)))).toEqual([expect.objectContaining({ level: 30, msg: 'model server status changed', from: 'degraded', to: 'online' })]);
  });
});

describe('logging settings', () => {
  it('SWITCHYARD_LOG_REQUESTS=true brings back Fastify\'s own lines for every request', async () => {
    const verbose = await startTestGateway({ env: { SWITCHYARD_LOG_REQUESTS: 'true' } });
    try {
      const response = await fetch(`${verbose.url}/health`);
      const id = response.headers.get('x-request-id');
      const lines = parsed(verbose.logs).filter((line) => line.reqId === id).map((line) => line.msg);
      expect(lines).toEqual(['incoming request', 'request completed']);
    } finally {
      await verbose.stop();
    }
  });

  it('SWITCHYARD_LOG_FORMAT=pretty writes one readable line per entry instead of JSON', async () => {
    const pretty = await startTestGateway({ env: { SWITCHYARD_LOG_FORMAT: 'pretty' } });
    try {
      const response = await fetch(`${pretty.url}/v1/models`, { headers: { authorization: `Bearer ${adminKey}` } });
      const id = response.headers.get('x-request-id') as string;
      const line = pretty.logs.find((entry) => entry.includes(id));
      expect(line).toMatch(new RegExp(`^\\d{2}:\\d{2}:\\d{2}\\.\\d{3} INFO  request GET /v1/models 200 latency_ms=[\\d.]+ key=SWITCHYARD_ADMIN_KEY reqId=${id}\\n$`));
      expect(pretty.logs.every((entry) => !entry.startsWith('{'))).toBe(true);
    } finally {
      await pretty.stop();
    }
  });
});
