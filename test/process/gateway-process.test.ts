import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { startOllamaFake } from '../fakes/index.ts';
import { binPath, spawnGateway } from '../support/gateway-process.ts';

const run = promisify(execFile);

// These machines ship Node 20 as /usr/bin/node: the very case the version check is for.
const oldNode = await (async () => {
  if (!existsSync('/usr/bin/node')) return null;
  const { stdout } = await run('/usr/bin/node', ['--version']);
  return Number(stdout.trim().slice(1).split('.')[0]) < 22 ? '/usr/bin/node' : null;
})();

describe('the gateway as a process', () => {
  it('on first start creates ./data, generates an admin key shown once on the console and never logs it', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'sy-process-')), 'data');
    const first = await spawnGateway({ SWITCHYARD_DATA_DIR: dataDir });
    const banner = first.output();
    const key = /^\s+(sk-sy-[A-Za-z0-9_-]{43})$/m.exec(banner)?.[1];
    expect(key, banner).toBeDefined();
    expect(banner).toMatch(/shown ONCE/);
    expect(banner).toMatch(/Storage: sqlite at .*switchyard\.db/);
    expect(existsSync(join(dataDir, 'switchyard.db'))).toBe(true);
    expect(statSync(join(dataDir, 'secret.key')).mode & 0o777).toBe(0o600);

    const authorised = await fetch(`${first.url}/api/v1/model-servers`, { headers: { authorization: `Bearer ${key}` } });
    expect(authorised.status).toBe(200);
    const logLines = first.output().split('\n').filter((line) => line.startsWith('{'));
    expect(logLines.length).toBeGreaterThan(0);
    expect(logLines.join('\n')).not.toContain(key as string);
    expect(await first.kill()).toBe(0);

    const second = await spawnGateway({ SWITCHYARD_DATA_DIR: dataDir });
    expect(second.output()).not.toContain('sk-sy-');
    expect((await fetch(`${second.url}/api/v1/model-servers`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(200);
    await second.kill();
  });

  it('never prints or logs a key given in SWITCHYARD_ADMIN_KEY', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sy-process-'));
    const key = 'sk-sy-canary-admin-key-from-the-environment';
    const gateway = await spawnGateway({ SWITCHYARD_DATA_DIR: dataDir, SWITCHYARD_ADMIN_KEY: key });
    expect((await fetch(`${gateway.url}/api/v1/model-servers`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(200);
    expect((await fetch(`${gateway.url}/api/v1/model-servers`, { headers: { authorization: 'Bearer nope' } })).status).toBe(401);
    await gateway.kill();
    expect(gateway.output()).toMatch(/SWITCHYARD_ADMIN_KEY/);
    expect(gateway.output()).not.toContain(key);
  });

  it('keeps a server acknowledged just before a SIGKILL', async () => {
    const ollama = await startOllamaFake();
    const dataDir = mkdtempSync(join(tmpdir(), 'sy-process-'));
    const env = { SWITCHYARD_DATA_DIR: dataDir, SWITCHYARD_ADMIN_KEY: 'sk-sy-durability-test-key-000000' };
    const headers = { authorization: `Bearer ${env.SWITCHYARD_ADMIN_KEY}`, 'content-type': 'application/json' };
    try {
      const gateway = await spawnGateway(env);
      const created = await fetch(`${gateway.url}/api/v1/model-servers`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ name: 'survivor', server_type: 'ollama', base_url: ollama.url, api_key: 'sk-upstream-kept' }),
      });
      expect(created.status).toBe(201);
      const { id } = (await created.json()) as { id: string };
      await gateway.kill('SIGKILL');

      const restarted = await spawnGateway(env);
      const found = await fetch(`${restarted.url}/api/v1/model-servers/${id}`, { headers });
      expect(found.status).toBe(200);
      expect(await found.json()).toMatchObject({ name: 'survivor', has_api_key: true });
      await restarted.kill();
    } finally {
      await ollama.stop();
    }
  });

  it('waits for a database it cannot reach, answering as starting, and stops cleanly on SIGTERM meanwhile', async () => {
    // Nothing listens on port 1: the database is "down" for the whole test.
    const waiting = await spawnGateway({ DATABASE_URL: 'postgres://switchyard:sekrit-password@127.0.0.1:1/switchyard', SWITCHYARD_DATA_DIR: mkdtempSync(join(tmpdir(), 'sy-waiting-')) }, [], { until: 'waiting-for-database' });
    expect((await fetch(`${waiting.url}/health`)).status).toBe(200);
    expect((await fetch(`${waiting.url}/ready`)).status).toBe(503);
    // Ollama's clients read {"error": "..."}.
    const ollama = await fetch(`${waiting.url}/api/chat`, { method: 'POST', body: '{}' });
    expect([ollama.status, ((await ollama.json()) as { error: string }).error]).toEqual([503, expect.stringMatching(/waits for its database/)]);
    expect(await waiting.kill('SIGTERM')).toBe(0);
    expect(waiting.output()).toMatch(/ECONNREFUSED/);
    expect(waiting.output()).not.toContain('sekrit-password');
  });

  it('fails fast naming a bad setting', async () => {
    const result = await run(process.execPath, [binPath, 'serve'], { env: { PATH: process.env['PATH'] ?? '', SWITCHYARD_PORT: 'abc' } }).catch((error: { code: number; stderr: string }) => error);
    expect(result).toMatchObject({ code: 2 });
    expect((result as { stderr: string }).stderr).toMatch(/Invalid setting SWITCHYARD_PORT/);
  });

  it.skipIf(oldNode === null)('tells a user on an old Node which version it needs instead of a stack trace', async () => {
    const result = await run(oldNode as string, [binPath, 'serve']).catch((error: { code: number; stderr: string }) => error);
    expect(result).toMatchObject({ code: 1 });
    expect((result as { stderr: string }).stderr).toMatch(/needs Node\.js 22\.19 or newer/);
    expect((result as { stderr: string }).stderr).not.toMatch(/at .*\.js:\d+/);
  });
});
