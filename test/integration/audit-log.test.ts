import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';

let gateway: TestGateway;

beforeAll(async () => {
  gateway = await startTestGateway();
});

afterAll(async () => {
  await gateway.stop();
});

describe('the audit log', () => {
  it('records who changed what, before and after, with secrets redacted, request id and source address', async () => {
    const created = await gateway.api('POST', '/api/v1/model-servers', { name: 'audited', server_type: 'ollama', base_url: 'http://10.0.0.5:11434', api_key: 'sk-upstream-audit-canary' }, { 'x-request-id': 'req-create-1' });
    const id = created.body.id;
    await gateway.api('PUT', `/api/v1/model-servers/${id}`, { name: 'audited-2' });
    await gateway.api('DELETE', `/api/v1/model-servers/${id}`);
    const { body } = await gateway.api('GET', `/api/v1/audit?target_id=${id}`);
    expect(body.data.map((entry: { action: string }) => entry.action)).toEqual(['server.delete', 'server.update', 'server.create']);
    const [deleted, updated, first] = body.data;
    expect(first).toMatchObject({ actor_key_id: 'env-admin', target_type: 'server', request_id: 'req-create-1', source_ip: '127.0.0.1', before: null });
    expect(first.after).toMatchObject({ name: 'audited', has_api_key: true });
    expect(updated.before.name).toBe('audited');
    expect(updated.after.name).toBe('audited-2');
    expect(deleted.after).toBeNull();
    expect(JSON.stringify(body)).not.toContain('sk-upstream-audit-canary');
    const rows = await gateway.gateway.database.db.selectFrom('audit_log').selectAll().execute();
    expect(JSON.stringify(rows)).not.toContain('sk-upstream-audit-canary');
  });

  it('writes nothing when the change itself fails, and records key changes without the key', async () => {
    await gateway.api('POST', '/api/v1/model-servers', { name: 'taken', server_type: 'ollama', base_url: 'http://10.0.0.6:11434' });
    const before = (await gateway.api('GET', '/api/v1/audit?limit=500')).body.data.length;
    expect((await gateway.api('POST', '/api/v1/model-servers', { name: 'taken', server_type: 'ollama', base_url: 'http://10.0.0.7:11434' })).status).toBe(409);
    expect((await gateway.api('GET', '/api/v1/audit?limit=500')).body.data.length).toBe(before);

    const key = await gateway.api('POST', '/api/v1/keys', { name: 'audited-key', scopes: ['inference'] });
    const entries = (await gateway.api('GET', `/api/v1/audit?action=key.create&target_id=${key.body.id}`)).body.data;
    expect(entries).toHaveLength(1);
    expect(JSON.stringify(entries)).not.toContain(key.body.key);
  });

  it('pages with a cursor and filters by actor and time', async () => {
    for (let index = 0; index < 5; index++) {
      await gateway.api('POST', '/api/v1/routes', { name: `page-${index}`, targets: ['mixtral'] });
    }
    const first = (await gateway.api('GET', '/api/v1/audit?action=route.create&limit=2')).body;
    expect(first.data).toHaveLength(2);
    const second = (await gateway.api('GET', `/api/v1/audit?action=route.create&limit=2&cursor=${first.next_cursor}`)).body;
    const third = (await gateway.api('GET', `/api/v1/audit?action=route.create&limit=2&cursor=${second.next_cursor}`)).body;
    const names = [...first.data, ...second.data, ...third.data].map((entry: { after: { name: string } }) => entry.after.name);
    expect(names).toEqual(['page-4', 'page-3', 'page-2', 'page-1', 'page-0']);
    expect(third.next_cursor).toBeNull();
    expect((await gateway.api('GET', '/api/v1/audit?actor=env-admin&limit=1')).body.data).toHaveLength(1);
    expect((await gateway.api('GET', `/api/v1/audit?from=${new Date(Date.now() + 60_000).toISOString()}`)).body.data).toEqual([]);
    expect((await gateway.api('GET', '/api/v1/audit?from=yesterday')).status).toBe(400);
    expect(adminKey).toBeTruthy();
  });
});
