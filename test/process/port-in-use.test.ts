import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { binPath } from '../support/gateway-process.ts';

let occupier: Server | null = null;

afterEach(async () => {
  await new Promise((resolve) => (occupier === null ? resolve(undefined) : occupier.close(resolve)));
  occupier = null;
});

/** Runs `switchyard serve` to its exit, keeping stdout and stderr apart. */
function serveUntilExit(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [binPath, 'serve'], {
    env: { PATH: process.env['PATH'] ?? '', SWITCHYARD_DISCOVER_LOCAL_OLLAMA: 'false', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

describe('starting on a port that is taken', () => {
  it('prints one line naming the address and the setting, exits non-zero, and applies nothing of the fleet file', async () => {
    occupier = createServer();
    const port = await new Promise<number>((resolve) => occupier?.listen(0, '127.0.0.1', () => resolve((occupier?.address() as { port: number }).port)));
    const dir = mkdtempSync(join(tmpdir(), 'sy-port-'));
    const dataDir = join(dir, 'data');
    const fleet = join(dir, 'fleet.yaml');
    writeFileSync(fleet, 'servers:\n  - {name: primary, server_type: ollama, base_url: "http://127.0.0.1:9"}\nroutes:\n  - {name: gpt-4o, targets: [mixtral]}\n');

    const result = await serveUntilExit({ SWITCHYARD_PORT: String(port), SWITCHYARD_HOST: '127.0.0.1', SWITCHYARD_DATA_DIR: dataDir, SWITCHYARD_CONFIG: fleet });

    expect(result.code).not.toBe(0);
    expect(result.code).not.toBeNull();
    const lines = result.stderr.split('\n').filter((line) => line !== '');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`127.0.0.1:${port}`);
    expect(lines[0]).toMatch(/already in use/);
    expect(lines[0]).toContain('SWITCHYARD_PORT');
    expect(lines[0]).toContain('gateway.port');
    expect(result.stderr).not.toMatch(/\n\s+at /);
    // Storage was never opened: no database, so no fleet records in it.
    expect(existsSync(join(dataDir, 'switchyard.db'))).toBe(false);
  });
});
