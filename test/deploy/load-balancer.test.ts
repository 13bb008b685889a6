import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitUntil } from '../support/wait-until.ts';
import { readRepoFile, repoPath } from './deploy-files.ts';

const run = promisify(execFile);
// HAProxy from Debian (apt-get install haproxy); the compose file runs the haproxy:3.2 image.
const haproxy = ['/usr/sbin/haproxy', '/usr/local/sbin/haproxy', '/usr/bin/haproxy'].find((path) => existsSync(path)) ?? null;
if (haproxy === null) process.stderr.write('\n*** haproxy not installed (apt-get install haproxy): the load balancer checks are SKIPPED ***\n\n');

/** A stand-in replica: says who it is, and answers /ready as told. */
function replica(name: string): Promise<{ server: Server; port: number; setReady: (ready: boolean) => void; served: () => number }> {
  let ready = true;
  let served = 0;
  const server = createServer((incoming, outgoing) => {
    if (incoming.url === '/ready') {
      outgoing.writeHead(ready ? 200 : 503).end();
      return;
    }
    served += 1;
    outgoing.writeHead(200, { 'x-replica': name }).end(incoming.url);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as AddressInfo).port, setReady: (value) => (ready = value), served: () => served }));
  });
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** One request on its own connection, so each is balanced afresh. */
function get(port: number, path: string): Promise<{ status: number; replica: string | undefined }> {
  return new Promise((resolve, reject) => {
    const outgoing = request({ host: '127.0.0.1', port, path, agent: false }, (response) => {
      response.resume();
      response.on('end', () => resolve({ status: response.statusCode ?? 0, replica: response.headers['x-replica'] as string | undefined }));
    });
    outgoing.on('error', reject);
    outgoing.end();
  });
}

describe.skipIf(haproxy === null)('deploy/compose/haproxy.cfg under HAProxy', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'switchyard-haproxy-'));
  let one: Awaited<ReturnType<typeof replica>>;
  let two: Awaited<ReturnType<typeof replica>>;
  let balancer: ChildProcess;
  let port: number;

  beforeAll(async () => {
    [one, two, port] = await Promise.all([replica('gateway-1'), replica('gateway-2'), freePort()]);
    // The shipped file with loopback addresses for the compose service names and Docker's resolver left out.
    const config = readRepoFile('deploy/compose/haproxy.cfg')
      .replace(/^resolvers docker\n(?:[ \t]+.*\n)+/m, '')
      .replace(' resolvers docker init-addr last,libc,none', '')
      .replace('bind :8000', `bind 127.0.0.1:${port}`)
      .replace('server gateway-1 gateway-1:8000', `server gateway-1 127.0.0.1:${one.port}`)
      .replace('server gateway-2 gateway-2:8000', `server gateway-2 127.0.0.1:${two.port}`);
    writeFileSync(join(scratch, 'haproxy.cfg'), config);
    balancer = spawn(haproxy as string, ['-db', '-f', join(scratch, 'haproxy.cfg')], { stdio: 'ignore' });
    await waitUntil(async () => (await get(port, '/v1/models').catch(() => ({ status: 0 }))).status === 200, { what: 'HAProxy answering' });
  });

  afterAll(async () => {
    if (balancer !== undefined && balancer.exitCode === null) {
      const exited = new Promise((resolve) => balancer.once('exit', resolve));
      balancer.kill('SIGTERM');
      await exited;
    }
    await Promise.all([one, two].filter(Boolean).map((entry) => new Promise((resolve) => entry.server.close(resolve))));
    rmSync(scratch, { recursive: true, force: true });
  });

  it('the shipped file passes haproxy -c', async () => {
    const { stdout } = await run(haproxy as string, ['-c', '-f', repoPath('deploy/compose/haproxy.cfg')]);
    expect(stdout).toMatch(/Configuration file is valid/);
  });

  it('spreads requests over both replicas and does not serve /metrics from outside', async () => {
    await waitUntil(async () => {
      const answers = await Promise.all(Array.from({ length: 6 }, () => get(port, '/v1/models')));
      return answers.every((answer) => answer.status === 200) && new Set(answers.map((answer) => answer.replica)).size === 2;
    }, { what: 'both replicas serving' });
    expect((await get(port, '/metrics')).status).toBe(404);
  });

  it('stops sending to a replica whose /ready answers 503 (a draining gateway) while it still serves', async () => {
    two.setReady(false);
    // The check (inter 2s, fall 2) takes it out within a few seconds.
    await waitUntil(async () => {
      const answers = await Promise.all(Array.from({ length: 6 }, () => get(port, '/v1/models')));
      return answers.every((answer) => answer.replica === 'gateway-1');
    }, { what: 'gateway-2 out of rotation' });
    const before = two.served();
    const answers = await Promise.all(Array.from({ length: 10 }, () => get(port, '/v1/models')));
    expect(answers.map((answer) => answer.replica)).toEqual(Array(10).fill('gateway-1'));
    expect(two.served()).toBe(before);
    // It was taken out for its /ready, not because it stopped answering.
    expect((await get(two.port, '/v1/models')).status).toBe(200);
    two.setReady(true);
    await waitUntil(async () => new Set((await Promise.all(Array.from({ length: 6 }, () => get(port, '/v1/models')))).map((answer) => answer.replica)).size === 2, { what: 'gateway-2 back in rotation' });
  });
});
