import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAIFake, type OpenAIFake } from '../fakes/index.ts';
import { spawnGateway } from '../support/gateway-process.ts';
import { waitFor } from '../support/wait-for.ts';

const adminKey = 'sk-sy-usage-durability-admin-key-00';
let upstream: OpenAIFake;

beforeAll(async () => {
  upstream = await startOpenAIFake({ flavor: 'vllm', models: [{ id: 'yi34b', contextLength: 4096 }] });
});

afterAll(async () => {
  await upstream.stop();
});

/** A gateway process with one server, that has answered `count` chat requests. */
async function gatewayWithTraffic(count: number, flushMs: string) {
  const dataDir = mkdtempSync(join(tmpdir(), 'sy-usage-'));
  const gateway = await spawnGateway({ SWITCHYARD_DATA_DIR: dataDir, SWITCHYARD_ADMIN_KEY: adminKey, SWITCHYARD_USAGE_FLUSH_MS: flushMs });
  const headers = { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' };
  await fetch(`${gateway.url}/api/v1/model-servers`, { method: 'POST', headers, body: JSON.stringify({ name: 'gpu', server_type: 'vllm', base_url: upstream.url }) });
  await fetch(`${gateway.url}/api/v1/model-servers/health-check-all`, { method: 'POST', headers: { authorization: headers.authorization } });
  const body = JSON.stringify({ model: 'yi34b', messages: [{ role: 'user', content: 'hi' }] });
  const statuses = await Promise.all(Array.from({ length: count }, () => fetch(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers, body }).then((response) => response.status)));
  expect(statuses.every((status) => status === 200)).toBe(true);
  return { gateway, dataDir };
}

function usageCount(dataDir: string): number {
  const database = new BetterSqlite3(join(dataDir, 'switchyard.db'), { readonly: true });
  try {
    return (database.prepare('select count(*) as count from usage_records').get() as { count: number }).count;
  } finally {
    database.close();
  }
}

describe('usage records survive the process ending', () => {
  it('loses nothing on SIGTERM, even with a long flush interval', async () => {
    const { gateway, dataDir } = await gatewayWithTraffic(40, '60000');
    expect(await gateway.kill('SIGTERM')).toBe(0);
    expect(usageCount(dataDir)).toBe(40);
  });

  it('loses at most the last flush interval on SIGKILL', async () => {
    const { gateway, dataDir } = await gatewayWithTraffic(40, '100');
    // The flush timer writes everything within an interval; once it has, a crash loses nothing of it.
    await waitFor(() => usageCount(dataDir) === 40, 'the flush timer to write the records');
    await gateway.kill('SIGKILL');
    expect(usageCount(dataDir)).toBe(40);
  });
});
