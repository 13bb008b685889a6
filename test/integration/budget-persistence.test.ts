import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startOpenAIFake } from '../fakes/index.ts';
import { startTestGateway } from '../support/gateway-harness.ts';

describe('token budgets', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const cleanup of cleanups) await cleanup();
  });

  it('count real usage and survive a restart', async () => {
    const upstream = await startOpenAIFake({ flavor: 'vllm', models: [{ id: 'yi34b', contextLength: 4096 }] });
    cleanups.push(() => upstream.stop());
    const dataDir = mkdtempSync(join(tmpdir(), 'sy-budget-'));
    const first = await startTestGateway({ dataDir });
    await first.api('POST', '/api/v1/model-servers', { name: 'gpu', server_type: 'vllm', base_url: upstream.url });
    await first.api('POST', '/api/v1/model-servers/health-check-all');
    const key = (await first.api('POST', '/api/v1/keys', { name: 'budgeted', scopes: ['inference'], budget_tokens: 100_000 })).body;
    const chat = (url: string) =>
      fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key.key}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'yi34b', messages: [{ role: 'user', content: 'hello there' }] }) });
    let reported = 0;
    for (let index = 0; index < 3; index++) {
      const response = await chat(first.url);
      reported += ((await response.json()) as { usage: { total_tokens: number } }).usage.total_tokens;
    }
    await first.stop();

    const second = await startTestGateway({ dataDir });
    cleanups.push(() => second.stop());
    const stored = (await second.api('GET', `/api/v1/keys/${key.id}`)).body;
    expect(stored.used_tokens).toBe(reported);
    await second.api('PATCH', `/api/v1/keys/${key.id}`, { budget_tokens: reported });
    const refused = await chat(second.url);
    expect(refused.status).toBe(429);
  });
});
