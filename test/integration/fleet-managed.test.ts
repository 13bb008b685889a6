import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOllamaFake, type OllamaFake } from '../fakes/index.ts';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';
import { binPath } from '../support/gateway-process.ts';

const run = promisify(execFile);
let ollama: OllamaFake;

beforeAll(async () => {
  ollama = await startOllamaFake();
});

afterAll(async () => {
  await ollama.stop();
});

function writeFleet(dir: string): string {
  const file = join(dir, 'fleet.yaml');
  writeFileSync(file, `servers:\n  - {name: primary, server_type: ollama, base_url: "${ollama.url}"}\nroutes:\n  - {name: gpt-4o, targets: [mixtral]}\n`);
  return file;
}

async function byName(gateway: TestGateway, path: string): Promise<Record<string, { id: string; managed_by: string | null; max_concurrency?: number | null }>> {
  const list = (await gateway.api('GET', path)).body.data as Array<{ id: string; name: string; managed_by: string | null; max_concurrency?: number | null }>;
  return Object.fromEntries(list.map((record) => [record.name, record]));
}

describe('records the fleet file manages', () => {
  it('are marked managed_by fleet_file, refuse PUT and DELETE with a 409 that says to edit the file, and still take checks and tests', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-managed-'));
    const file = writeFleet(dir);
    const gateway = await startTestGateway({ dataDir: join(dir, 'data'), configFile: file });
    try {
      expect((await gateway.api('POST', '/api/v1/model-servers', { name: 'by-hand', server_type: 'ollama', base_url: ollama.url })).status).toBe(201);
      expect((await gateway.api('POST', '/api/v1/routes', { name: 'by-hand', targets: ['mixtral'] })).status).toBe(201);
      const servers = await byName(gateway, '/api/v1/model-servers');
      const routes = await byName(gateway, '/api/v1/routes');
      expect(servers['primary']?.managed_by).toBe('fleet_file');
      expect(servers['by-hand']?.managed_by).toBeNull();
      expect(routes['gpt-4o']?.managed_by).toBe('fleet_file');
      expect(routes['by-hand']?.managed_by).toBeNull();
      const primary = servers['primary']?.id as string;
      const route = routes['gpt-4o']?.id as string;
      expect((await gateway.api('GET', `/api/v1/model-servers/${primary}`)).body.managed_by).toBe('fleet_file');
      expect((await gateway.api('GET', `/api/v1/routes/${route}`)).body.managed_by).toBe('fleet_file');

      for (const [method, path, body, name] of [
        ['PUT', `/api/v1/model-servers/${primary}`, { is_active: false }, 'Model server "primary"'],
        ['DELETE', `/api/v1/model-servers/${primary}`, undefined, 'Model server "primary"'],
        ['PUT', `/api/v1/routes/${route}`, { targets: ['phi3'] }, 'Route "gpt-4o"'],
        ['DELETE', `/api/v1/routes/${route}`, undefined, 'Route "gpt-4o"'],
      ] as const) {
        const refused = await gateway.api(method, path, body);
        expect(refused.status, `${method} ${path}`).toBe(409);
        expect(refused.body.error.code).toBe('SY_MANAGED_BY_FLEET_FILE');
        expect(refused.body.error.message).toContain(name);
        expect(refused.body.error.message).toContain(file);
        expect(refused.body.error.message).toMatch(/SWITCHYARD_CONFIG.*edit it there and restart/);
      }
      // Nothing changed.
      expect((await gateway.api('GET', `/api/v1/model-servers/${primary}`)).body.is_active).toBe(true);
      expect((await gateway.api('GET', `/api/v1/routes/${route}`)).body.targets).toEqual([{ model: 'mixtral', weight: 1, tier: 1 }]);

      expect((await gateway.api('POST', `/api/v1/model-servers/${primary}/test`)).body.ok).toBe(true);
      expect((await gateway.api('POST', '/api/v1/model-servers/health-check-all')).status).toBe(200);
      expect((await gateway.api('PUT', `/api/v1/model-servers/${servers['by-hand']?.id}`, { is_active: false })).status).toBe(200);
      expect((await gateway.api('DELETE', `/api/v1/routes/${routes['by-hand']?.id}`)).status).toBe(204);

      const cli = await run(process.execPath, [binPath, 'servers', 'rm', 'primary'], { env: { PATH: process.env['PATH'] ?? '', SWITCHYARD_URL: gateway.url, SWITCHYARD_ADMIN_KEY: adminKey } }).catch(
        (error: { code: number; stderr: string }) => error,
      );
      expect(cli).toMatchObject({ code: expect.any(Number) });
      expect((cli as { code: number }).code).not.toBe(0);
      expect((cli as { stderr: string }).stderr).toContain(`Model server "primary" is managed by the fleet file ${file}`);
    } finally {
      await gateway.stop();
    }
  });

  it('are editable once the gateway runs without a fleet file, and the file takes over a same-named record again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-managed-'));
    const dataDir = join(dir, 'data');
    const file = writeFleet(dir);
    await (await startTestGateway({ dataDir, configFile: file })).stop();

    const without = await startTestGateway({ dataDir });
    try {
      const servers = await byName(without, '/api/v1/model-servers');
      expect(servers['primary']?.managed_by).toBeNull();
      expect((await without.api('PUT', `/api/v1/model-servers/${servers['primary']?.id}`, { is_active: false })).status).toBe(200);
      const routes = await byName(without, '/api/v1/routes');
      expect((await without.api('DELETE', `/api/v1/routes/${routes['gpt-4o']?.id}`)).status).toBe(204);
      expect((await without.api('POST', '/api/v1/routes', { name: 'gpt-4o', targets: ['phi3'] })).status).toBe(201);
    } finally {
      await without.stop();
    }

    const again = await startTestGateway({ dataDir, configFile: file });
    try {
      const servers = await byName(again, '/api/v1/model-servers');
      expect(servers['primary']).toMatchObject({ managed_by: 'fleet_file', is_active: true });
      const routes = await byName(again, '/api/v1/routes');
      expect(routes['gpt-4o']).toMatchObject({ managed_by: 'fleet_file', targets: [{ model: 'mixtral', weight: 1, tier: 1 }] });
    } finally {
      await again.stop();
    }
  });

  it('take max_concurrency from the file, and learn it again once the file stops stating it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-capacity-'));
    const file = join(dir, 'fleet.yaml');
    writeFileSync(file, `servers:\n  - {name: bounded, server_type: ollama, base_url: "${ollama.url}", max_concurrency: 3}\n`);
    let gateway = await startTestGateway({ dataDir: join(dir, 'data'), configFile: file });
    try {
      expect((await byName(gateway, '/api/v1/model-servers'))['bounded']).toMatchObject({ max_concurrency: 3 });
    } finally {
      await gateway.stop();
    }
    writeFileSync(file, `servers:\n  - {name: bounded, server_type: ollama, base_url: "${ollama.url}"}\n`);
    gateway = await startTestGateway({ dataDir: join(dir, 'data'), configFile: file });
    try {
      expect((await byName(gateway, '/api/v1/model-servers'))['bounded']).toMatchObject({ max_concurrency: null });
    } finally {
      await gateway.stop();
    }
    writeFileSync(file, `servers:\n  - {name: bounded, server_type: ollama, base_url: "${ollama.url}", max_concurrency: 0}\n`);
    await expect(startTestGateway({ dataDir: join(dir, 'data'), configFile: file })).rejects.toThrow(/max_concurrency/);
  });
});
