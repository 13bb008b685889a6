// Counts the system calls the gateway and the bare proxy make per request (strace -c on each process
// while it serves `SYSCALL_REQUESTS` one-at-a-time requests, default 2,000). Linux with strace only.
// `node bench/syscall-count.ts [checkout]` (the checkout whose gateway is counted; this one by default).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startProcess } from './bench-process.ts';
import { benchAuth, registerUpstream, startBenchGateway } from './bench-gateway.ts';
import { timedPost } from './bench-timing.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const count = Number(process.env['SYSCALL_REQUESTS'] ?? 2_000);
const body = JSON.stringify({ model: 'bench-model', messages: [{ role: 'user', content: 'hi' }] });
const streamBody = JSON.stringify({ model: 'bench-model', messages: [{ role: 'user', content: 'hi' }], stream: true });

const upstream = await startProcess([join(root, 'bench/bench-upstream.ts')], {}, /(http:\/\/127\.0\.0\.1:\d+)/);
const upstreamUrl = upstream.match[1] as string;
const bare = await startProcess([join(root, 'bench/bare-proxy.ts'), upstreamUrl], {}, /(http:\/\/127\.0\.0\.1:\d+)/);
const gateway = await startBenchGateway({ root: process.argv[2] ?? root });

/** strace -c of `pid` while `count` requests go to `url`; the calls per request, most first. */
async function countCalls(pid: number, url: string, headers: Record<string, string>, payload: string): Promise<Array<[string, number]>> {
  for (let index = 0; index < 300; index++) await timedPost(url, payload, headers, payload === streamBody);
  const output = join(tmpdir(), `syscalls-${pid}-${Date.now()}.txt`);
  const tracer = spawn('strace', ['-c', '-f', '-p', String(pid), '-o', output], { stdio: 'ignore' });
  // strace is attached once it has stopped every thread; half a second is ample on an idle process.
  await new Promise((resolve) => setTimeout(resolve, 500));
  for (let index = 0; index < count; index++) await timedPost(url, payload, headers, payload === streamBody);
  const exited = new Promise((resolve) => tracer.once('exit', resolve));
  tracer.kill('SIGINT');
  await exited;
  const rows: Array<[string, number]> = [];
  for (const line of readFileSync(output, 'utf8').split('\n')) {
    const fields = line.trim().split(/\s+/);
    // % time, seconds, usecs/call, calls, [errors], syscall
    if (fields.length < 5 || !/^\d/.test(fields[0] as string)) continue;
    rows.push([fields[fields.length - 1] as string, Number(fields[3]) / count]);
  }
  return rows.filter(([name]) => name !== 'total').sort((a, b) => b[1] - a[1]);
}

try {
  await registerUpstream(gateway.url, upstreamUrl);
  const headers = { 'content-type': 'application/json' };
  const targets = [
    { name: 'bare proxy', pid: bare.child.pid as number, url: `${bare.match[1]}/v1/chat/completions`, headers },
    { name: 'gateway', pid: gateway.child.pid as number, url: `${gateway.url}/v1/chat/completions`, headers: { ...headers, ...benchAuth } },
  ];
  for (const payload of [body, streamBody]) {
    for (const target of targets) {
      const rows = await countCalls(target.pid, target.url, target.headers, payload);
      const total = rows.reduce((sum, [, calls]) => sum + calls, 0);
      process.stdout.write(`${target.name}, ${payload === body ? 'JSON' : 'stream'}: ${total.toFixed(1)} calls a request: ${rows.filter(([, calls]) => calls >= 0.05).map(([name, calls]) => `${name} ${calls.toFixed(2)}`).join(', ')}\n`);
    }
  }
} finally {
  gateway.child.kill('SIGTERM');
  bare.child.kill('SIGTERM');
  upstream.child.kill('SIGTERM');
}
