import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminClient } from '../../src/cli/admin-client.ts';
import { runCli } from '../../src/cli/main.ts';
import { startOllamaFake, type OllamaFake } from '../fakes/index.ts';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';

let gateway: TestGateway;
let gpu1: OllamaFake;
let gpu2: OllamaFake;

/** Runs `switchyard …` in this process against the test gateway; `tty` plays a terminal. */
async function cli(argv: string[], tty = false): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = Object.assign(new Writable({ write: (chunk: Buffer, _encoding, callback) => void ((stdout += chunk.toString('utf8')), callback()) }), { isTTY: tty });
  const err = new Writable({ write: (chunk: Buffer, _encoding, callback) => void ((stderr += chunk.toString('utf8')), callback()) });
  const code = await runCli(argv, { stdout: out, stderr: err, connect: () => new AdminClient(gateway.url, adminKey) });
  return { code, stdout, stderr };
}

beforeAll(async () => {
  [gpu1, gpu2] = await Promise.all([startOllamaFake({ models: [{ id: 'mixtral', loaded: true }, { id: 'phi3' }] }), startOllamaFake({ models: [{ id: 'phi3' }] })]);
  gateway = await startTestGateway();
  for (const [name, fake] of [['gpu-1', gpu1], ['gpu-2', gpu2]] as const) await gateway.api('POST', '/api/v1/model-servers', { name, server_type: 'ollama', base_url: fake.url });
  await gateway.api('POST', '/api/v1/model-servers/health-check-all');
});

afterAll(async () => {
  await gateway.stop();
  await Promise.all([gpu1.stop(), gpu2.stop()]);
});

describe('switchyard models', () => {
  it('ls prints the model × server matrix', async () => {
    const { code, stdout } = await cli(['models', 'ls']);
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^MODEL\s+GPU-1\s+GPU-2$/);
    expect(lines.find((line) => line.startsWith('mixtral:latest'))).toMatch(/● loaded\s+-$/);
    expect(lines.find((line) => line.startsWith('phi3:latest'))).toMatch(/○\s+○$/);
  });

  it('pull --all prints plain progress lines when not on a terminal, then the result', async () => {
    const { code, stdout } = await cli(['models', 'pull', 'qwen2.5:7b', '--all']);
    expect(code, stdout).toBe(0);
    expect(stdout).not.toContain('\x1b[');
    expect(stdout).toMatch(/^gpu-1 {2}pulling [0-9a-f]{12} {2}\d+%$/m);
    expect(stdout).toMatch(/^gpu-2 {2}succeeded {2}100%$/m);
    expect(stdout.trim().split('\n').at(-1)).toMatch(/^pull qwen2\.5:7b: succeeded \(succeeded on 2 of 2 servers; operation \S+\)$/);
    expect((await cli(['models', 'ls'])).stdout).toMatch(/^qwen2\.5:7b\s+○\s+○$/m);
  });

  it('draws one progress bar per server in place on a terminal, and exits 1 when a server failed', async () => {
    gpu2.setPullScript({ failAfterSteps: 1, failure: 'pull model manifest: file does not exist' });
    const { code, stdout } = await cli(['models', 'pull', 'gemma3:4b', '--server', 'gpu-1', '--server', 'gpu-2'], true);
    gpu2.setPullScript({});
    expect(code).toBe(1);
    expect(stdout).toContain('\x1b[2A');
    expect(stdout).toMatch(/gpu-1 {2}\[#{30}\] 100% {2}succeeded/);
    expect(stdout).toMatch(/gpu-2 {2}\[[#.]{30}\] +\d+% {2}failed: pull failed: pull model manifest: file does not exist/);
    expect(stdout).toMatch(/pull gemma3:4b: failed \(succeeded on 1 of 2 servers, not on gpu-2; operation \S+\)/);
  });

  it('load, unload and rm follow their operations; pull without a target is a usage error', async () => {
    expect((await cli(['models', 'load', 'phi3', '--server', 'gpu-2', '--keep-alive', '30m'])).code).toBe(0);
    expect((await cli(['models', 'ls'])).stdout).toMatch(/^phi3:latest\s+○\s+● loaded$/m);
    expect((await cli(['models', 'unload', 'phi3'])).code).toBe(0);
    const removed = await cli(['models', 'rm', 'qwen2.5:7b', '--server', 'gpu-2']);
    expect(removed.code, removed.stdout).toBe(0);
    expect((await cli(['models', 'ls'])).stdout).toMatch(/^qwen2\.5:7b\s+○\s+-$/m);
    const usage = await cli(['models', 'pull', 'phi3']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--all, or --server');
  });

  it('keys create --budget-cost sets a budget in currency', async () => {
    const created = await cli(['keys', 'create', '--name', 'metered-cli', '--budget-cost', '2.50']);
    expect(created.code, created.stderr).toBe(0);
    const keys = (await gateway.api('GET', '/api/v1/keys')).body.data as Array<{ name: string; budget_cost: number | null }>;
    expect(keys.find((key) => key.name === 'metered-cli')?.budget_cost).toBe(2.5);
    expect((await cli(['keys', 'create', '--name', 'bad', '--budget-cost', 'lots'])).code).toBe(2);
  });
});
