import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OperationView } from '../../src/control/operations/operation.ts';
import { OperationStore } from '../../src/storage/operation-store.ts';
import { startOllamaFake, type OllamaFake } from '../fakes/index.ts';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';
import { dropSchema, postgresAvailable, uniqueSchema } from '../support/postgres.ts';
import { waitUntil } from '../support/wait-until.ts';

// Fleet operations (pulls, loads …) across replicas on one schema (decision
// 0033): an operation belongs to the replica that runs it; another replica
// shows its progress live, cancels it through the one running it, and a
// replica that starts meanwhile leaves it alone. Only an operation whose
// replica is gone is failed as interrupted. Threshold crossings are judged by
// the health checker alone: one audit row, one webhook, the flag on every replica.
const available = await postgresAvailable();
if (!available && process.env['CI'] === 'true') throw new Error('PostgreSQL must be reachable in CI');
const schema = uniqueSchema('sy_cluster_ops');
const env = { SWITCHYARD_SECRET_KEY: 'cluster-operations-secret-key-0123456789ab' };
let first: TestGateway;
let second: TestGateway;
let gpu: OllamaFake;
let phi: OllamaFake;
let serverId: string;

const operation = async (gateway: TestGateway, id: string) => (await gateway.api('GET', `/api/v1/operations/${id}`)).body as OperationView;

/** Reads an operation's SSE stream through `gateway` until it ends; answers every state it was sent. */
async function watch(gateway: TestGateway, id: string): Promise<OperationView[]> {
  const response = await fetch(`${gateway.url}/api/v1/operations/${id}/events`, { headers: { authorization: `Bearer ${adminKey}` } });
  const text = await response.text();
  return [...text.matchAll(/^data: (.+)$/gm)].map((match) => JSON.parse(match[1] as string) as OperationView);
}

describe.skipIf(!available)('operations across replicas', () => {
  beforeAll(async () => {
    gpu = await startOllamaFake();
    phi = await startOllamaFake({ models: [{ id: 'judged-model', capabilities: ['completion'] }] });
    first = await startTestGateway({ postgresSchema: schema, env });
    second = await startTestGateway({ postgresSchema: schema, env });
    const created = await first.api('POST', '/api/v1/model-servers', { name: 'gpu-1', server_type: 'ollama', base_url: gpu.url });
    expect(created.status, created.text).toBe(201);
    serverId = created.body.id as string;
    await waitUntil(async () => (await second.api('GET', `/api/v1/model-servers/${serverId}`)).status === 200, { what: 'the server on the second replica' });
  });

  afterAll(async () => {
    await Promise.all([first?.stop(), second?.stop()]);
    await gpu?.stop();
    await phi?.stop();
    await dropSchema(schema);
  });

  it('shows a pull running on one replica live through another, survives a third starting, and is cancelled through the other', async () => {
    gpu.setPullScript({ steps: 400, stepMs: 25 });
    const started = await first.api('POST', '/api/v1/models/pull', { model: 'mistral-large:123b', servers: [serverId] });
    expect(started.status, started.text).toBe(202);
    const id = started.body.operation_id as string;
    await waitUntil(async () => ((await operation(second, id)).servers[0]?.completed ?? 0) > 0, { what: 'progress stored by the first replica to show on the second' });

    // A replica starting now must not take the running pull for one a dead process left behind.
    const third = await startTestGateway({ postgresSchema: schema, env });
    try {
      expect((await operation(third, id)).status).toBe('running');
      expect(third.logs.join('')).not.toContain('marked failed: interrupted');
    } finally {
      await third.stop();
    }

    // Watched through the second replica: progress arrives as the first stores it, then the end.
    const events = watch(second, id);
    await waitUntil(async () => ((await operation(second, id)).servers[0]?.completed ?? 0) > 0);
    const cancelled = await second.api('DELETE', `/api/v1/operations/${id}`);
    gpu.setPullScript({});
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ status: 'cancelled', servers: [{ status: 'cancelled' }] });
    await waitUntil(() => gpu.requests.find((request) => request.path === '/api/pull' && (request.body as { model?: string }).model === 'mistral-large:123b')?.aborted === true, { what: 'the upstream pull to be aborted by the first replica' });
    const seen = await events;
    expect(seen.length).toBeGreaterThanOrEqual(2);
    expect(seen.at(-1)).toMatchObject({ status: 'cancelled' });
    const progress = seen.map((view) => view.servers[0]?.completed ?? 0);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect((await operation(first, id)).status).toBe('cancelled');
  });

  it('fails an operation whose replica is gone (seen gone twice), and leaves one a live replica runs', async () => {
    const stamp = new Date().toISOString();
    const row = (id: string): OperationView => ({
      id, kind: 'pull', status: 'running', model: 'mixtral', params: {}, actor_key_id: null, created_at: stamp, updated_at: stamp, finished_at: null, error: null,
      servers: [{ server_id: serverId, name: 'gpu-1', status: 'running', completed: 10, total: 100, digest: null, message: 'pulling' }],
    });
    const store = new OperationStore(first.gateway.database.db);
    await store.insert(row('op-of-a-dead-replica'), 'a-replica-killed-with-sigkill');
    await store.insert(row('op-of-a-live-replica'), second.gateway.cluster.replicaId);
    const checker = first.gateway.cluster.isChecker() ? first : second;
    const watcher = watch(checker === first ? second : first, 'op-of-a-dead-replica');

    // One sweep only suspects it (a live replica's session may be cut for a moment); the next fails it.
    expect(await checker.gateway.operations.sweepOrphans()).toBe(0);
    expect((await operation(first, 'op-of-a-dead-replica')).status).toBe('running');
    expect(await checker.gateway.operations.sweepOrphans()).toBe(1);
    expect(await operation(second, 'op-of-a-dead-replica')).toMatchObject({ status: 'failed', error: 'interrupted', servers: [{ status: 'failed', error: 'interrupted' }] });
    expect((await watcher).at(-1)).toMatchObject({ status: 'failed', error: 'interrupted' });
    expect((await operation(first, 'op-of-a-live-replica')).status).toBe('running');

    // Only the checker sweeps: the other replica never races it.
    const other = checker === first ? second : first;
    await store.insert(row('op-of-another-dead-replica'), 'another-gone-replica');
    expect(await other.gateway.operations.sweepOrphans()).toBe(0);
    expect(await other.gateway.operations.sweepOrphans()).toBe(0);
    expect((await operation(first, 'op-of-another-dead-replica')).status).toBe('running');
    // Cancelled before any sweep: nothing runs it, so the replica asked ends it at once.
    const cancelled = await other.api('DELETE', '/api/v1/operations/op-of-another-dead-replica');
    expect(cancelled.body).toMatchObject({ status: 'cancelled', servers: [{ status: 'cancelled' }] });
    expect((await operation(checker, 'op-of-another-dead-replica')).status).toBe('cancelled');

  });

  it('judges a threshold crossing once, on the checker, and shows it on every replica', async () => {
    const created = await first.api('POST', '/api/v1/model-servers', { name: 'phi-box', server_type: 'ollama', base_url: phi.url });
    expect(created.status, created.text).toBe(201);
    await first.api('POST', '/api/v1/model-servers/health-check-all');
    expect((await first.api('PUT', '/api/v1/models/judged-model/thresholds', { max_error_rate: 0.3 })).status).toBe(201);
    await phi.setFault({ kind: 'status', status: 500 }, ['/v1/chat/completions']);
    for (let index = 0; index < 10; index++) expect((await first.api('POST', '/v1/chat/completions', { model: 'judged-model', messages: [{ role: 'user', content: `hi ${index}` }] })).status).toBe(502);
    await phi.clearFault();
    await first.gateway.usage.flush({ force: true });

    await Promise.all([first.gateway.models.thresholds.checkNow(), second.gateway.models.thresholds.checkNow()]);
    await Promise.all([first.gateway.models.thresholds.checkNow(), second.gateway.models.thresholds.checkNow()]);
    const audit = (await first.api('GET', '/api/v1/audit?action=model.threshold_violated')).body as { data: Array<{ target_id: string }> };
    expect(audit.data.filter((entry) => entry.target_id === 'judged-model')).toHaveLength(1);
    const checker = first.gateway.cluster.isChecker() ? first : second;
    const other = checker === first ? second : first;
    await waitUntil(async () => ((await other.api('GET', '/api/v1/models/judged-model/thresholds')).body as { violation: unknown }).violation !== null, { what: 'the violation flag on the replica that did not judge' });
  });
});
