import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './own-postgres.ts';
import { waitForPing } from './own-redis-server.ts';
import { waitFor } from './wait-for.ts';

const run = promisify(execFile);

/** Real Redis processes of the test's own, on free loopback ports, in memory only. */
export interface RedisTopology {
  url: string;
  /** The processes, by role, to kill in failover tests. */
  kill(role: string): Promise<void>;
  stop(): Promise<void>;
}

function startServer(dir: string, args: string[]): ChildProcess {
  return spawn('redis-server', ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...args], { stdio: 'ignore' });
}

function ping(port: number): Promise<void> {
  return waitForPing(`redis://127.0.0.1:${port}`);
}

async function stopAll(children: Map<string, ChildProcess>, dir: string): Promise<void> {
  await Promise.all([...children.values()].map((child) => kill(child)));
  rmSync(dir, { recursive: true, force: true });
}

async function kill(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  await new Promise((resolve) => {
    child.once('exit', resolve);
    child.kill('SIGKILL');
  });
}

/** A primary, a replica and one Sentinel watching them (quorum 1, quick failover). */
export async function startSentinelSet(): Promise<RedisTopology & { primaryPort: number; replicaPort: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'sy-sentinel-'));
  const [primaryPort, replicaPort, sentinelPort] = [await freePort(), await freePort(), await freePort()];
  const children = new Map<string, ChildProcess>();
  children.set('primary', startServer(dir, ['--port', String(primaryPort)]));
  await ping(primaryPort);
  children.set('replica', startServer(dir, ['--port', String(replicaPort), '--replicaof', '127.0.0.1', String(primaryPort)]));
  await ping(replicaPort);
  const config = join(dir, 'sentinel.conf');
  // Sentinel rewrites its own file: it must be one of ours, writable.
  writeFileSync(config, [`port ${sentinelPort}`, 'bind 127.0.0.1', `dir ${dir}`, `sentinel monitor switchyard 127.0.0.1 ${primaryPort} 1`, 'sentinel down-after-milliseconds switchyard 1000', 'sentinel failover-timeout switchyard 3000', ''].join('\n'));
  children.set('sentinel', spawn('redis-server', [config, '--sentinel'], { stdio: 'ignore' }));
  await ping(sentinelPort);
  return {
    url: `redis+sentinel://127.0.0.1:${sentinelPort}/switchyard`,
    primaryPort,
    replicaPort,
    kill: (role) => kill(children.get(role)),
    stop: () => stopAll(children, dir),
  };
}

/** Three primaries in a Redis Cluster (no replicas), slots spread by redis-cli. */
export async function startRedisCluster(): Promise<RedisTopology> {
  const dir = mkdtempSync(join(tmpdir(), 'sy-cluster-'));
  const ports = [await freePort(), await freePort(), await freePort()];
  const children = new Map<string, ChildProcess>();
  for (const [index, port] of ports.entries()) {
    children.set(`node${index}`, startServer(dir, ['--port', String(port), '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', '2000']));
  }
  for (const port of ports) await ping(port);
  await run('redis-cli', ['--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', '0', '--cluster-yes']);
  await waitFor(async () => {
    for (const port of ports) {
      const { stdout } = await run('redis-cli', ['-p', String(port), 'cluster', 'info']);
      if (!stdout.includes('cluster_state:ok')) return false;
    }
    return true;
  }, 'the cluster to be ok', 30_000);
  return {
    url: `redis+cluster://127.0.0.1:${ports[0]},127.0.0.1:${ports[1]}`,
    kill: (role) => kill(children.get(role)),
    stop: () => stopAll(children, dir),
  };
}
