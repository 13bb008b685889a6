import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ggufRepo, startHfHubFake, startOllamaFake, type HfHubFake, type OllamaFake } from '../fakes/index.ts';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.ts';
import { waitFor } from '../support/wait-for.ts';

const token = 'hf_canary_TOKEN_4f9b2c7d1e0a';
const repoId = 'bartowski/Llama-3.2-1B-Instruct-GGUF';
let hub: HfHubFake;
let gateway: TestGateway;
let cacheDir: string;
const repo = ggufRepo(repoId, [['Q4_K_M', 3_000_000], ['Q8_0', 200_000], ['IQ2_XXS', 150_000]]);

async function settled(id: string): Promise<any> {
  return waitFor(async () => {
    const view = (await gateway.api('GET', `/api/v1/operations/${id}`)).body;
    return view.status === 'running' ? null : view;
  }, `operation ${id} to end`);
}

const fileRequests = () => hub.requests.filter((request) => request.path.startsWith('/cdn/'));
const q4 = repo.files.find((file) => file.name.endsWith('Q4_K_M.gguf'))!;
const q4Sha = createHash('sha256').update(q4.content).digest('hex');

beforeAll(async () => {
  hub = await startHfHubFake({ token, repos: [repo, ggufRepo('acme/private-GGUF', [['Q4_0', 10_000]], { private: true, downloads: 1 })] });
  gateway = await startTestGateway({ env: { HF_ENDPOINT: hub.url, HF_TOKEN: token, SWITCHYARD_LOG_LEVEL: 'trace' } });
  cacheDir = join(gateway.dataDir, 'hf-cache');
});

afterAll(async () => {
  await gateway.stop();
  await hub.stop();
});

describe('searching and reading the Hub', () => {
  it('searches with q, limit and filter, answering id, downloads, likes, tags, gguf and last modified', async () => {
    const found = await gateway.api('GET', '/api/v1/hub/search?q=llama&limit=5&filter=gguf');
    expect(found.status, found.text).toBe(200);
    expect(found.body.data).toEqual([{ id: repoId, downloads: 1234, likes: 56, tags: ['gguf', 'text-generation', 'llama'], pipeline_tag: 'text-generation', library_name: 'gguf', gguf: true, last_modified: '2024-09-25T18:30:00.000Z', private: false }]);
    const sent = hub.requests.find((request) => request.path.startsWith('/api/models?'));
    expect(sent?.path).toContain('search=llama');
    expect(sent?.path).toContain('filter=gguf');
    expect(sent?.path).toContain('limit=5');
    expect((await gateway.api('GET', '/api/v1/hub/search?limit=500')).status).toBe(400);
  });

  it('reads a repository: files with sizes and sha256, and the GGUF quantisations with the name Ollama pulls', async () => {
    const info = await gateway.api('GET', `/api/v1/hub/models/${repoId}`);
    expect(info.status, info.text).toBe(200);
    expect(info.body).toMatchObject({ id: repoId, sha: repo.sha, gguf: true, downloads: 1234 });
    expect(info.body.files).toContainEqual({ name: 'Llama-3.2-1B-Instruct-Q4_K_M.gguf', size: 3_000_000, sha256: q4Sha, quant: 'Q4_K_M', cached: false });
    expect(info.body.files).toContainEqual(expect.objectContaining({ name: 'README.md', quant: null, sha256: null }));
    expect(info.body.quants).toEqual([
      { quant: 'Q4_K_M', files: ['Llama-3.2-1B-Instruct-Q4_K_M.gguf'], size: 3_000_000, ollama_name: `hf.co/${repoId}:Q4_K_M` },
      { quant: 'Q8_0', files: ['Llama-3.2-1B-Instruct-Q8_0.gguf'], size: 200_000, ollama_name: `hf.co/${repoId}:Q8_0` },
      { quant: 'IQ2_XXS', files: ['Llama-3.2-1B-Instruct-IQ2_XXS.gguf'], size: 150_000, ollama_name: `hf.co/${repoId}:IQ2_XXS` },
    ]);
  });

  it('answers 404 in our error shape for an unknown repository and an unknown revision', async () => {
    const missing = await gateway.api('GET', '/api/v1/hub/models/nobody/nothing');
    expect(missing.status).toBe(404);
    expect(missing.body.error).toMatchObject({ code: 'SY_NOT_FOUND', message: expect.stringContaining('nobody/nothing') });
    const revision = await gateway.api('GET', `/api/v1/hub/models/${repoId}?revision=v9`);
    expect(revision.status).toBe(404);
  });

  it('sends HF_TOKEN to the Hub (a private repository is readable) but never shows it in logs or answers', async () => {
    const info = await gateway.api('GET', '/api/v1/hub/models/acme/private-GGUF');
    expect(info.status, info.text).toBe(200);
    expect(info.body.private).toBe(true);
    expect(hub.requests.some((request) => request.headers.authorization === `Bearer ${token}`)).toBe(true);
    expect(info.text).not.toContain(token);
    expect(gateway.logs.join('')).not.toContain(token);
  });
});

describe('downloading into the cache', () => {
  it('refuses bad input before anything starts, naming the field', async () => {
    const before = hub.requests.length;
    expect((await gateway.api('POST', '/api/v1/hub/download', { repo: 'not a repo' })).body.error).toMatchObject({ code: 'SY_INVALID_REQUEST', param: 'repo' });
    expect((await gateway.api('POST', '/api/v1/hub/download', { repo: repoId, file: '../etc/passwd' })).body.error).toMatchObject({ param: 'file' });
    expect(hub.requests.length).toBe(before);
    const noFile = await gateway.api('POST', '/api/v1/hub/download', { repo: repoId });
    expect(noFile.status).toBe(400);
    expect(noFile.body.error).toMatchObject({ param: 'file', message: expect.stringContaining('Q4_K_M, Q8_0, IQ2_XXS') });
    expect((await gateway.api('POST', '/api/v1/hub/download', { repo: repoId, file: 'missing.gguf' })).status).toBe(404);
    expect((await gateway.api('POST', '/api/v1/hub/download', { repo: 'nobody/nothing', file: 'x.gguf' })).status).toBe(404);
    expect((await gateway.api('GET', '/api/v1/operations?kind=hub_download')).body.data).toEqual([]);
  });

  it('resumes an interrupted download with a Range request and checks the sha256 before keeping it', async () => {
    hub.setDownloadFault({ kind: 'cut', afterBytes: 1_000_000 });
    const first = await gateway.api('POST', '/api/v1/hub/download', { repo: repoId, quant: 'q4_k_m' });
    expect(first.status, first.text).toBe(202);
    expect(first.body).toMatchObject({ operation_id: expect.any(String), kind: 'hub_download', model: repoId });
    const failed = await settled(first.body.operation_id);
    expect(failed.status).toBe('failed');
    expect(failed.servers[0]).toMatchObject({ name: q4.name, server_id: null, status: 'failed', error: expect.stringContaining('ask again to resume') });
    const partial = join(cacheDir, `models--bartowski--Llama-3.2-1B-Instruct-GGUF`, 'blobs', `${q4Sha}.incomplete`);
    const kept = statSync(partial).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(3_000_000);

    const second = await gateway.api('POST', '/api/v1/hub/download', { repo: repoId, file: q4.name });
    const done = await settled(second.body.operation_id);
    expect(done.status, JSON.stringify(done)).toBe('succeeded');
    expect(done.servers[0]).toMatchObject({ status: 'succeeded', completed: 3_000_000, total: 3_000_000, digest: q4Sha });
    expect(fileRequests().at(-1)?.headers.range).toBe(`bytes=${kept}-`);
    const path = join(cacheDir, 'models--bartowski--Llama-3.2-1B-Instruct-GGUF', 'snapshots', repo.sha, q4.name);
    expect(createHash('sha256').update(readFileSync(path)).digest('hex')).toBe(q4Sha);
    expect(existsSync(partial)).toBe(false);
    expect(readFileSync(join(cacheDir, 'models--bartowski--Llama-3.2-1B-Instruct-GGUF', 'refs', 'main'), 'utf8')).toBe(repo.sha);
    // Trace-level logs of a whole download still hold no token.
    expect(gateway.logs.join('')).not.toContain(token);

    const audit = await gateway.api('GET', `/api/v1/audit?action=operation.hub_download&target_id=${done.id}`);
    expect(audit.body.data[0]).toMatchObject({ action: 'operation.hub_download', target_type: 'operation', target_id: done.id });
  });

  it('never resumes into a file that changed on the Hub: the new version starts from its first byte', async () => {
    const before = ggufRepo('acme/changing-GGUF', [['Q4_0', 400_000]]);
    hub.addRepo(before);
    hub.setDownloadFault({ kind: 'cut', afterBytes: 100_000 });
    const first = await settled((await gateway.api('POST', '/api/v1/hub/download', { repo: 'acme/changing-GGUF', quant: 'Q4_0' })).body.operation_id);
    expect(first.status).toBe('failed');
    // A new commit replaces the file with other bytes of the same size.
    const after = ggufRepo('acme/changing-GGUF', [['Q4_0', 400_000]], { sha: 'b'.repeat(40) });
    after.files[2] = { ...(after.files[2] as (typeof after.files)[number]), content: Buffer.alloc(400_000, 7) };
    hub.addRepo(after);
    const second = await settled((await gateway.api('POST', '/api/v1/hub/download', { repo: 'acme/changing-GGUF', quant: 'Q4_0' })).body.operation_id);
    expect(second.status, JSON.stringify(second)).toBe('succeeded');
    expect(second.servers[0].digest).toBe(createHash('sha256').update(Buffer.alloc(400_000, 7)).digest('hex'));
    expect(fileRequests().at(-1)?.headers.range).toBeUndefined();
    expect(readFileSync(join(cacheDir, 'models--acme--changing-GGUF', 'snapshots', 'b'.repeat(40), 'changing-Q4_0.gguf')).equals(Buffer.alloc(400_000, 7))).toBe(true);
  });

  it('a second request for the same file is a cache hit: it succeeds at once without downloading', async () => {
    const before = fileRequests().length;
    const again = await gateway.api('POST', '/api/v1/hub/download', { repo: repoId, file: q4.name, revision: 'main' });
    const view = await settled(again.body.operation_id);
    expect(view.status).toBe('succeeded');
    expect(view.servers[0]).toMatchObject({ status: 'succeeded', message: 'cached', digest: q4Sha });
    expect(fileRequests().length).toBe(before);
    const info = await gateway.api('GET', `/api/v1/hub/models/${repoId}`);
    expect(info.body.files.find((file: any) => file.name === q4.name).cached).toBe(true);
  });

  it('rejects a corrupted download and keeps nothing', async () => {
    hub.setDownloadFault({ kind: 'corrupt' });
    const started = await gateway.api('POST', '/api/v1/hub/download', { repo: repoId, quant: 'Q8_0' });
    const view = await settled(started.body.operation_id);
    hub.setDownloadFault({ kind: 'none' });
    expect(view.status).toBe('failed');
    expect(view.servers[0].error).toMatch(/sha256 mismatch .*the partial download was deleted/);
    const folder = join(cacheDir, 'models--bartowski--Llama-3.2-1B-Instruct-GGUF');
    expect(readdirSync(join(folder, 'blobs'))).toEqual([q4Sha]);
    expect(existsSync(join(folder, 'snapshots', repo.sha, 'Llama-3.2-1B-Instruct-Q8_0.gguf'))).toBe(false);
  });

  it('downloads a small file outside LFS, checked against its git blob id', async () => {
    const started = await gateway.api('POST', '/api/v1/hub/download', { repo: repoId, file: 'README.md' });
    const view = await settled(started.body.operation_id);
    expect(view.status, JSON.stringify(view)).toBe('succeeded');
    expect(readFileSync(join(cacheDir, 'models--bartowski--Llama-3.2-1B-Instruct-GGUF', 'snapshots', repo.sha, 'README.md'), 'utf8')).toContain(repoId);
  });
});

describe('an unreachable Hub', () => {
  it('answers a clear 502 from the catalogue', async () => {
    const offline = await startTestGateway({ env: { HF_ENDPOINT: 'http://127.0.0.1:1' } });
    try {
      const answer = await offline.api('GET', '/api/v1/hub/search?q=llama');
      expect(answer.status).toBe(502);
      expect(answer.body.error).toMatchObject({ code: 'SY_HUB_UNREACHABLE', message: expect.stringContaining('could not be reached') });
    } finally {
      await offline.stop();
    }
  });
});

describe('pulling hf.co/{owner}/{repo}:{quant} through Ollama', () => {
  let ollama: OllamaFake;
  afterAll(async () => ollama.stop());

  it('pulls the Hub name onto an Ollama server and the model appears there', async () => {
    ollama = await startOllamaFake();
    const created = await gateway.api('POST', '/api/v1/model-servers', { name: 'gpu-hub', server_type: 'ollama', base_url: ollama.url });
    expect(created.status, created.text).toBe(201);
    const name = `hf.co/${repoId}:Q4_K_M`;
    const started = await gateway.api('POST', '/api/v1/models/pull', { model: name, servers: 'all' });
    expect(started.status, started.text).toBe(202);
    const view = await settled(started.body.operation_id);
    expect(view.status, JSON.stringify(view)).toBe('succeeded');
    expect(ollama.requests.find((request) => request.path === '/api/pull')?.body).toMatchObject({ model: name });
    const models = (await gateway.api('GET', `/api/v1/model-servers/${created.body.id}/models`)).body.data.map((model: any) => model.id);
    expect(models).toContain(name);
  });
});

describe('the token and the CDN', () => {
  it('sends HF_TOKEN to the Hub but not to a CDN on another origin; a refused token is a clear 502', async () => {
    const cdnRepo = ggufRepo('acme/cdn-GGUF', [['Q4_0', 100_000]], { private: true });
    const cdn = await startHfHubFake({ repos: [cdnRepo] });
    const origin = await startHfHubFake({ token, repos: [cdnRepo], cdnUrl: cdn.url });
    const other = await startTestGateway({ env: { HF_ENDPOINT: origin.url, HF_TOKEN: token } });
    const wrong = await startTestGateway({ env: { HF_ENDPOINT: origin.url, HF_TOKEN: 'hf_wrong_token_000' } });
    try {
      const started = await other.api('POST', '/api/v1/hub/download', { repo: 'acme/cdn-GGUF', quant: 'Q4_0' });
      expect(started.status, started.text).toBe(202);
      const view = await other.gateway.operations.settled(started.body.operation_id);
      expect(view.status, JSON.stringify(view)).toBe('succeeded');
      expect(cdn.requests.filter((request) => request.path.startsWith('/cdn/'))).toHaveLength(1);
      expect(cdn.requests.every((request) => request.headers.authorization === undefined)).toBe(true);
      expect(origin.requests.every((request) => request.headers.authorization === `Bearer ${token}`)).toBe(true);

      const refused = await wrong.api('GET', '/api/v1/hub/models/acme/cdn-GGUF');
      expect(refused.status).toBe(502);
      expect(refused.body.error).toMatchObject({ code: 'SY_HUB_STATUS', message: expect.stringContaining('refused HF_TOKEN') });
      expect(refused.text).not.toContain('hf_wrong_token_000');
    } finally {
      await Promise.all([other.stop(), wrong.stop()]);
      await Promise.all([cdn.stop(), origin.stop()]);
    }
  });

  it('refuses a second download of a file already being downloaded (409 naming the operation)', async () => {
    hub.setThrottle({ chunkBytes: 16 * 1024, intervalMs: 20 });
    const first = await gateway.api('POST', '/api/v1/hub/download', { repo: repoId, quant: 'IQ2_XXS' });
    expect(first.status, first.text).toBe(202);
    const second = await gateway.api('POST', '/api/v1/hub/download', { repo: repoId, quant: 'IQ2_XXS' });
    hub.setThrottle(null);
    expect(second.status).toBe(409);
    expect(second.body.error.message).toContain(first.body.operation_id);
    expect((await settled(first.body.operation_id)).status).toBe('succeeded');
  });
});
