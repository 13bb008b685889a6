import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOllamaFake, type OllamaFake } from '../fakes/index.ts';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';
import { binPath } from '../support/gateway-process.ts';

const run = promisify(execFile);
let gateway: TestGateway;
let ollama: OllamaFake;

beforeAll(async () => {
  [gateway, ollama] = await Promise.all([startTestGateway(), startOllamaFake()]);
});

afterAll(async () => {
  await Promise.all([gateway.stop(), ollama.stop()]);
});

function cli(...args: string[]) {
  return run(process.execPath, [binPath, 'servers', ...args], { env: { PATH: process.env['PATH'] ?? '', SWITCHYARD_URL: gateway.url, SWITCHYARD_ADMIN_KEY: adminKey } });
}

describe('switchyard servers (CLI)', () => {
  it('adds, lists, tests and removes a server', async () => {
    const added = await cli('add', '--name', 'primary', '--base-url', ollama.url, '--model', 'mixtral');
    expect(added.stdout).toMatch(/^Added primary \(ollama\) with id [0-9a-f-]{36}/);

    const listed = await cli('list');
    expect(listed.stdout).toMatch(/^ID\s+NAME\s+TYPE\s+STATUS\s+MODELS\s+URL/);
    expect(listed.stdout).toContain('primary');
    expect(listed.stdout).toContain(ollama.url);

    const tested = await cli('test', 'primary');
    expect(tested.stdout).toMatch(/^OK: primary answered in [\d.]+ ms with 5 model\(s\)/);

    const json = JSON.parse((await cli('list', '--json')).stdout);
    expect(json[0]).toMatchObject({ name: 'primary', expected_models: [{ name: 'mixtral' }] });

    expect((await cli('rm', 'primary')).stdout).toMatch(/Removed primary/);
    expect((await cli('list')).stdout).toMatch(/No model servers yet/);
  });

  it('states a max concurrency when adding a server, changes it with update, and clears it with none', async () => {
    const added = await cli('add', '--name', 'bounded', '--type', 'ollama', '--base-url', ollama.url, '--max-concurrency', '3');
    const id = /with id ([0-9a-f-]{36})/.exec(added.stdout)?.[1] as string;
    expect((await gateway.api('GET', `/api/v1/model-servers/${id}`)).body).toMatchObject({ name: 'bounded', max_concurrency: 3 });
    expect((await cli('update', 'bounded', '--max-concurrency', '5', '--interval', '45')).stdout).toBe('Updated bounded (max concurrency 5)\n');
    expect((await gateway.api('GET', `/api/v1/model-servers/${id}`)).body).toMatchObject({ max_concurrency: 5, health_check_interval_s: 45 });
    expect((await cli('update', id, '--max-concurrency', 'none')).stdout).toBe('Updated bounded (no max concurrency: what the server reports or the gateway learns)\n');
    expect((await gateway.api('GET', `/api/v1/model-servers/${id}`)).body.max_concurrency).toBeNull();
    const missing = await cli('update', 'nowhere', '--max-concurrency', '2').catch((error: { code: number; stderr: string }) => error);
    expect((missing as { stderr: string }).stderr).toMatch(/No model server with id or name "nowhere"/);
    await cli('rm', 'bounded');
  });

  it('reports a failed connection test with a non-zero exit, and the list says why the server is not online', async () => {
    await cli('add', '--name', 'gone', '--type', 'ollama', '--base-url', 'http://127.0.0.1:9');
    const result = await cli('test', 'gone').catch((error: { code: number; stdout: string }) => error);
    expect(result).toMatchObject({ code: 1 });
    expect((result as { stdout: string }).stdout).toMatch(/FAILED: gone: .*connection refused/);
    // The list says why a server is not plainly online, not just "degraded".
    await cli('check-all');
    expect((await cli('list')).stdout).toMatch(/gone\s+ollama\s+degraded \(unreachable\)/);
    await cli('rm', 'gone');
  });

  it("shows the API's error message and a hint on a wrong key", async () => {
    const result = await run(process.execPath, [binPath, 'servers', 'list', '--url', gateway.url, '--key', 'wrong'], { env: { PATH: process.env['PATH'] ?? '' } }).catch(
      (error: { code: number; stderr: string }) => error,
    );
    expect(result).toMatchObject({ code: 2 });
    expect((result as { stderr: string }).stderr).toMatch(/Missing or invalid API key.*--key or set SWITCHYARD_ADMIN_KEY/);
  });
});

describe('switchyard keys (CLI)', () => {
  it('creates a key shown once, lists it without its secret, and revokes it', async () => {
    const keys = (...args: string[]) =>
      run(process.execPath, [binPath, 'keys', ...args], { env: { PATH: process.env['PATH'] ?? '', SWITCHYARD_URL: gateway.url, SWITCHYARD_ADMIN_KEY: adminKey } });
    const created = await keys('create', '--name', 'cli-app', '--scope', 'inference', '--model', 'mixtral*', '--rpm', '60', '--budget', '100000');
    const secret = /^\s+(sk-sy-\S+)$/m.exec(created.stdout)?.[1];
    expect(secret).toBeDefined();
    expect(created.stdout).toMatch(/shown ONCE/);
    const listed = await keys('list');
    expect(listed.stdout).toMatch(/cli-app\s+sk-sy-\S+…\s+inference\s+mixtral\*\s+60\s+-\s+0\/100000\s+active/);
    expect(listed.stdout).not.toContain(secret as string);
    expect((await fetch(`${gateway.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(200);
    expect((await keys('revoke', 'cli-app')).stdout).toMatch(/Revoked cli-app/);
    expect((await fetch(`${gateway.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(401);
    expect((await keys('list')).stdout).toMatch(/cli-app.*revoked/);
  });

  it('creates a key with a priority class for the admission queues', async () => {
    const keys = (...args: string[]) =>
      run(process.execPath, [binPath, 'keys', ...args], { env: { PATH: process.env['PATH'] ?? '', SWITCHYARD_URL: gateway.url, SWITCHYARD_ADMIN_KEY: adminKey } });
    expect((await keys('create', '--name', 'cli-nightly', '--priority', 'batch')).stdout).toMatch(/^Created key cli-nightly \(\S+\) with scopes inference and priority batch\.$/m);
    expect((await keys('create', '--name', 'cli-default')).stdout).toMatch(/^Created key cli-default \(\S+\) with scopes inference\.$/m);
    const listed = (await gateway.api('GET', '/api/v1/keys')).body.data as Array<{ name: string; priority: string }>;
    expect(Object.fromEntries(listed.filter((key) => key.name === 'cli-nightly' || key.name === 'cli-default').map((key) => [key.name, key.priority]))).toEqual({ 'cli-nightly': 'batch', 'cli-default': 'standard' });
  });

  it("lists a key's status as the API computes it, not only active or revoked", async () => {
    const keys = (...args: string[]) =>
      run(process.execPath, [binPath, 'keys', ...args], { env: { PATH: process.env['PATH'] ?? '', SWITCHYARD_URL: gateway.url, SWITCHYARD_ADMIN_KEY: adminKey } });
    await keys('create', '--name', 'cli-lapsed', '--expires', '2020-01-01T00:00:00Z');
    const listed = await keys('list');
    expect(listed.stdout).toMatch(/^ID\s+NAME\s+PREFIX\s+SCOPES\s+MODELS\s+RPM\s+TPM\s+USED\/BUDGET\s+STATUS$/m);
    expect(listed.stdout).toMatch(/cli-lapsed\s.*\sexpired$/m);
  });
});

describe('switchyard collections (CLI)', () => {
  it('creates, lists, re-embeds and deletes a collection', async () => {
    const collections = (...args: string[]) =>
      run(process.execPath, [binPath, 'collections', ...args], { env: { PATH: process.env['PATH'] ?? '', SWITCHYARD_URL: gateway.url, SWITCHYARD_ADMIN_KEY: adminKey } });
    await gateway.api('POST', '/api/v1/model-servers', { name: 'vectors-cli', base_url: ollama.url });
    await gateway.api('POST', '/api/v1/model-servers/health-check-all');
    expect((await collections('create', '--name', 'cli-notes', '--model', 'nomic-embed-text')).stdout).toMatch(/Created collection cli-notes for nomic-embed-text \(768 dimensions, cosine\)/);
    await gateway.api('POST', '/api/v1/models/nomic-embed-text/vectors/store', { texts: ['one', 'two'] });
    expect((await collections('list')).stdout).toMatch(/^cli-notes\s+nomic-embed-text\s+768\s+cosine\s+2\s+embedded\s+ready$/m);
    expect((await collections('reembed', 'cli-notes')).stdout).toMatch(/Re-embedding cli-notes: 2 vectors/);
    expect((await collections('rm', 'cli-notes')).stdout).toMatch(/Deleted collection cli-notes/);
    const missing = await collections('rm', 'cli-notes').catch((error: { code: number; stderr: string }) => error);
    expect((missing as { code: number }).code).toBeGreaterThan(0);
    expect((missing as { stderr: string }).stderr).toMatch(/Collection "cli-notes" not found/);
  });
});

describe('switchyard as a command', () => {
  // Everything a gateway would need to start, so that a command that wrongly serves does start (and the
  // kill timeout, a guard and not an expectation, ends it and fails the test) instead of failing to.
  const serveable = () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'switchyard-cli-'));
    return {
      dataDir,
      env: { PATH: process.env['PATH'] ?? '', SWITCHYARD_PORT: '0', SWITCHYARD_HOST: '127.0.0.1', SWITCHYARD_DATA_DIR: dataDir, SWITCHYARD_DISCOVER_LOCAL_OLLAMA: 'false' },
    };
  };

  it.each([[[]], [['serve', '--help']], [['servers', 'add', '--help']]])('switchyard %j prints help and exits 0 without starting a gateway', async (args) => {
    const { dataDir, env } = serveable();
    try {
      const result = await run(process.execPath, [binPath, ...args], { env, timeout: 30_000, killSignal: 'SIGKILL' });
      expect(result.stdout).toMatch(/^Usage: switchyard /);
      expect(result.stdout).not.toContain('listening');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('prints its version', async () => {
    const { version } = (await import('../../package.json', { with: { type: 'json' } })).default;
    expect((await run(process.execPath, [binPath, '--version'])).stdout).toBe(`${version}\n`);
  });

  it('refuses an unknown command with exit 2, one line and a hint', async () => {
    const result = await run(process.execPath, [binPath, 'frobnicate']).catch((error: { code: number; stderr: string }) => error);
    expect(result).toMatchObject({ code: 2, stderr: 'switchyard: unknown command "frobnicate".\nRun "switchyard --help" for usage.\n' });
  });

  // The client commands start fast because they load only the CLI: a gateway module imported on their
  // path (Fastify, storage, the adapters) costs every call hundreds of milliseconds.
  it.each([[['servers', 'list']], [['keys', 'list']], [[]]])('switchyard %j loads the CLI and nothing of the gateway', async (args) => {
    const hook = fileURLToPath(new URL('../support/record-loaded-modules.ts', import.meta.url));
    const { dataDir, env } = serveable();
    try {
      const result = await run(process.execPath, ['--import', hook, binPath, ...args], { env: { ...env, SWITCHYARD_URL: gateway.url, SWITCHYARD_ADMIN_KEY: adminKey }, timeout: 30_000, killSignal: 'SIGKILL' });
      const root = fileURLToPath(new URL('../..', import.meta.url));
      const loaded = [...result.stderr.matchAll(/^loaded-module: (file:\S+)$/gm)].map((match) => relative(root, fileURLToPath(match[1] as string)));
      expect(loaded).toContain('src/cli/main.ts');
      expect(loaded.filter((path) => !/^(bin\/switchyard\.js|src\/cli\/[\w-]+\.ts|src\/config\/cli-settings\.ts|test\/support\/record-loaded-modules\.ts)$/.test(path))).toEqual([]);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
