import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOllamaFake, type OllamaFake } from '../fakes/index.ts';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.ts';
import { postgresAvailable } from '../support/postgres.ts';

const hasPostgres = await postgresAvailable();

describe.skipIf(!hasPostgres)('the gateway on PostgreSQL (DATABASE_URL)', () => {
  let gateway: TestGateway;
  let ollama: OllamaFake;

  beforeAll(async () => {
    [gateway, ollama] = await Promise.all([startTestGateway({ postgres: true }), startOllamaFake()]);
  });

  afterAll(async () => {
    await Promise.all([gateway?.stop(), ollama?.stop()]);
  });

  it('registers, checks, discovers, survives a restart and deletes, all in PostgreSQL', async () => {
    expect(gateway.gateway.database.dialect).toBe('postgres');
    const created = await gateway.api('POST', '/api/v1/model-servers', { name: 'primary', base_url: ollama.url, api_key: 'sk-upstream-canary-pg' });
    expect(created.status).toBe(201);
    expect(created.body.server_type).toBe('ollama');
    expect((await gateway.api('POST', '/api/v1/model-servers', { name: 'primary', server_type: 'ollama', base_url: ollama.url })).status).toBe(409);
    await gateway.api('POST', '/api/v1/model-servers/health-check-all');
    await ollama.stop();
    await gateway.api('POST', '/api/v1/model-servers/health-check-all');
    await ollama.restart();
    await gateway.api('POST', '/api/v1/model-servers/health-check-all');

    // A second registry over the same database sees exactly what the first committed.
    await gateway.gateway.registry.load();
    const server = gateway.gateway.registry.get(created.body.id);
    expect(server?.apiKey?.reveal()).toBe('sk-upstream-canary-pg');
    expect(gateway.gateway.registry.modelsOf(created.body.id)).toHaveLength(5);

    const health = (await gateway.api('GET', `/api/v1/model-servers/${created.body.id}/health`)).body;
    expect(health.transitions.map((transition: { to: string }) => transition.to).reverse()).toEqual(['online', 'degraded', 'online']);
    const metrics = (await gateway.api('GET', `/api/v1/model-servers/${created.body.id}/metrics`)).body;
    expect(metrics.latest.loaded_models).toEqual(['mixtral:latest']);

    // Usage records and analytics on PostgreSQL.
    const chat = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: 'Bearer sk-sy-test-admin-key-0123456789abcdef', 'content-type': 'application/json', 'x-request-id': 'pg-usage-1' },
      body: JSON.stringify({ model: 'mixtral', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(chat.status).toBe(200);
    await gateway.gateway.usage.flush();
    const usage = (await gateway.api('GET', '/api/v1/analytics/usage?group_by=model')).body;
    expect(usage.data[0]).toMatchObject({ group: 'mixtral:latest', requests: 1, success_rate: 1 });
    const logged = gateway.logs.filter((line) => line.includes('"reqId":"pg-usage-1"'));
    expect(logged.length).toBeGreaterThan(0);

    expect((await gateway.api('DELETE', `/api/v1/model-servers/${created.body.id}`)).status).toBe(204);
    expect(await gateway.gateway.database.db.selectFrom('server_models').selectAll().execute()).toHaveLength(0);
    expect(await gateway.gateway.database.db.selectFrom('health_checks').selectAll().execute()).toHaveLength(0);
  });
});
