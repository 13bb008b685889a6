import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAIFake, type OpenAIFake } from '../fakes/index.ts';
import { spawnGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { postgresBinDir, startOwnPostgres, type OwnPostgres } from '../support/own-postgres.ts';
import { waitUntil } from '../support/wait-until.ts';

/**
 * Issue 16's spool test: a PostgreSQL of the test's own is stopped under
 * traffic, the gateway is killed with SIGKILL while its records are only in
 * the spool, and every record still arrives in the database exactly once.
 */
const binDir = postgresBinDir();
const hasInitdb = binDir !== null && existsSync(join(binDir, 'initdb'));
if (!hasInitdb) {
  if (process.env['CI'] === 'true') throw new Error('initdb not found under /usr/lib/postgresql/*/bin and CI=true: the usage spool process test cannot run');
  process.stderr.write('\n*** initdb not found under /usr/lib/postgresql/*/bin: the usage spool process test is SKIPPED ***\n\n');
}

const adminKey = 'sk-sy-usage-spool-admin-key-000000';
const headers = { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' };
const chat = JSON.stringify({ model: 'yi34b', messages: [{ role: 'user', content: 'hi' }] });

let upstream: OpenAIFake;
let database: OwnPostgres;
let gateway: GatewayProcess | null = null;
const dataDir = mkdtempSync(join(tmpdir(), 'sy-usage-spool-process-'));
const spoolDir = join(dataDir, 'usage-spool');
const environment = () => ({ SWITCHYARD_DATA_DIR: dataDir, SWITCHYARD_ADMIN_KEY: adminKey, DATABASE_URL: database.url, SWITCHYARD_USAGE_FLUSH_MS: '50' });

beforeAll(async () => {
  if (!hasInitdb) return;
  upstream = await startOpenAIFake({ flavor: 'vllm', models: [{ id: 'yi34b', contextLength: 4096 }] });
  database = await startOwnPostgres();
});

afterAll(async () => {
  await gateway?.kill('SIGKILL');
  await database?.destroy();
  await upstream?.stop();
});

/** Sends `count` chat requests at once; answers with the request ids the gateway gave them. */
async function chatRequests(count: number): Promise<string[]> {
  const target = gateway as GatewayProcess;
  return Promise.all(
    Array.from({ length: count }, async () => {
      const response = await fetch(`${target.url}/v1/chat/completions`, { method: 'POST', headers, body: chat });
      await response.arrayBuffer();
      expect(response.status).toBe(200);
      return response.headers.get('x-request-id') as string;
    }),
  );
}

async function usageRows(): Promise<{ total: number; distinctIds: number; requestIds: string[] }> {
  const client = new pg.Client({ connectionString: database.url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const counts = await client.query<{ total: string; distinct_ids: string }>('select count(*) as total, count(distinct id) as distinct_ids from usage_records');
    const ids = await client.query<{ request_id: string }>('select request_id from usage_records');
    return { total: Number(counts.rows[0]?.total), distinctIds: Number(counts.rows[0]?.distinct_ids), requestIds: ids.rows.map((row) => row.request_id) };
  } finally {
    await client.end();
  }
}

async function metric(name: string): Promise<number | null> {
  const text = await (await fetch(`${(gateway as GatewayProcess).url}/metrics`, { headers: { authorization: headers.authorization } })).text();
  const match = new RegExp(`^${name} (\\d+)$`, 'm').exec(text);
  return match === null ? null : Number(match[1]);
}

function spooledLines(): number {
  if (!existsSync(spoolDir)) return 0;
  return readdirSync(spoolDir)
    .filter((name) => name.endsWith('.jsonl'))
    .reduce((sum, name) => sum + readFileSync(join(spoolDir, name), 'utf8').split('\n').filter((line) => line !== '').length, 0);
}

describe.skipIf(!hasInitdb)('usage records through a database outage and kill -9', () => {
  it('spools what the stopped database cannot take, survives SIGKILL twice, and writes every record exactly once when the database is back', async () => {
    gateway = await spawnGateway(environment());
    const created = await fetch(`${gateway.url}/api/v1/model-servers`, { method: 'POST', headers, body: JSON.stringify({ name: 'gpu', server_type: 'vllm', base_url: upstream.url }) });
    expect(created.status).toBe(201);
    await fetch(`${gateway.url}/api/v1/model-servers/health-check-all`, { method: 'POST', headers: { authorization: headers.authorization } });
    const sent: string[] = await chatRequests(10);
    await waitUntil(async () => (await usageRows()).total === 10, { what: 'the first 10 usage records' });

    // Two outages, each ending in a SIGKILL while the records are on disk only.
    for (const cycle of [1, 2]) {
      await database.stop('immediate');
      sent.push(...(await chatRequests(40)));
      await waitUntil(async () => (await metric('switchyard_usage_records_spooled')) === 40, { what: `the outage ${cycle} records in the spool` });
      expect(await metric('switchyard_usage_records_queued')).toBe(0);
      // What the console's integrations panel reads: a 503 (storage down) that still says what waits on disk.
      const health = await fetch(`${gateway.url}/api/v1/integration/health`, { headers: { authorization: headers.authorization } });
      expect(health.status).toBe(503);
      expect(((await health.json()) as { usage?: unknown }).usage).toEqual({ queued: 0, spooled: 40 });
      expect(gateway.output()).toMatch(/usage records are being spooled to disk/);
      await gateway.kill('SIGKILL');
      expect(spooledLines()).toBe(40);

      // Started again while the database is still down, the gateway waits for it (decision 0034): live, not
      // ready, every other request a clear 503, and the spool left as it is until the database answers.
      if (cycle === 1) {
        const waiting = await spawnGateway(environment(), [], { until: 'waiting-for-database' });
        gateway = waiting;
        expect((await fetch(`${waiting.url}/health`)).status).toBe(200);
        const ready = await fetch(`${waiting.url}/ready`);
        expect([ready.status, await ready.json()]).toEqual([503, { status: 'starting', checks: { storage: 'unreachable' } }]);
        const refused = await fetch(`${waiting.url}/v1/chat/completions`, { method: 'POST', headers, body: chat });
        expect([refused.status, refused.headers.get('retry-after')]).toEqual([503, '5']);
        expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('SY_STARTING');
        // The same in Anthropic's terms: its SDKs back off on 529 overloaded_error.
        const anthropic = await fetch(`${waiting.url}/v1/messages`, { method: 'POST', headers, body: chat });
        expect([anthropic.status, ((await anthropic.json()) as { error: { type: string } }).error.type]).toEqual([529, 'overloaded_error']);
        expect(spooledLines()).toBe(40);
        expect(await usageRows().catch(() => null)).toBeNull();

        // The database comes back: the same process finishes starting on the port it held, replays the spool, serves.
        await database.start();
        await waitUntil(async () => (await fetch(`${waiting.url}/ready`).catch(() => null))?.status === 200, { what: 'the waiting gateway to become ready' });
        await waitUntil(async () => (await usageRows()).total === 50, { what: 'the 40 spooled records replayed at start-up' });
        expect(waiting.output()).toMatch(/usage records spooled by an earlier run/);
        expect(waiting.output()).toMatch(/usage spool replayed/);
        expect(await metric('switchyard_usage_records_spooled')).toBe(0);
        expect(spooledLines()).toBe(0);
      }
    }
    // After the second SIGKILL, the restarted gateway finds the database already up again.
    await database.start();
    gateway = await spawnGateway(environment());
    sent.push(...(await chatRequests(10)));
    await waitUntil(async () => (await usageRows()).total >= sent.length, { what: 'every record in the database' });

    const rows = await usageRows();
    expect(rows.total).toBe(sent.length);
    expect(rows.distinctIds).toBe(sent.length);
    expect(new Set(rows.requestIds)).toEqual(new Set(sent));
    expect(rows.requestIds).toHaveLength(new Set(sent).size);
    expect(spooledLines()).toBe(0);
  });
});
