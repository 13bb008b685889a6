import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOllamaFake, type OllamaFake } from '../fakes/index.ts';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';
import { waitFor } from '../support/wait-for.ts';

let ollama: OllamaFake;

beforeAll(async () => {
  // Started once for its port, then stopped: the fleet file names a port where nothing listens yet.
  ollama = await startOllamaFake();
  await ollama.stop();
});

afterAll(async () => {
  await ollama.stop();
});

interface ServerRecord {
  id: string;
  base_url: string;
  expected_models: Array<{ name: string }>;
  name: string;
  server_type: string;
  health_status: string;
  status_reason: string | null;
  models_count: number;
  detection: { detected_by: string } | null;
}

interface RouteRecord {
  name: string;
  status: string;
  unresolved_targets: string[];
}

async function server(gateway: TestGateway, name: string): Promise<ServerRecord | undefined> {
  return ((await gateway.api('GET', '/api/v1/model-servers')).body.data as ServerRecord[]).find((record) => record.name === name);
}

async function route(gateway: TestGateway, name: string): Promise<RouteRecord | undefined> {
  return ((await gateway.api('GET', '/api/v1/routes')).body.data as RouteRecord[]).find((record) => record.name === name);
}

function chat(gateway: TestGateway, model: string) {
  return gateway.api('POST', '/v1/chat/completions', { model, messages: [{ role: 'user', content: 'hi' }] }, { authorization: `Bearer ${adminKey}` });
}

describe('a fleet file whose servers are not up yet', () => {
  it('registers an unreachable server offline (kind unknown until detected) and brings it online with its models when it answers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-fleet-start-'));
    const file = join(dir, 'fleet.yaml');
    writeFileSync(
      file,
      `servers:
  - {name: later, base_url: "${ollama.url}"}
  - {name: stated, server_type: vllm, base_url: "http://127.0.0.1:9"}
routes:
  - {name: chat, targets: [mixtral]}
`,
    );
    const gateway = await startTestGateway({ dataDir: join(dir, 'data'), configFile: file, startScheduler: true, env: { SWITCHYARD_HEALTH_INTERVAL_S: '1' } });
    try {
      expect(gateway.gateway.fleetReport).toMatchObject({ created: ['later', 'stated'], undetected: ['later'], failed: [] });
      expect(await server(gateway, 'later')).toMatchObject({ server_type: 'unknown', health_status: 'offline', status_reason: 'unreachable', models_count: 0 });
      expect(await server(gateway, 'stated')).toMatchObject({ server_type: 'vllm' });

      await ollama.restart();
      const online = await waitFor(async () => {
        const record = await server(gateway, 'later');
        return record?.health_status === 'online' && record.models_count > 0 ? record : null;
      }, 'the server to come online with its models');
      expect(online).toMatchObject({ server_type: 'ollama', status_reason: null, detection: { detected_by: expect.any(String) } });
      expect(online.models_count).toBe(5);
      // Its models route: the route to one of them is resolved and serves.
      expect(await route(gateway, 'chat')).toMatchObject({ status: 'resolved', unresolved_targets: [] });
      expect((await chat(gateway, 'chat')).status).toBe(200);
    } finally {
      await ollama.stop();
      await gateway.stop();
    }
  });
});

describe('a fleet file changed while its server is down', () => {
  it('applies the change without detecting the server again, and a new address that does not answer leaves it offline, not dropped', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-fleet-change-'));
    const dataDir = join(dir, 'data');
    const file = join(dir, 'fleet.yaml');
    writeFileSync(file, `servers:\n  - {name: later, base_url: "${ollama.url}"}\n`);
    await (await startTestGateway({ dataDir, configFile: file })).stop();

    writeFileSync(file, `servers:\n  - {name: later, base_url: "${ollama.url}", models: [mixtral]}\n`);
    const changed = await startTestGateway({ dataDir, configFile: file });
    try {
      expect(changed.gateway.fleetReport).toMatchObject({ updated: ['later'], failed: [] });
      expect(await server(changed, 'later')).toMatchObject({ server_type: 'unknown', health_status: 'offline', expected_models: [{ name: 'mixtral' }] });
    } finally {
      await changed.stop();
    }

    writeFileSync(file, `servers:\n  - {name: later, base_url: "http://127.0.0.1:9", models: [mixtral]}\n`);
    const moved = await startTestGateway({ dataDir, configFile: file });
    try {
      expect(moved.gateway.fleetReport).toMatchObject({ updated: ['later'], failed: [] });
      expect(await server(moved, 'later')).toMatchObject({ server_type: 'unknown', health_status: 'offline', status_reason: 'unreachable', base_url: 'http://127.0.0.1:9' });
    } finally {
      await moved.stop();
    }
  });
});

describe('a route whose targets name no known model', () => {
  it('is logged at start, shown unresolved, answered 404 naming its targets, and resolves when a server with the model appears', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-fleet-routes-'));
    const file = join(dir, 'fleet.yaml');
    writeFileSync(
      file,
      `servers:
  - {name: declared, server_type: ollama, base_url: "http://127.0.0.1:9", models: [phi3-declared]}
routes:
  - {name: gpt-4o, targets: [mixtral, gpt-5], fallbacks: [claude-9]}
  - {name: waits, targets: [phi3-declared]}
  - {name: partly, targets: [phi3-declared, phi3-typo]}
`,
    );
    const gateway = await startTestGateway({ dataDir: join(dir, 'data'), configFile: file, env: { SWITCHYARD_HEALTH_FAILURES_TO_OFFLINE: '1' } });
    try {
      // The warning waits for the file's servers' first check (a fresh fleet knows no models before it).
      await gateway.api('POST', '/api/v1/model-servers/health-check-all');
      // An empty list is truthy: wait for the lines themselves, not for the filter to have run.
      const routeWarnings = () => gateway.logs.filter((line) => line.includes('"level":40') && line.includes('fleet file: route'));
      const warnings = await waitFor(() => (routeWarnings().length > 0 ? routeWarnings() : null), 'the unresolved-route warnings');
      expect(warnings).toHaveLength(2);
      expect(warnings.find((line) => line.includes('route \\"gpt-4o\\" targets mixtral, gpt-5'))).toContain('requests for the route answer 404');
      // A route with one known target still serves: its warning must not say it answers 404.
      expect(warnings.find((line) => line.includes('route \\"partly\\" targets phi3-typo'))).toContain('its other models carry its requests');

      expect(await route(gateway, 'gpt-4o')).toMatchObject({ status: 'unresolved', unresolved_targets: ['mixtral', 'gpt-5'] });
      const byId = ((await gateway.api('GET', '/api/v1/routes')).body.data as Array<{ id: string; name: string }>).find((record) => record.name === 'gpt-4o');
      expect((await gateway.api('GET', `/api/v1/routes/${byId?.id}`)).body).toMatchObject({ status: 'unresolved', unresolved_targets: ['mixtral', 'gpt-5'] });

      const unresolved = await chat(gateway, 'gpt-4o');
      expect(unresolved.status).toBe(404);
      expect(unresolved.body.error).toMatchObject({ type: 'not_found_error', code: 'SY_ROUTE_UNRESOLVED', param: 'model' });
      expect(unresolved.body.error.message).toMatch(/`gpt-4o`.*targets \(mixtral, gpt-5\) and fallbacks \(claude-9\) name no model that any registered server serves or declares/);

      // A model nobody serves is still model_not_found; one a (down) server declares is merely unavailable.
      expect((await chat(gateway, 'nobody-serves-this')).body.error.code).toBe('model_not_found');
      expect(await route(gateway, 'waits')).toMatchObject({ status: 'resolved', unresolved_targets: [] });
      for (const model of ['waits', 'phi3-declared']) {
        const down = await chat(gateway, model);
        expect(down.status, model).toBe(503);
        expect(down.body.error.code, model).toBe('SY_NO_HEALTHY_DEPLOYMENT');
      }

      // A server with mixtral appears: the route resolves (gpt-5 still names nothing) and serves.
      await ollama.restart();
      const added = await gateway.api('POST', '/api/v1/model-servers', { name: 'arrives', server_type: 'ollama', base_url: ollama.url });
      await gateway.api('POST', `/api/v1/model-servers/${added.body.id}/test`);
      await gateway.api('POST', '/api/v1/model-servers/health-check-all');
      expect(await route(gateway, 'gpt-4o')).toMatchObject({ status: 'unresolved', unresolved_targets: ['gpt-5'] });
      expect((await chat(gateway, 'gpt-4o')).status).toBe(200);

      // Its server goes down: the route's model is known, so the answer is 503, not 404.
      await ollama.stop();
      await gateway.api('POST', '/api/v1/model-servers/health-check-all');
      const down = await chat(gateway, 'gpt-4o');
      expect(down.status).toBe(503);
      expect(down.body.error.code).toBe('SY_NO_HEALTHY_DEPLOYMENT');
    } finally {
      await ollama.stop();
      await gateway.stop();
    }
  });
});
