import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAIFake, type OpenAIFake } from '../fakes/index.ts';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';
import { waitUntil } from '../support/wait-until.ts';

let gateway: TestGateway;
let upstream: OpenAIFake;

beforeAll(async () => {
  gateway = await startTestGateway({ env: { SWITCHYARD_USAGE_FLUSH_MS: '20' } });
  upstream = await startOpenAIFake({ flavor: 'vllm', models: [{ id: 'yi34b', contextLength: 4096 }] });
  await gateway.api('POST', '/api/v1/model-servers', { name: 'gpu', server_type: 'vllm', base_url: upstream.url });
  await gateway.api('POST', '/api/v1/model-servers/health-check-all');
});

afterAll(async () => {
  await gateway.stop();
  await upstream.stop();
});

async function chat(): Promise<number> {
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'yi34b', messages: [{ role: 'user', content: 'hi' }] }),
  });
  await response.arrayBuffer();
  return response.status;
}

function usageCount(): number {
  return (gateway.gateway.database.sqlite?.prepare('select count(*) as count from usage_records').get() as { count: number }).count;
}

describe('SQLite locked by another process (SQLITE_BUSY)', () => {
  it('answers admin writes with SY_STORAGE_UNAVAILABLE, keeps inference answering, and writes the usage records once the lock is gone', async () => {
    const before = usageCount();
    // Another process (a backup, the sqlite3 shell) holds the write lock.
    const blocker = new BetterSqlite3(join(gateway.dataDir, 'switchyard.db'));
    blocker.exec('begin exclusive');
    try {
      const write = await gateway.api('POST', '/api/v1/keys', { name: 'while-locked', scopes: ['inference'] });
      expect(write.status).toBe(503);
      expect(write.body.error.code).toBe('SY_STORAGE_UNAVAILABLE');
      expect(write.body.error.message).not.toMatch(/SQLITE/);
      const statuses = [];
      for (let index = 0; index < 5; index++) statuses.push(await chat());
      expect(statuses).toEqual([200, 200, 200, 200, 200]);
      expect(usageCount()).toBe(before);
    } finally {
      blocker.exec('commit');
      blocker.close();
    }
    expect((await gateway.api('POST', '/api/v1/keys', { name: 'after-lock', scopes: ['inference'] })).status).toBe(201);
    await waitUntil(() => usageCount() === before + 5, { what: 'the usage records kept through the lock' });
  });
});
