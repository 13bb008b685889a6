import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/storage/open-database.ts';
import { OperationStore } from '../../src/storage/operation-store.ts';
import { startOllamaFake, startOpenAIFake, type OllamaFake, type OpenAIFake } from '../fakes/index.ts';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.ts';
import { waitFor } from '../support/wait-for.ts';

let gateway: TestGateway;
let gpus: OllamaFake[];
let vllm: OpenAIFake;
let vllmFixed: OpenAIFake;
const ids: Record<string, string> = {};

async function addServer(name: string, serverType: string, baseUrl: string): Promise<string> {
  const created = await gateway.api('POST', '/api/v1/model-servers', { name, server_type: serverType, base_url: baseUrl });
  expect(created.status, created.text).toBe(201);
  return created.body.id as string;
}

async function settled(id: string): Promise<any> {
  return waitFor(async () => {
    const view = (await gateway.api('GET', `/api/v1/operations/${id}`)).body;
    return view.status === 'running' ? null : view;
  }, `operation ${id} to end`);
}

const modelsOn = async (serverId: string): Promise<string[]> => ((await gateway.api('GET', `/api/v1/model-servers/${serverId}/models`)).body.data as Array<{ id: string }>).map((model) => model.id);
const upstreamCalls = (fake: { requests: Array<{ path: string }> }, path: string) => fake.requests.filter((request) => request.path === path).length;

beforeAll(async () => {
  gpus = await Promise.all([startOllamaFake(), startOllamaFake(), startOllamaFake()]);
  vllm = await startOpenAIFake({ flavor: 'vllm', runtimeLora: true, models: [{ id: 'meta-llama/Llama-3.1-8B-Instruct', capabilities: ['completion'] }] });
  vllmFixed = await startOpenAIFake({ flavor: 'vllm', models: [{ id: 'Qwen/Qwen2.5-7B-Instruct', capabilities: ['completion'] }] });
  gateway = await startTestGateway();
  for (const [index, fake] of gpus.entries()) ids[`gpu-${index + 1}`] = await addServer(`gpu-${index + 1}`, 'ollama', fake.url);
  ids['vllm'] = await addServer('vllm-lora', 'vllm', vllm.url);
  ids['vllm-fixed'] = await addServer('vllm-fixed', 'vllm', vllmFixed.url);
  await gateway.api('POST', '/api/v1/model-servers/health-check-all');
});

afterAll(async () => {
  await gateway.stop();
  await Promise.all([...gpus, vllm, vllmFixed].map((fake) => fake.stop()));
});

describe('pulling onto many Ollama servers at once', () => {
  it('pulls on three servers; one failing mid-way does not stop the others, and the operation says which and why', async () => {
    (gpus[1] as OllamaFake).setPullScript({ failAfterSteps: 2, failure: 'max retries exceeded: connection reset by peer' });
    const started = await gateway.api('POST', '/api/v1/models/pull', { model: 'llama3.2:3b', servers: 'all' });
    expect(started.status, started.text).toBe(202);
    expect(started.body).toMatchObject({ operation_id: expect.any(String), kind: 'pull', status: 'running', model: 'llama3.2:3b' });
    expect(started.body.servers).toHaveLength(3);

    const view = await settled(started.body.operation_id);
    (gpus[1] as OllamaFake).setPullScript({});
    expect(view.status).toBe('failed');
    const byName = Object.fromEntries(view.servers.map((target: any) => [target.name, target]));
    expect(byName['gpu-1']).toMatchObject({ status: 'succeeded', server_id: ids['gpu-1'], digest: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(byName['gpu-1'].completed).toBe(byName['gpu-1'].total);
    expect(byName['gpu-1'].total).toBeGreaterThan(4_000_000_000);
    expect(byName['gpu-3']).toMatchObject({ status: 'succeeded' });
    expect(byName['gpu-2']).toMatchObject({ status: 'failed', error: 'pull failed: max retries exceeded: connection reset by peer' });

    // Discovery follows at once: the two that pulled list it, the failed one does not.
    expect(await modelsOn(ids['gpu-1'] as string)).toContain('llama3.2:3b');
    expect(await modelsOn(ids['gpu-3'] as string)).toContain('llama3.2:3b');
    expect(await modelsOn(ids['gpu-2'] as string)).not.toContain('llama3.2:3b');

    const audit = await gateway.api('GET', `/api/v1/audit?action=operation.pull&target_id=${view.id}`);
    expect(audit.body.data[0]).toMatchObject({ action: 'operation.pull', target_type: 'operation', target_id: view.id, actor_key_id: expect.any(String) });
    expect(audit.body.data[0].after).toMatchObject({ model: 'llama3.2:3b', status: 'failed' });

    const listed = await gateway.api('GET', '/api/v1/operations?status=failed&kind=pull');
    expect(listed.body.data.map((entry: any) => entry.id)).toContain(view.id);
  });

  it('streams progress as Server-Sent Events until the operation ends', async () => {
    (gpus[0] as OllamaFake).setPullScript({ steps: 20 });
    const started = await gateway.api('POST', '/api/v1/models/pull', { model: 'qwen2.5:0.5b', servers: [ids['gpu-1']] });
    const response = await fetch(`${gateway.url}/api/v1/operations/${started.body.operation_id}/events`, { headers: { authorization: `Bearer sk-sy-test-admin-key-0123456789abcdef` } });
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const text = await response.text();
    (gpus[0] as OllamaFake).setPullScript({});
    const events = text.split('\n\n').filter((block) => block.startsWith('event: operation')).map((block) => JSON.parse(block.slice(block.indexOf('data: ') + 6)));
    expect(events.length).toBeGreaterThan(3);
    const completed = events.map((event) => event.servers[0].completed ?? 0);
    expect(completed).toEqual([...completed].sort((a, b) => a - b));
    expect(events.at(-1)).toMatchObject({ status: 'succeeded', finished_at: expect.any(String) });
  });

  it('cancels mid-pull: the upstream pull is aborted and the operation says cancelled', async () => {
    const gpu = gpus[2] as OllamaFake;
    gpu.setPullScript({ steps: 400, stepMs: 25 });
    const started = await gateway.api('POST', '/api/v1/models/pull', { model: 'mistral-large:123b', servers: [ids['gpu-3']] });
    await waitFor(async () => ((await gateway.api('GET', `/api/v1/operations/${started.body.operation_id}`)).body.servers[0].completed ?? 0) > 0, 'bytes to flow');
    const cancelled = await gateway.api('DELETE', `/api/v1/operations/${started.body.operation_id}`);
    gpu.setPullScript({});
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ status: 'cancelled', servers: [{ status: 'cancelled' }] });
    await waitFor(() => gpu.requests.find((request) => request.path === '/api/pull' && (request.body as { model?: string }).model === 'mistral-large:123b')?.aborted, 'the upstream pull to be aborted');
    expect(await modelsOn(ids['gpu-3'] as string)).not.toContain('mistral-large:123b');
    const stored = await gateway.api('GET', `/api/v1/operations/${started.body.operation_id}`);
    expect(stored.body.status).toBe('cancelled');
  });

  it('carries on when the client that started it and the one watching it go away', async () => {
    const gpu = gpus[0] as OllamaFake;
    gpu.setPullScript({ steps: 30, stepMs: 10 });
    const started = await gateway.api('POST', '/api/v1/models/pull', { model: 'smollm2:135m', servers: [ids['gpu-1']] });
    const watcher = new AbortController();
    const response = await fetch(`${gateway.url}/api/v1/operations/${started.body.operation_id}/events`, { headers: { authorization: 'Bearer sk-sy-test-admin-key-0123456789abcdef' }, signal: watcher.signal });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    watcher.abort();
    expect((await settled(started.body.operation_id)).status).toBe('succeeded');
    gpu.setPullScript({});
    expect(await modelsOn(ids['gpu-1'] as string)).toContain('smollm2:135m');
  });

  it('pulls Hugging Face GGUF names (hf.co/{owner}/{repo}:{quant}) through Ollama', async () => {
    const name = 'hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M';
    const started = await gateway.api('POST', '/api/v1/models/pull', { model: name, servers: [ids['gpu-1']] });
    expect(started.status, started.text).toBe(202);
    expect((await settled(started.body.operation_id)).status).toBe('succeeded');
    expect(await modelsOn(ids['gpu-1'] as string)).toContain(name);
  });
});

describe('delete, copy, load and unload', () => {
  it('refuses to delete the last copy a route needs (409 naming it) unless forced', async () => {
    const route = await gateway.api('POST', '/api/v1/routes', { name: 'small-chat', targets: ['qwen2.5:0.5b'] });
    expect(route.status, route.text).toBe(201);
    const refused = await gateway.api('DELETE', `/api/v1/models/${encodeURIComponent('qwen2.5:0.5b')}?servers=all`);
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toContain('route small-chat');
    expect(upstreamCalls(gpus[0] as OllamaFake, '/api/delete')).toBe(0);

    const forced = await gateway.api('DELETE', `/api/v1/models/${encodeURIComponent('qwen2.5:0.5b')}?servers=all&force=true`);
    expect(forced.status, forced.text).toBe(202);
    expect((await settled(forced.body.operation_id)).status).toBe('succeeded');
    expect(await modelsOn(ids['gpu-1'] as string)).not.toContain('qwen2.5:0.5b');
  });

  it('deletes a model that still has another copy without asking', async () => {
    const deleted = await gateway.api('DELETE', `/api/v1/models/${encodeURIComponent('llama3.2:3b')}?servers=${ids['gpu-3']}`);
    expect(deleted.status, deleted.text).toBe(202);
    expect((await settled(deleted.body.operation_id)).status).toBe('succeeded');
    expect(await modelsOn(ids['gpu-3'] as string)).not.toContain('llama3.2:3b');
    expect(await modelsOn(ids['gpu-1'] as string)).toContain('llama3.2:3b');
  });

  it('copies a model under a new name', async () => {
    const copied = await gateway.api('POST', '/api/v1/models/copy', { source: 'hermes', destination: 'hermes-backup', servers: [ids['gpu-2']] });
    expect(copied.status, copied.text).toBe(202);
    expect((await settled(copied.body.operation_id)).status).toBe('succeeded');
    expect(await modelsOn(ids['gpu-2'] as string)).toContain('hermes-backup:latest');
  });

  it('loads with keep_alive (no token generated) and unloads, as /api/ps shows', async () => {
    const gpu = gpus[1] as OllamaFake;
    const loaded = await gateway.api('POST', '/api/v1/models/phi3/load', { servers: [ids['gpu-2']], keep_alive: '2h' });
    expect(loaded.status, loaded.text).toBe(202);
    expect((await settled(loaded.body.operation_id)).status).toBe('succeeded');
    const generate = gpu.requests.filter((request) => request.path === '/api/generate').at(-1);
    expect(generate?.body).toEqual({ model: 'phi3', stream: false, keep_alive: '2h' });
    const ps = (await (await fetch(`${gpu.url}/api/ps`)).json()) as { models: Array<{ name: string; expires_at: string; size_vram: number }> };
    const phi = ps.models.find((model) => model.name === 'phi3:latest');
    expect(phi?.size_vram).toBeGreaterThan(0);
    expect(Date.parse(phi?.expires_at ?? '') - Date.now()).toBeGreaterThan(60 * 60_000);
    const models = (await gateway.api('GET', `/api/v1/model-servers/${ids['gpu-2']}/models`)).body.data as Array<{ id: string; status: string }>;
    expect(models.find((model) => model.id === 'phi3:latest')?.status).toBe('loaded');

    const unloaded = await gateway.api('POST', '/api/v1/models/phi3/unload', { servers: 'all' });
    expect(unloaded.status, unloaded.text).toBe(202);
    expect((await settled(unloaded.body.operation_id)).status).toBe('succeeded');
    const after = (await (await fetch(`${gpu.url}/api/ps`)).json()) as { models: Array<{ name: string }> };
    expect(after.models.map((model) => model.name)).not.toContain('phi3:latest');
  });

  it('loads and unloads LoRA adapters on a vLLM server that allows it, and says so plainly when one does not', async () => {
    const loaded = await gateway.api('POST', '/api/v1/models/sql-lora/load', { servers: [ids['vllm']], lora_path: '/adapters/sql-lora' });
    expect(loaded.status, loaded.text).toBe(202);
    expect((await settled(loaded.body.operation_id)).status).toBe('succeeded');
    expect(await modelsOn(ids['vllm'] as string)).toContain('sql-lora');

    const unloaded = await gateway.api('POST', '/api/v1/models/sql-lora/unload', { servers: [ids['vllm']] });
    expect((await settled(unloaded.body.operation_id)).status).toBe('succeeded');
    expect(await modelsOn(ids['vllm'] as string)).not.toContain('sql-lora');

    const fixed = await gateway.api('POST', '/api/v1/models/sql-lora/load', { servers: [ids['vllm-fixed']], lora_path: '/adapters/sql-lora' });
    const view = await settled(fixed.body.operation_id);
    expect(view.servers[0].error).toContain('VLLM_ALLOW_RUNTIME_LORA_UPDATING');

    const pull = await gateway.api('POST', '/api/v1/models/pull', { model: 'x', servers: [ids['vllm']] });
    expect(pull.status).toBe(400);
    expect(pull.body.error.message).toContain('not supported by this server kind');
  });
});

describe('bad input starts nothing', () => {
  it.each([
    ['an unknown server id', 'POST', '/api/v1/models/pull', { model: 'phi3', servers: ['no-such-server'] }, 'servers'],
    ['an empty server list', 'POST', '/api/v1/models/pull', { model: 'phi3', servers: [] }, 'servers'],
    ['an invalid model name', 'POST', '/api/v1/models/pull', { model: '../etc/passwd', servers: 'all' }, 'model'],
    ['a keep_alive that is not a duration', 'POST', '/api/v1/models/phi3/load', { servers: 'all', keep_alive: 'for a while' }, 'keep_alive'],
    ['a copy onto its own name', 'POST', '/api/v1/models/copy', { source: 'phi3', destination: 'phi3', servers: 'all' }, 'destination'],
  ])('%s → 400 naming the field', async (_what, method, path, body, param) => {
    const before = gpus.map((fake) => fake.requests.length);
    const response = await gateway.api(method, path, body);
    expect(response.status, response.text).toBe(400);
    expect(response.body.error.param ?? response.body.error.message).toContain(param);
    expect(gpus.map((fake) => fake.requests.length)).toEqual(before);
  });

  it('a read key sees operations but cannot start one', async () => {
    const reader = (await gateway.api('POST', '/api/v1/keys', { name: 'ops-reader', scopes: ['read'] })).body.key as string;
    const auth = { authorization: `Bearer ${reader}` };
    expect((await gateway.api('GET', '/api/v1/operations', undefined, auth)).status).toBe(200);
    expect((await gateway.api('POST', '/api/v1/models/pull', { model: 'phi3', servers: 'all' }, auth)).status).toBe(403);
    expect((await gateway.api('DELETE', '/api/v1/models/phi3', undefined, auth)).status).toBe(403);
  });

  it('an unknown operation is 404', async () => {
    expect((await gateway.api('GET', '/api/v1/operations/nope')).status).toBe(404);
    expect((await gateway.api('DELETE', '/api/v1/operations/nope')).status).toBe(404);
  });
});

describe('restarts', () => {
  it('an operation left running by a stopped process is failed: interrupted on the next start, as is one cut by a shutdown', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'switchyard-ops-'));
    try {
      const database = await openDatabase({ dataDir });
      const stamp = new Date().toISOString();
      await new OperationStore(database.db).insert({
        id: 'op-left-running', kind: 'pull', status: 'running', model: 'mixtral', params: {}, actor_key_id: null, created_at: stamp, updated_at: stamp, finished_at: null, error: null,
        servers: [{ server_id: 's1', name: 'gpu-1', status: 'running', completed: 10, total: 100, digest: null, message: 'pulling' }],
      }, 'a-replica-that-is-gone');
      await database.close();

      const first = await startTestGateway({ dataDir });
      const recovered = await first.api('GET', '/api/v1/operations/op-left-running');
      expect(recovered.body).toMatchObject({ status: 'failed', error: 'interrupted', servers: [{ status: 'failed', error: 'interrupted' }] });

      const slow = await startOllamaFake();
      slow.setPullScript({ steps: 400, stepMs: 25 });
      const server = await first.api('POST', '/api/v1/model-servers', { name: 'slow', server_type: 'ollama', base_url: slow.url });
      const started = await first.api('POST', '/api/v1/models/pull', { model: 'big', servers: [server.body.id] });
      await waitFor(async () => ((await first.api('GET', `/api/v1/operations/${started.body.operation_id}`)).body.servers[0].completed ?? 0) > 0, 'bytes to flow');
      await first.stop();

      const second = await startTestGateway({ dataDir });
      const cut = await second.api('GET', `/api/v1/operations/${started.body.operation_id}`);
      expect(cut.body).toMatchObject({ status: 'failed', error: 'interrupted' });
      await second.stop();
      await slow.stop();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
