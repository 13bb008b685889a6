import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inhouseKindConfig, startInhouseFake, type InhouseFake } from '../fakes/index.ts';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';
import { binPath } from '../support/gateway-process.ts';

const run = promisify(execFile);
let gateway: TestGateway;
let house: InhouseFake;

beforeAll(async () => {
  [gateway, house] = await Promise.all([startTestGateway(), startInhouseFake({ models: ['house-model'] })]);
});

afterAll(async () => {
  await Promise.all([gateway.stop(), house.stop()]);
});

function cli(...args: string[]) {
  return run(process.execPath, [binPath, 'servers', ...args], { env: { PATH: process.env['PATH'] ?? '', SWITCHYARD_URL: gateway.url, SWITCHYARD_ADMIN_KEY: adminKey } });
}

describe('server kinds in the CLI', () => {
  it('lists the kinds the gateway speaks, adds a custom server with --kind-config, and names the kinds on a typo', async () => {
    const kinds = await cli('kinds');
    for (const kind of ['ollama', 'vllm', 'llamacpp', 'openai', 'embedding', 'reranker', 'custom']) expect(kinds.stdout).toMatch(new RegExp(`^${kind}\\s`, 'm'));
    const added = await cli('add', '--name', 'house', '--base-url', house.url, '--type', 'custom', '--kind-config', JSON.stringify(inhouseKindConfig));
    expect(added.stdout).toMatch(/^Added house \(custom\)/);
    const typo = await cli('add', '--name', 'x', '--base-url', house.url, '--type', 'lamacpp').catch((error: { stderr: string; code: number }) => error);
    expect((typo as { code: number }).code).toBeGreaterThan(0);
    expect((typo as { stderr: string }).stderr).toMatch(/server_type must be one of: auto, .*llamacpp/);
    // Three processes start here; a loaded machine takes seconds per Node start-up.
  }, 60_000);
});
