// The real gateway as the benchmarks start it: its own process, a free loopback
// port, a fresh data directory, the benchmark's admin key, and the fast upstream registered.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { startProcess } from './bench-process.ts';

export const benchKey = 'sk-sy-benchmark-admin-key-000000000';
export const benchAuth = { authorization: `Bearer ${benchKey}` };
const thisCheckout = fileURLToPath(new URL('..', import.meta.url));

/** Starts `bin/switchyard.js serve` from `root` (this checkout by default); `env` adds or overrides settings, `nodeFlags` go to node (`--cpu-prof`). */
export async function startBenchGateway(options: { root?: string; env?: Record<string, string>; nodeFlags?: string[] } = {}): Promise<{ child: ChildProcess; url: string }> {
  const gateway = await startProcess([...(options.nodeFlags ?? []), join(options.root ?? thisCheckout, 'bin/switchyard.js'), 'serve'], {
    SWITCHYARD_PORT: '0',
    SWITCHYARD_HOST: '127.0.0.1',
    SWITCHYARD_DATA_DIR: mkdtempSync(join(tmpdir(), 'switchyard-bench-')),
    SWITCHYARD_ADMIN_KEY: benchKey,
    SWITCHYARD_DISCOVER_LOCAL_OLLAMA: 'false',
    SWITCHYARD_LOG_LEVEL: 'warn',
    ...options.env,
  }, /listening on [^\s:]+:(\d+)/);
  return { child: gateway.child, url: `http://127.0.0.1:${gateway.match[1]}` };
}

/** Registers the fast upstream (an OpenAI-style server) with a gateway and checks it, so its model is routable. */
export async function registerUpstream(gatewayUrl: string, upstreamUrl: string): Promise<void> {
  await request(`${gatewayUrl}/api/v1/model-servers`, { method: 'POST', headers: { ...benchAuth, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'bench', server_type: 'openai', base_url: upstreamUrl }) }).then((response) => response.body.dump());
  await request(`${gatewayUrl}/api/v1/model-servers/health-check-all`, { method: 'POST', headers: benchAuth }).then((response) => response.body.dump());
}

export interface BenchServer {
  name: string;
  server_type: string;
  base_url: string;
  max_concurrency?: number;
}

/** Registers model servers (their kind and capacity stated) and checks them all once, so their models are routable. */
export async function registerServers(gatewayUrl: string, servers: readonly BenchServer[]): Promise<void> {
  for (const server of servers) {
    const response = await request(`${gatewayUrl}/api/v1/model-servers`, { method: 'POST', headers: { ...benchAuth, 'content-type': 'application/json' }, body: JSON.stringify(server) });
    const text = await response.body.text();
    if (response.statusCode !== 201) throw new Error(`registering ${server.name}: ${response.statusCode} ${text}`);
  }
  await request(`${gatewayUrl}/api/v1/model-servers/health-check-all`, { method: 'POST', headers: benchAuth }).then((response) => response.body.dump());
}

/** Creates a route (an alias over models, with its own strategy). */
export async function createRoute(gatewayUrl: string, route: { name: string; targets: string[]; strategy: string }): Promise<void> {
  const response = await request(`${gatewayUrl}/api/v1/routes`, { method: 'POST', headers: { ...benchAuth, 'content-type': 'application/json' }, body: JSON.stringify(route) });
  const text = await response.body.text();
  if (response.statusCode !== 201) throw new Error(`creating route ${route.name}: ${response.statusCode} ${text}`);
}
