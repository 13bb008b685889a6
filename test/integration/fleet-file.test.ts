import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOllamaFake, startOpenAIFake, startTeiFake, type OllamaFake, type OpenAIFake, type TeiFake } from '../fakes/index.ts';
import { startTestGateway } from '../support/gateway-harness.ts';

let ollama: OllamaFake;
let vllm: OpenAIFake;
let tei: TeiFake;

beforeAll(async () => {
  [ollama, vllm, tei] = await Promise.all([
    startOllamaFake({
      models: [
        { id: 'mixtral', capabilities: ['completion', 'tools'], embeddingDimension: 4096, contextLength: 32768 },
        { id: 'hermes', capabilities: ['completion'], embeddingDimension: 4096 },
        { id: 'openchat', capabilities: ['completion'], embeddingDimension: 4096 },
        { id: 'phi3', capabilities: ['completion'], embeddingDimension: 2048 },
      ],
    }),
    startOpenAIFake({ flavor: 'vllm', apiKey: 'sk-upstream-fleet-canary' }),
    startTeiFake({ modelId: 'general', dimension: 384 }),
  ]);
});

afterAll(async () => {
  await Promise.all([ollama.stop(), vllm.stop(), tei.stop()]);
});

function fleetFile(dir: string, servers: string): string {
  const file = join(dir, 'fleet.yaml');
  writeFileSync(file, `servers:\n${servers}`);
  return file;
}

describe('the YAML fleet file', () => {
  it('loads the nine-model fleet at start, and a restart with a shorter file removes only what the file had created', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-fleet-'));
    const dataDir = join(dir, 'data');
    const full = `  - name: primary-llm
    server_type: ollama
    base_url: ${ollama.url}
    models: [mixtral, hermes, openchat, phi3]
  - name: secondary-llm
    server_type: vllm
    base_url: \${SECONDARY_URL}
    api_key: \${SECONDARY_KEY}
    models: [yi34b, deepseek, {name: deepcoder, capabilities: [chat, code]}, imp]
  - name: orchestration
    base_url: ${tei.url}
    models: [{name: general, capabilities: [embedding], embedding_dimension: 384}]
`;
    const env = { SECONDARY_URL: vllm.url, SECONDARY_KEY: 'sk-upstream-fleet-canary' };
    const first = await startTestGateway({ dataDir, configFile: fleetFile(dir, full), env });
    expect(first.gateway.fleetReport).toMatchObject({ created: ['primary-llm', 'secondary-llm', 'orchestration'], failed: [] });
    const manual = await first.api('POST', '/api/v1/model-servers', { name: 'added-by-hand', server_type: 'ollama', base_url: ollama.url });
    expect(manual.status).toBe(201);
    const reports = (await first.api('POST', '/api/v1/model-servers/health-check-all')).body.data;
    expect(reports.map((report: { health_status: string }) => report.health_status)).toEqual(['online', 'online', 'online', 'online']);

    const servers = (await first.api('GET', '/api/v1/model-servers')).body.data;
    const byName = Object.fromEntries(servers.map((server: { name: string }) => [server.name, server]));
    expect(byName['orchestration']).toMatchObject({ server_type: 'embedding', managed_by: 'fleet_file', models_count: 1 });
    expect(byName['secondary-llm']).toMatchObject({ has_api_key: true, managed_by: 'fleet_file' });
    expect(byName['added-by-hand']).toMatchObject({ managed_by: null });
    const models = [];
    for (const name of ['primary-llm', 'secondary-llm', 'orchestration']) {
      const list = (await first.api('GET', `/api/v1/model-servers/${byName[name].id}/models`)).body.data;
      models.push(...list.map((model: { id: string; embedding_dimension: number | null }) => [model.id, model.embedding_dimension]));
    }
    expect(models).toHaveLength(9);
    expect(Object.fromEntries(models)).toMatchObject({ 'phi3:latest': 2048, general: 384, 'mixtral:latest': 4096 });
    const deepcoder = (await first.api('GET', `/api/v1/model-servers/${byName['secondary-llm'].id}/models`)).body.data.find((model: { id: string }) => model.id === 'deepcoder');
    expect(deepcoder.capabilities).toContain('code');
    expect(first.logs.join('')).not.toContain('sk-upstream-fleet-canary');
    await first.stop();

    const same = await startTestGateway({ dataDir, configFile: fleetFile(dir, full), env });
    expect(same.gateway.fleetReport).toMatchObject({ created: [], updated: [], unchanged: ['primary-llm', 'secondary-llm', 'orchestration'] });
    await same.stop();

    const shorter = full.split('  - name: orchestration')[0] as string;
    const second = await startTestGateway({ dataDir, configFile: fleetFile(dir, shorter), env });
    expect(second.gateway.fleetReport).toMatchObject({ removed: ['orchestration'] });
    const names = (await second.api('GET', '/api/v1/model-servers')).body.data.map((server: { name: string }) => server.name);
    expect(names.sort()).toEqual(['added-by-hand', 'primary-llm', 'secondary-llm']);
    await second.stop();
  });

  it('registers a server it cannot detect (kind unknown, offline, saying why) and applies the rest', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-fleet-'));
    const file = fleetFile(dir, `  - name: unreachable\n    base_url: http://127.0.0.1:9\n  - name: primary\n    server_type: ollama\n    base_url: ${ollama.url}\n`);
    const gateway = await startTestGateway({ dataDir: join(dir, 'data'), configFile: file });
    expect(gateway.gateway.fleetReport).toMatchObject({ created: ['unreachable', 'primary'], undetected: ['unreachable'], failed: [] });
    const servers = (await gateway.api('GET', '/api/v1/model-servers')).body.data;
    expect(servers.find((server: { name: string }) => server.name === 'unreachable')).toMatchObject({
      server_type: 'unknown',
      health_status: 'offline',
      status_reason: 'unreachable',
      status_message: expect.stringMatching(/connection refused/),
    });
    await gateway.stop();
  });
});

describe('local Ollama discovery', () => {
  it('registers an Ollama found at the local address once, and is quiet when none answers', async () => {
    const found = await startTestGateway({ env: { SWITCHYARD_DISCOVER_LOCAL_OLLAMA: 'true', SWITCHYARD_LOCAL_OLLAMA_URL: ollama.url } });
    const servers = (await found.api('GET', '/api/v1/model-servers')).body.data;
    expect(servers).toEqual([expect.objectContaining({ name: 'local-ollama', server_type: 'ollama', base_url: ollama.url, managed_by: null })]);
    await found.stop();

    const dir = mkdtempSync(join(tmpdir(), 'sy-local-'));
    const again = await startTestGateway({ dataDir: dir, env: { SWITCHYARD_DISCOVER_LOCAL_OLLAMA: 'true', SWITCHYARD_LOCAL_OLLAMA_URL: ollama.url } });
    await again.stop();
    const twice = await startTestGateway({ dataDir: dir, env: { SWITCHYARD_DISCOVER_LOCAL_OLLAMA: 'true', SWITCHYARD_LOCAL_OLLAMA_URL: ollama.url } });
    expect((await twice.api('GET', '/api/v1/model-servers')).body.data).toHaveLength(1);
    await twice.stop();

    const none = await startTestGateway({ env: { SWITCHYARD_DISCOVER_LOCAL_OLLAMA: 'true', SWITCHYARD_LOCAL_OLLAMA_URL: 'http://127.0.0.1:9' } });
    expect((await none.api('GET', '/api/v1/model-servers')).body.data).toEqual([]);
    expect(none.logs.filter((line) => /"level":(40|50)/.test(line))).toEqual([]);
    await none.stop();
  });
});
