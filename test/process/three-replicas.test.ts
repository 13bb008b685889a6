import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAIFake, type OpenAIFake } from '../fakes/index.ts';
import { spawnGateway, type GatewayProcess } from '../support/gateway-process.ts';
import { adminQuery, postgresAvailable, postgresUrl } from '../support/postgres.ts';
import { redisAvailable, redisUrl } from '../support/redis.ts';
import { waitUntil } from '../support/wait-until.ts';

// Issue 16's three-replica test (decision 0033): three `switchyard serve`
// processes on one PostgreSQL database and one Redis act as one gateway.
// Changes travel by LISTEN/NOTIFY, one replica (the holder of the health
// checker lock) probes the fleet, circuit openings are shared, rate limits
// are counted in Redis. Latencies are printed, not asserted (no wall-clock
// limits in tests); the assertions are on what each replica does.
const adminKey = 'sk-sy-three-replicas-admin-0000000';
const secretKey = 'three-replicas-secret-key-0123456789abcdef';
const intervalS = 1;
const available = (await postgresAvailable()) && (await redisAvailable());
if (!available && process.env['CI'] === 'true') throw new Error('PostgreSQL and Redis must be reachable in CI');
if (!available) console.warn('SKIPPED: three-replica test needs PostgreSQL and Redis');

let databaseUrl = '';
let databaseName = '';
const replicas: GatewayProcess[] = [];
const fakes: OpenAIFake[] = [];

async function call(replica: GatewayProcess, method: string, path: string, key = adminKey, body?: unknown): Promise<{ status: number; json: any }> {
  const response = await fetch(`${replica.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, json: text === '' ? null : JSON.parse(text) };
}

async function startReplica(index: number): Promise<GatewayProcess> {
  return spawnGateway({
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    SWITCHYARD_SECRET_KEY: secretKey,
    SWITCHYARD_ADMIN_KEY: adminKey,
    SWITCHYARD_DATA_DIR: mkdtempSync(join(tmpdir(), `sy-three-${index}-`)),
    SWITCHYARD_HEALTH_INTERVAL_S: String(intervalS),
    SWITCHYARD_HEALTH_FAILURES_TO_OFFLINE: '1',
    SWITCHYARD_BREAKER_FAILURE_THRESHOLD: '2',
    SWITCHYARD_BREAKER_COOLDOWN_MS: '600000',
    SWITCHYARD_LOG_FORMAT: 'json',
    SWITCHYARD_LOG_LEVEL: 'warn',
  });
}

const checkerOf = async (replica: GatewayProcess) => (await call(replica, 'GET', '/api/v1/cluster')).json as { replica: { id: string; checker: boolean }; replicas: Array<{ id: string; checker: boolean }>; connected: boolean };
const probesOf = (fake: OpenAIFake) => fake.requests.filter((request) => request.path.startsWith('/v1/models')).length;

/** How long until `check` holds, in ms, polling as fast as the replicas answer. */
async function timeUntil(check: () => Promise<boolean>): Promise<number> {
  const started = performance.now();
  await waitUntil(check);
  return Math.round(performance.now() - started);
}

describe.skipIf(!available)('three replicas on one PostgreSQL and Redis', () => {
  beforeAll(async () => {
    databaseName = `sy_three_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
    await adminQuery(`create database ${databaseName}`);
    const url = new URL(postgresUrl);
    url.pathname = `/${databaseName}`;
    databaseUrl = url.toString();
    for (const index of [0, 1, 2]) replicas.push(await startReplica(index));
  });

  afterAll(async () => {
    await Promise.all(replicas.map((replica) => replica.kill('SIGKILL')));
    await Promise.all(fakes.map((fake) => fake.stop()));
    if (databaseName !== '') await adminQuery(`drop database if exists ${databaseName} with (force)`);
  });

  it('see each other, and exactly one of them is the health checker', async () => {
    await waitUntil(async () => (await checkerOf(replicas[0] as GatewayProcess)).replicas.length === 3);
    const views = await Promise.all(replicas.map(checkerOf));
    expect(views.every((view) => view.connected)).toBe(true);
    expect(views.filter((view) => view.replica.checker)).toHaveLength(1);
  });

  it('a key created on A works on C; revoked on B, it fails on A', async () => {
    const [a, b, c] = replicas as [GatewayProcess, GatewayProcess, GatewayProcess];
    const created = await call(a, 'POST', '/api/v1/keys', adminKey, { name: 'shared', scopes: ['inference'] });
    expect(created.status).toBe(201);
    const key = created.json.key as string;
    const seenMs = await timeUntil(async () => (await call(c, 'GET', '/v1/models', key)).status === 200);
    // Used on A first, so A remembers it (decision 0036): the revocation on B must reach that too.
    expect((await call(a, 'GET', '/v1/models', key)).status).toBe(200);
    const revoked = await call(b, 'DELETE', `/api/v1/keys/${created.json.id as string}`);
    expect(revoked.status).toBeLessThan(300);
    const goneMs = await timeUntil(async () => (await call(a, 'GET', '/v1/models', key)).status === 401);
    console.log(`three replicas: key created on A accepted on C after ${seenMs} ms; revoked on B refused on A after ${goneMs} ms`);
  });

  it('a server added on A is listed everywhere and probed once per interval in all', async () => {
    const fake = await startOpenAIFake({ flavor: 'vllm', models: [{ id: 'shared-model' }] });
    fakes.push(fake);
    const [a] = replicas as [GatewayProcess];
    const added = await call(a, 'POST', '/api/v1/model-servers', adminKey, { name: 'gpu-shared', server_type: 'vllm', base_url: fake.url, health_check_interval_s: intervalS });
    expect(added.status).toBe(201);
    const listedMs = await timeUntil(async () => {
      const views = await Promise.all(replicas.map((replica) => call(replica, 'GET', '/v1/models')));
      return views.every((view) => (view.json.data as Array<{ id: string }>).some((model) => model.id === 'shared-model'));
    });
    console.log(`three replicas: a server added on A served its model on all three after ${listedMs} ms`);
    // Probe starts, as the fake saw them: one checker keeps them an interval apart; three would interleave.
    const starts: number[] = [];
    const before = probesOf(fake);
    await waitUntil(() => {
      const now = performance.now();
      const count = probesOf(fake);
      while (starts.length < count - before) starts.push(now);
      return count - before >= 6;
    });
    const gaps = starts.slice(1).map((at, index) => at - (starts[index] as number));
    console.log(`three replicas: gaps between probes of one server: ${gaps.map((gap) => Math.round(gap)).join(', ')} ms`);
    // Seen at a 10 ms poll (plus a busy event loop): a gap can look a little shorter than it was.
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(intervalS * 1000 - 50);
  });

  it('an RPM limit of 30 lets exactly 30 through across the three', async () => {
    const [a] = replicas as [GatewayProcess];
    const created = await call(a, 'POST', '/api/v1/keys', adminKey, { name: 'limited', scopes: ['inference'], rpm: 30 });
    const key = created.json.key as string;
    await waitUntil(async () => (await Promise.all(replicas.map((replica) => call(replica, 'GET', '/v1/models', key)))).every((view) => view.status === 200));
    const statuses: number[] = [];
    for (let index = 0; index < 45; index++) {
      const replica = replicas[index % 3] as GatewayProcess;
      statuses.push((await call(replica, 'POST', '/v1/chat/completions', key, { model: 'shared-model', messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 })).status);
    }
    expect(statuses.filter((status) => status === 200)).toHaveLength(30);
    expect(statuses.filter((status) => status === 429)).toHaveLength(15);
  });

  it('a server that dies is offline on all three, and a circuit opened on one is open on all', async () => {
    const fake = fakes[0] as OpenAIFake;
    const [a, b, c] = replicas as [GatewayProcess, GatewayProcess, GatewayProcess];
    // Live traffic on A fails twice: its circuit opens, and B and C open theirs without sending anything.
    await fake.setFault({ kind: 'status', status: 500 }, ['/v1/chat']);
    for (let attempt = 0; attempt < 2; attempt++) await call(a, 'POST', '/v1/chat/completions', adminKey, { model: 'shared-model', messages: [{ role: 'user', content: 'hi' }] });
    const circuitOf = async (replica: GatewayProcess) => {
      const status = await call(replica, 'GET', '/api/v1/models/shared-model/status');
      return (status.json.deployments as Array<{ circuit: string }> | undefined)?.[0]?.circuit;
    };
    await waitUntil(async () => (await Promise.all([b, c].map(circuitOf))).every((circuit) => circuit === 'open'));
    await fake.clearFault();
    await fake.setFault({ kind: 'refuse' });
    const offlineMs = await timeUntil(async () => {
      const views = await Promise.all(replicas.map((replica) => call(replica, 'GET', '/api/v1/model-servers')));
      return views.every((view) => (view.json.data as Array<{ name: string; health_status: string }>).find((server) => server.name === 'gpu-shared')?.health_status === 'offline');
    });
    console.log(`three replicas: a refused server was offline on all three ${offlineMs} ms after it stopped answering`);
    await fake.clearFault();
    await waitUntil(async () => {
      const views = await Promise.all(replicas.map((replica) => call(replica, 'GET', '/api/v1/model-servers')));
      return views.every((view) => (view.json.data as Array<{ name: string; health_status: string }>).find((server) => server.name === 'gpu-shared')?.health_status === 'online');
    });
  });

  it('killing the checker moves the checks to another replica', async () => {
    const views = await Promise.all(replicas.map(checkerOf));
    const index = views.findIndex((view) => view.replica.checker);
    expect(index).toBeGreaterThanOrEqual(0);
    const checker = replicas[index] as GatewayProcess;
    await checker.kill('SIGKILL');
    const survivors = replicas.filter((replica) => replica !== checker);
    const movedMs = await timeUntil(async () => (await Promise.all(survivors.map(checkerOf))).filter((view) => view.replica.checker).length === 1);
    const fake = fakes[0] as OpenAIFake;
    const probes = probesOf(fake);
    await waitUntil(() => probesOf(fake) >= probes + 2);
    console.log(`three replicas: the checker was killed; another took the checks over after ${movedMs} ms`);
  });
});
