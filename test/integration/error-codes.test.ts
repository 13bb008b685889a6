import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCodes } from '../../src/errors/error-codes.ts';
import { startOpenAIFake, type Fault, type OpenAIFake } from '../fakes/index.ts';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';
import { waitFor } from '../support/wait-for.ts';

// One fake per failure, so each model fails in exactly one way.
const faults: Record<string, Fault> = {
  steady: { kind: 'none' },
  'fails-500': { kind: 'status', status: 500, body: { error: { message: 'CUDA out of memory at 0x7f3a (secret internals)' } } },
  hangs: { kind: 'hang' },
  'drops-stream': { kind: 'drop-mid-stream', afterChunks: 2 },
  garbage: { kind: 'garbage' },
  'malformed-stream': { kind: 'malformed-chunk', afterChunks: 2 },
  'refuses-400': { kind: 'status', status: 400, body: { error: { message: 'This model maximum context length is 4096 tokens.', type: 'BadRequestError', code: 400 } } },
};

let gateway: TestGateway;
let fakes: OpenAIFake[] = [];
const keys: Record<string, string> = {};

beforeAll(async () => {
  gateway = await startTestGateway({ env: { SWITCHYARD_NON_STREAM_TIMEOUT_MS: '500', SWITCHYARD_MAX_ATTEMPTS: '2', SWITCHYARD_RETRY_BASE_DELAY_MS: '1' } });
  fakes = await Promise.all(Object.keys(faults).map((model) => startOpenAIFake({ flavor: 'vllm', models: [{ id: model, contextLength: 4096 }] })));
  for (const [index, model] of Object.keys(faults).entries()) {
    const fake = fakes[index] as OpenAIFake;
    expect((await gateway.api('POST', '/api/v1/model-servers', { name: `server-${model}`, server_type: 'vllm', base_url: fake.url })).status).toBe(201);
  }
  await gateway.api('POST', '/api/v1/model-servers/health-check-all');
  for (const [index, fault] of Object.values(faults).entries()) if (fault.kind !== 'none') await fakes[index]?.setFault(fault, ['/v1/chat/completions']);
  for (const [name, limits] of Object.entries({ 'one-a-minute': { rpm: 1 }, 'tiny-budget': { budget_tokens: 1 }, plain: {} })) {
    keys[name] = (await gateway.api('POST', '/api/v1/keys', { name, scopes: ['inference'], ...limits })).body.key;
  }
});

afterAll(async () => {
  await gateway.stop();
  await Promise.all(fakes.map((fake) => fake.stop()));
});

let sequence = 0;

/** Sends a chat request; returns the code the client received (body, or a stream's last event) and the request id. */
async function send(options: { key?: string; model?: string; body?: string; stream?: boolean }) {
  const requestId = `error-codes-${++sequence}`;
  const body = options.body ?? JSON.stringify({ model: options.model ?? 'steady', messages: [{ role: 'user', content: 'say something' }], stream: options.stream ?? false });
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${options.key ?? keys['plain']}`, 'content-type': 'application/json', 'x-request-id': requestId },
    body,
  });
  const text = await response.text();
  expect(response.headers.get('x-request-id')).toBe(requestId);
  const payload = options.stream === true && response.status === 200 ? (text.trim().split('\n\n').at(-1) ?? '').replace(/^data: /, '') : text;
  const parsed = JSON.parse(payload) as { error: { code: string; type: string; message: string } };
  return { requestId, status: response.status, headers: response.headers, error: parsed.error, text };
}

async function usageRecord(requestId: string) {
  return waitFor(async () => {
    await gateway.gateway.usage.flush();
    return gateway.gateway.database.db.selectFrom('usage_records').selectAll().where('request_id', '=', requestId).executeTakeFirst();
  }, `the usage record of ${requestId}`);
}

describe('the code a client receives is the code its usage record stores', () => {
  it.each([
    ['an unknown model', { model: 'no-such-model' }, 404, 'model_not_found'],
    ['a key over its requests per minute', { key: 'one-a-minute', warmUp: true }, 429, 'rate_limit_exceeded'],
    ['a key whose budget is spent', { key: 'tiny-budget' }, 429, 'insufficient_quota'],
    ['every server answering 500', { model: 'fails-500' }, 502, 'SY_UPSTREAM_STATUS'],
    ['a server that never answers', { model: 'hangs' }, 504, 'SY_UPSTREAM_TIMEOUT'],
    ['a body that is not JSON', { body: '{"model": "steady", "messages": [' }, 400, 'SY_INVALID_JSON'],
    ['a body that fails validation', { body: JSON.stringify({ model: 'steady', messages: 'hi' }) }, 400, 'SY_INVALID_REQUEST'],
    ["a server's own 4xx", { model: 'refuses-400' }, 400, 'SY_UPSTREAM_INVALID_REQUEST'],
    ['a stream that breaks after the first byte', { model: 'drops-stream', stream: true }, 200, 'SY_UPSTREAM_STREAM_BROKEN'],
    ['every server answering a 200 that is not JSON', { model: 'garbage' }, 502, 'SY_UPSTREAM_PROTOCOL'],
    ['a malformed event after the first byte', { model: 'malformed-stream', stream: true }, 200, 'SY_UPSTREAM_PROTOCOL'],
  ] as const)('%s', async (_label, request, status, code) => {
    const key = 'key' in request ? keys[request.key] : undefined;
    let answer = await send({ ...request, key });
    // The first request a minute passes (twice, should a new minute begin between the two).
    for (let round = 0; 'warmUp' in request && answer.status === 200 && round < 2; round++) answer = await send({ ...request, key });
    expect(answer.status, answer.text).toBe(status);
    expect(answer.error.code).toBe(code);
    expect(answer.error.type).toBe(errorCodes[code].type);
    expect(answer.text).not.toMatch(/FST_|secret internals|0x7f3a/);
    const record = await usageRecord(answer.requestId);
    expect({ status: Number(record.status), error_type: record.error_type }).toEqual({ status, error_type: code });
  });

  it('tells clients whether to retry, and when', async () => {
    let limited = await send({ key: keys['one-a-minute'] });
    for (let round = 0; limited.status === 200 && round < 2; round++) limited = await send({ key: keys['one-a-minute'] });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited.headers.get('x-should-retry')).toBe('true');
    const spent = await send({ key: keys['tiny-budget'] });
    expect(spent.headers.get('retry-after')).toBeNull();
    expect(spent.headers.get('x-should-retry')).toBe('false');
  });

  it('records a client that leaves mid-stream as SY_CLIENT_DISCONNECTED (499), writing nothing more', async () => {
    const hanging = fakes[Object.keys(faults).indexOf('hangs')] as OpenAIFake;
    const abortsBefore = hanging.abortedCount();
    const controller = new AbortController();
    const requestId = 'error-codes-leaves';
    const pending = fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      signal: controller.signal,
      headers: { authorization: `Bearer ${keys['plain']}`, 'content-type': 'application/json', 'x-request-id': requestId },
      body: JSON.stringify({ model: 'hangs', messages: [{ role: 'user', content: 'x' }], stream: true }),
    }).catch((caught: unknown) => caught);
    await waitFor(() => hanging.requests.some((request) => request.headers['x-request-id'] === requestId), 'the request to reach the server');
    controller.abort();
    await pending;
    await waitFor(() => hanging.abortedCount() > abortsBefore, 'the upstream call to be cancelled');
    const record = await usageRecord(requestId);
    expect({ status: Number(record.status), error_type: record.error_type }).toEqual({ status: 499, error_type: 'SY_CLIENT_DISCONNECTED' });
  });

  it('counts refusals in llm_errors_total under the same codes', async () => {
    const metrics = await (await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${adminKey}` } })).text();
    for (const code of ['rate_limit_exceeded', 'insufficient_quota', 'SY_INVALID_JSON', 'SY_UPSTREAM_STREAM_BROKEN', 'model_not_found']) {
      expect(metrics).toMatch(new RegExp(`^llm_errors_total\\{error_type="${code}"\\} [1-9]`, 'm'));
    }
    expect(metrics).not.toMatch(/error_type="(upstream_\d+|client_disconnected)"/);
  });

  it('does not record requests without a valid key', async () => {
    const answer = await send({ key: 'sk-sy-not-a-key' });
    expect(answer.error.code).toBe('SY_UNAUTHENTICATED');
    await gateway.gateway.usage.flush();
    expect(await gateway.gateway.database.db.selectFrom('usage_records').selectAll().where('request_id', '=', answer.requestId).executeTakeFirst()).toBeUndefined();
  });
});
