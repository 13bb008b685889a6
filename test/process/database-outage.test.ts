import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAIFake, type OpenAIFake } from '../fakes/index.ts';
import { spawnGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { startOwnPostgres, type OwnPostgres } from '../support/own-postgres.ts';
import { waitUntil } from '../support/wait-until.ts';

const adminKey = 'sk-sy-database-outage-admin-key-000';
const headers = { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' };
const chat = JSON.stringify({ model: 'yi34b', messages: [{ role: 'user', content: 'hi' }] });

let upstream: OpenAIFake;
let database: OwnPostgres;
let gateway: GatewayProcess;

beforeAll(async () => {
  upstream = await startOpenAIFake({ flavor: 'vllm', models: [{ id: 'yi34b', contextLength: 4096 }] });
  database = await startOwnPostgres();
  gateway = await spawnGateway({
    SWITCHYARD_DATA_DIR: mkdtempSync(join(tmpdir(), 'sy-outage-')),
    SWITCHYARD_ADMIN_KEY: adminKey,
    DATABASE_URL: database.url,
    SWITCHYARD_USAGE_FLUSH_MS: '50',
  });
  const created = await fetch(`${gateway.url}/api/v1/model-servers`, { method: 'POST', headers, body: JSON.stringify({ name: 'gpu', server_type: 'vllm', base_url: upstream.url }) });
  expect(created.status).toBe(201);
  await fetch(`${gateway.url}/api/v1/model-servers/health-check-all`, { method: 'POST', headers: { authorization: headers.authorization } });
});

afterAll(async () => {
  await gateway?.kill('SIGKILL');
  await database?.destroy();
  await upstream?.stop();
});

async function usageRows(): Promise<number> {
  const client = new pg.Client({ connectionString: database.url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const result = await client.query<{ count: string }>('select count(*) as count from usage_records');
    return Number(result.rows[0]?.count);
  } finally {
    await client.end();
  }
}

async function chatStatuses(count: number): Promise<number[]> {
  return Promise.all(Array.from({ length: count }, () => fetch(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers, body: chat }).then(async (response) => {
    await response.arrayBuffer();
    return response.status;
  })));
}

async function createKey(name: string): Promise<{ status: number; body: { error?: { code: string; message: string } } }> {
  const response = await fetch(`${gateway.url}/api/v1/keys`, { method: 'POST', headers, body: JSON.stringify({ name, scopes: ['inference'] }) });
  return { status: response.status, body: (await response.json()) as { error?: { code: string; message: string } } };
}

describe('a PostgreSQL outage under traffic', () => {
  it('keeps inference answering, degrades admin writes and /ready, and writes every queued usage record once the database is back', async () => {
    expect(await chatStatuses(20)).toEqual(Array(20).fill(200));
    await waitUntil(async () => (await usageRows()) === 20, { what: 'the first 20 usage records' });

    // Traffic is in flight and the usage recorder is flushing when the database dies.
    const during = chatStatuses(30);
    await database.stop('immediate');
    const statuses = [...(await during), ...(await chatStatuses(30))];
    expect(statuses).toEqual(Array(60).fill(200));

    const write = await createKey('during-outage');
    expect(write.status).toBe(503);
    expect(write.body.error?.code).toBe('SY_STORAGE_UNAVAILABLE');
    const ready = await fetch(`${gateway.url}/ready`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ status: 'not_ready', checks: { storage: 'unreachable' } });
    expect((await fetch(`${gateway.url}/health`)).status).toBe(200);
    const metrics = await (await fetch(`${gateway.url}/metrics`, { headers: { authorization: headers.authorization } })).text();
    expect(metrics).toMatch(/switchyard_usage_records_queued \d+/);

    await database.start();
    await waitUntil(async () => (await fetch(`${gateway.url}/ready`)).status === 200, { what: '/ready to recover' });
    expect((await createKey('after-outage')).status).toBe(201);
    await waitUntil(async () => (await usageRows()) >= 80, { what: 'the queued usage records to be written' });
    // Exactly once each: nothing lost, nothing written twice.
    expect(await usageRows()).toBe(80);
    expect(gateway.child.exitCode).toBeNull();
  });
});
