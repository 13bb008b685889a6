import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAIFake, type OpenAIFake } from '../fakes/index.ts';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.ts';
import { waitFor } from '../support/wait-for.ts';

let gateway: TestGateway;
let vllm: OpenAIFake;
// Rate-limit windows follow this clock: it moves only when a test moves it.
let now = Date.parse('2026-01-01T12:00:59.000Z');

beforeAll(async () => {
  [gateway, vllm] = await Promise.all([startTestGateway({ clock: () => now }), startOpenAIFake({ flavor: 'vllm' })]);
  await gateway.api('POST', '/api/v1/model-servers', { name: 'secondary', server_type: 'vllm', base_url: vllm.url });
  await gateway.api('POST', '/api/v1/model-servers/health-check-all');
});

afterAll(async () => {
  await Promise.all([gateway.stop(), vllm.stop()]);
});

async function createKey(body: Record<string, unknown>): Promise<{ id: string; key: string; [field: string]: unknown }> {
  const response = await gateway.api('POST', '/api/v1/keys', body);
  expect(response.status, response.text).toBe(201);
  return response.body;
}

const as = (key: string) => ({ authorization: `Bearer ${key}` });
const chatBody = (model = 'yi34b', extra: Record<string, unknown> = {}) => JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], ...extra });
const chat = (key: string, model = 'yi34b', extra: Record<string, unknown> = {}) =>
  fetch(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers: { ...as(key), 'content-type': 'application/json' }, body: chatBody(model, extra) });

describe('API keys', () => {
  it('shows a new key once, stores only a hash, and lists prefix, scopes, limits and usage', async () => {
    const created = await createKey({ name: 'app-1', scopes: ['inference'], rpm: 100, budget_tokens: 100000, metadata: { team: 'search' } });
    expect(created.key).toMatch(/^sk-sy-[A-Za-z0-9_-]{43}$/);
    expect(created).toMatchObject({ name: 'app-1', scopes: ['inference'], rpm: 100, tpm: null, budget_tokens: 100000, used_tokens: 0, revoked_at: null });
    expect(created.key.startsWith(created['prefix'] as string)).toBe(true);
    expect((await chat(created.key)).status).toBe(200);
    const listed = await gateway.api('GET', '/api/v1/keys');
    expect(listed.text).not.toContain(created.key);
    const row = listed.body.data.find((key: { id: string }) => key.id === created.id);
    expect(row).not.toHaveProperty('key');
    expect(row).not.toHaveProperty('key_hash');
    const stored = await gateway.gateway.database.db.selectFrom('api_keys').selectAll().where('id', '=', created.id).executeTakeFirstOrThrow();
    expect(JSON.stringify(stored)).not.toContain(created.key);
    // Usage is written in batches; it shows within a couple of seconds.
    await expect.poll(async () => (await gateway.api('GET', `/api/v1/keys/${created.id}`)).body.last_used_at, { timeout: 15_000 }).not.toBeNull();
  });

  it('enforces scopes: inference for /v1, read for GETs and /metrics, admin for changes', async () => {
    const inference = await createKey({ name: 'inference', scopes: ['inference'] });
    const reader = await createKey({ name: 'reader', scopes: ['read'] });
    const get = (key: string, path: string) => fetch(`${gateway.url}${path}`, { headers: as(key) });
    expect((await chat(inference.key)).status).toBe(200);
    expect((await get(inference.key, '/api/v1/model-servers')).status).toBe(403);
    expect((await get(inference.key, '/metrics')).status).toBe(403);
    expect((await get(reader.key, '/api/v1/model-servers')).status).toBe(200);
    expect((await get(reader.key, '/metrics')).status).toBe(200);
    expect((await chat(reader.key)).status).toBe(403);
    const write = await fetch(`${gateway.url}/api/v1/keys`, { method: 'POST', headers: { ...as(reader.key), 'content-type': 'application/json' }, body: JSON.stringify({ name: 'x', scopes: ['admin'] }) });
    expect(write.status).toBe(403);
    expect(((await write.json()) as { error: { type: string } }).error.type).toBe('permission_error');
    expect((await fetch(`${gateway.url}/metrics`)).status).toBe(401);
  });

  it('revokes, rotates and expires keys; every refusal is the same 401', async () => {
    const doomed = await createKey({ name: 'doomed', scopes: ['inference'] });
    const refusal = async (key: string) => {
      const response = await chat(key);
      return { status: response.status, body: await response.text() };
    };
    const unknown = await refusal('sk-sy-does-not-exist');
    expect(unknown.status).toBe(401);
    expect((await gateway.api('DELETE', `/api/v1/keys/${doomed.id}`)).status).toBe(204);
    expect(await refusal(doomed.key)).toEqual(unknown);

    const rotating = await createKey({ name: 'rotating', scopes: ['inference'] });
    const rotated = await gateway.api('POST', `/api/v1/keys/${rotating.id}/rotate`);
    expect(rotated.body).toMatchObject({ id: rotating.id, name: 'rotating' });
    expect(rotated.body.key).not.toBe(rotating.key);
    expect(await refusal(rotating.key)).toEqual(unknown);
    expect((await chat(rotated.body.key)).status).toBe(200);

    const expiresAt = Date.now() + 300;
    const expiring = await createKey({ name: 'expiring', scopes: ['inference'], expires_at: new Date(expiresAt).toISOString() });
    expect((await chat(expiring.key)).status).toBe(200);
    await waitFor(() => Date.now() > expiresAt, 'the expiry time to pass');
    expect(await refusal(expiring.key)).toEqual(unknown);

    const statusOf = async (id: string) => (await gateway.api('GET', `/api/v1/keys/${id}`)).body.status;
    expect([await statusOf(doomed.id), await statusOf(expiring.id), await statusOf(rotating.id)]).toEqual(['revoked', 'expired', 'active']);

    for (const hostile of ['x'.repeat(64 * 1024), "' OR '1'='1", 'sk-sy-"; DROP TABLE api_keys; --']) {
      expect(await refusal(hostile)).toEqual(unknown);
    }
    expect((await chat('')).status).toBe(401);
    expect((await gateway.api('GET', '/api/v1/keys')).status).toBe(200);
  });

  it('changes limits and scopes with PATCH, effective at once', async () => {
    const key = await createKey({ name: 'patched', scopes: ['read'] });
    expect((await chat(key.key)).status).toBe(403);
    const patched = await gateway.api('PATCH', `/api/v1/keys/${key.id}`, { scopes: ['inference'], rpm: 5 });
    expect(patched.body).toMatchObject({ scopes: ['inference'], rpm: 5 });
    const response = await chat(key.key);
    expect(response.status).toBe(200);
    expect(response.headers.get('x-ratelimit-limit-requests')).toBe('5');
  });
});

describe('model allow-lists', () => {
  it('lets a key see and use only its models; others answer exactly like models that do not exist', async () => {
    const key = await createKey({ name: 'yi-only', scopes: ['inference'], models: ['yi*'] });
    expect((await chat(key.key, 'yi34b')).status).toBe(200);
    const hidden = await chat(key.key, 'deepseek');
    const missing = await chat(key.key, 'no-such-model');
    expect(hidden.status).toBe(404);
    expect(missing.status).toBe(404);
    const hiddenError = ((await hidden.json()) as { error: Record<string, unknown> }).error;
    const missingError = ((await missing.json()) as { error: Record<string, unknown> }).error;
    expect({ ...hiddenError, message: String(hiddenError['message']).replace('deepseek', 'X') }).toEqual({ ...missingError, message: String(missingError['message']).replace('no-such-model', 'X') });
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: key.key, maxRetries: 0 });
    expect((await client.models.list()).data.map((model) => model.id)).toEqual(['yi34b']);
    const auto = await chat(key.key, 'auto:quality');
    expect(auto.headers.get('x-switchyard-model')).toBe('yi34b');
  });
});

describe('rate limits and budgets', () => {
  it('allows RPM requests a minute, with the OpenAI headers, then 429 with Retry-After; refusals do not count', async () => {
    const key = await createKey({ name: 'rpm-3', scopes: ['inference'], rpm: 3 });
    const remaining = [];
    for (let index = 0; index < 3; index++) {
      const response = await chat(key.key);
      expect(response.status).toBe(200);
      remaining.push(response.headers.get('x-ratelimit-remaining-requests'));
      expect(response.headers.get('x-ratelimit-reset-requests')).toBe('60s');
    }
    expect(remaining).toEqual(['2', '1', '0']);
    // The wall-clock minute turns (12:00:59 → 12:01:39): the key's window, begun at its first request, does not.
    now += 40_000;
    for (let index = 0; index < 3; index++) {
      const refused = await chat(key.key);
      expect(refused.status).toBe(429);
      expect(refused.headers.get('retry-after')).toBe('20');
      expect(refused.headers.get('x-ratelimit-remaining-requests')).toBe('0');
      expect(((await refused.json()) as { error: { message: string; type: string } }).error).toMatchObject({ type: 'rate_limit_error', message: expect.stringMatching(/requests per minute \(limit 3\)/) });
    }
    now += 19_999;
    expect((await chat(key.key)).status).toBe(429);
    // A minute after the first request a new window begins, with the full allowance.
    now += 1;
    const renewed = await chat(key.key);
    expect(renewed.status).toBe(200);
    expect(renewed.headers.get('x-ratelimit-remaining-requests')).toBe('2');
  });

  it('refuses a request whose estimated tokens exceed the TPM limit, with the token headers', async () => {
    const key = await createKey({ name: 'tpm-50', scopes: ['inference'], tpm: 50 });
    const small = await chat(key.key, 'yi34b', { max_tokens: 10 });
    expect(small.status).toBe(200);
    expect(small.headers.get('x-ratelimit-limit-tokens')).toBe('50');
    const big = await chat(key.key, 'yi34b', { max_tokens: 100 });
    expect(big.status).toBe(429);
    expect(((await big.json()) as { error: { message: string } }).error.message).toMatch(/tokens per minute/);
  });

  it('lets exactly one of 50 parallel requests through when the budget holds exactly one request', async () => {
    // Each request is estimated at its prompt (32 characters of messages JSON: 8 tokens) plus max_tokens 2 = 10.
    // The fake reports fewer prompt tokens than that, so a settled request never frees enough for a second one.
    const key = await createKey({ name: 'budget-one-request', scopes: ['inference'], budget_tokens: 10 });
    const responses = await Promise.all(Array.from({ length: 50 }, () => chat(key.key, 'yi34b', { max_tokens: 2 })));
    expect(responses.filter((response) => response.status === 200)).toHaveLength(1);
    expect(responses.filter((response) => response.status === 429)).toHaveLength(49);
    const refused = responses.find((response) => response.status === 429);
    expect(((await refused?.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'insufficient_quota', message: expect.stringMatching(/budget of 10 tokens is used up/) });
  });

  it('lists a key as budget_exhausted once its used tokens reach its budget, and active again when the budget is raised', async () => {
    // No max_tokens: 8 prompt + 1,024 default completion reserved fits in 1,040; the answer's 1,100 words take the key past it.
    const key = await createKey({ name: 'spender', scopes: ['inference'], budget_tokens: 1_040 });
    expect(key['status']).toBe('active');
    vllm.setReply('word '.repeat(1_100).trim());
    try {
      expect((await chat(key.key)).status).toBe(200);
    } finally {
      vllm.setReply(undefined);
    }
    const listed = async () => (await gateway.api('GET', '/api/v1/keys')).body.data.find((entry: { id: string }) => entry.id === key.id);
    await expect.poll(listed, { timeout: 15_000 }).toMatchObject({ status: 'budget_exhausted', budget_tokens: 1_040, used_tokens: expect.toSatisfy((used: number) => used >= 1_040) });
    expect((await chat(key.key)).status).toBe(429);
    const raised = await gateway.api('PATCH', `/api/v1/keys/${key.id}`, { budget_tokens: 1_000_000 });
    expect(raised.body).toMatchObject({ status: 'active', budget_tokens: 1_000_000 });
    expect((await chat(key.key)).status).toBe(200);
  });

  it('reserves a default completion for requests without max_tokens, so parallel requests cannot overshoot a budget many times over', async () => {
    const key = await createKey({ name: 'no-max-tokens', scopes: ['inference'], budget_tokens: 2_000 });
    // 200 words a reply: without a reservation 50 parallel requests estimated at 8 tokens each would all be admitted (10,000 tokens on a 2,000 budget).
    vllm.setReply('word '.repeat(200).trim());
    try {
      const responses = await Promise.all(Array.from({ length: 50 }, () => chat(key.key, 'yi34b')));
      // 8 + 1,024 reserved each: one fits in 2,000, a second does not.
      expect(responses.filter((response) => response.status === 200)).toHaveLength(1);
      const used = async () => (await gateway.api('GET', `/api/v1/keys/${key.id}`)).body.used_tokens as number;
      await expect.poll(used, { timeout: 10_000 }).toBeGreaterThan(0);
      expect(await used()).toBeLessThanOrEqual(2_000);
    } finally {
      vllm.setReply(undefined);
    }
  });
});
