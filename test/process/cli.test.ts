import { execFile } from 'node:child_process';
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

  it('reports a failed connection test with a non-zero exit', async () => {
    await cli('add', '--name', 'gone', '--type', 'ollama', '--base-url', 'http://127.0.0.1:9');
    const result = await cli('test', 'gone').catch((error: { code: number; stdout: string }) => error);
    expect(result).toMatchObject({ code: 1 });
    expect((result as { stdout: string }).stdout).toMatch(/FAILED: gone: .*connection refused/);
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
});
