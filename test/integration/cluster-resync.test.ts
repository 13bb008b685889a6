import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RouteStore } from '../../src/storage/route-store.ts';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.ts';
import { dropSchema, postgresAvailable, postgresUrl, uniqueSchema } from '../support/postgres.ts';
import { waitUntil } from '../support/wait-until.ts';

// Two replicas on one schema (decision 0033). A replica whose channel session
// is cut re-reads everything from storage when it is back (it may have missed
// messages meanwhile), listens again, and a checker that loses its session
// stops probing while the other replica takes the checks over.
const available = await postgresAvailable();
if (!available && process.env['CI'] === 'true') throw new Error('PostgreSQL must be reachable in CI');
const schema = uniqueSchema('sy_cluster_resync');
const env = { SWITCHYARD_SECRET_KEY: 'cluster-resync-secret-key-0123456789abcdef' };
let first: TestGateway;
let second: TestGateway;

/** Ends a replica's channel session from outside, as a failover or a network cut would. */
async function cutChannel(gateway: TestGateway): Promise<void> {
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  try {
    const ended = await client.query('select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1', [`switchyard cluster ${gateway.gateway.cluster.replicaId}`]);
    expect(ended.rowCount).toBe(1);
  } finally {
    await client.end();
  }
}

const routeNames = async (gateway: TestGateway) => ((await gateway.api('GET', '/api/v1/routes')).body as { data: Array<{ name: string }> }).data.map((route) => route.name);

describe.skipIf(!available)('a replica whose channel was cut', () => {
  beforeAll(async () => {
    first = await startTestGateway({ postgresSchema: schema, env });
    second = await startTestGateway({ postgresSchema: schema, env });
  });

  afterAll(async () => {
    await Promise.all([first?.stop(), second?.stop()]);
    await dropSchema(schema);
  });

  it('reads what it missed from storage when it reconnects, then hears changes again', async () => {
    // Written behind every replica's back: no message announces it.
    const now = new Date().toISOString();
    await new RouteStore(first.gateway.database.db).insert({ id: randomUUID(), name: 'written-behind', strategy: null, targets: [{ model: 'm', weight: 1, tier: 1 }], fallbacks: [], metadata: {}, managedBy: 'api', createdAt: now, updatedAt: now });
    expect(await routeNames(second)).not.toContain('written-behind');
    await cutChannel(second);
    await waitUntil(async () => (await routeNames(second)).includes('written-behind'), { what: 'the reconnected replica to re-read the routes' });
    expect(second.logs.join('')).toContain('the cluster channel is back');
    // Listening again: a change through the other replica arrives as a message.
    expect((await first.api('POST', '/api/v1/routes', { name: 'after-reconnect', targets: ['m'] })).status).toBe(201);
    await waitUntil(async () => (await routeNames(second)).includes('after-reconnect'));
  });

  it('a checker whose session is cut stops probing, and the other replica takes the checks over', async () => {
    const checkerOf = (gateway: TestGateway) => gateway.gateway.cluster.isChecker();
    const [checker, other] = checkerOf(first) ? [first, second] : [second, first];
    expect(checkerOf(checker)).toBe(true);
    expect(checkerOf(other)).toBe(false);
    await cutChannel(checker);
    await waitUntil(() => checkerOf(other), { what: 'the other replica to take the checker lock' });
    expect(checker.logs.join('')).toContain('this replica no longer probes the fleet');
    // Back, it finds the lock taken and stays a replica that only serves.
    await waitUntil(async () => ((await checker.api('GET', '/api/v1/cluster')).body as { connected: boolean }).connected);
    expect(checkerOf(checker)).toBe(false);
  });
});
