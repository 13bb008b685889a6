// Compares two checkouts of the gateway in one run, request by request, so
// the machine's drift (noisy neighbours, thermal) hits both alike:
//   COMPARE_ROOTS=/path/to/base,/path/to/change node bench/compare-builds.ts
// One-at-a-time latency (interleaved) and throughput under load (alternated halves), and each
// gateway process's CPU time per request in both (from /proc; COMPARE_ROUNDS sets the one-at-a-time
// rounds, 4,000 by default, the first 500 of them warm-up). CPU per request under load is noisy too
// on a shared machine (two copies of one build differed by up to 15 % in one run): repeat, and list
// a copy of the base twice to see the noise. Then streaming time to first byte, interleaved
// (COMPARE_STREAM_ROUNDS, 600 by default).
import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { startProcess as start } from './bench-process.ts';
import { benchAuth, registerUpstream, startBenchGateway } from './bench-gateway.ts';
import { percentiles, timedPost } from './bench-timing.ts';

const body = JSON.stringify({ model: 'bench-model', messages: [{ role: 'user', content: 'hi' }] });
const streamBody = JSON.stringify({ model: 'bench-model', messages: [{ role: 'user', content: 'hi' }], stream: true });
const headers = { 'content-type': 'application/json', ...benchAuth };
const roots = (process.env['COMPARE_ROOTS'] ?? '').split(',').filter((root) => root !== '');
if (roots.length < 2) throw new Error('Set COMPARE_ROOTS to two or more checkouts, comma-separated.');
const seconds = Number(process.env['BENCH_SECONDS'] ?? 6);
const rounds = Number(process.env['COMPARE_ROUNDS'] ?? 4_000);
const blocks = Number(process.env['COMPARE_BLOCKS'] ?? 8);
// Streams, interleaved: each waits ~25 ms for the fast upstream's last token, so between requests
// every process idles as it does between real requests (COMPARE_STREAM_ROUNDS, the first 100 warm-up).
const streamRounds = Number(process.env['COMPARE_STREAM_ROUNDS'] ?? 600);

const upstream = await start([join(roots[0] as string, 'bench/bench-upstream.ts')], {}, /(http:\/\/127\.0\.0\.1:\d+)/);
const upstreamUrl = upstream.match[1] as string;
const builds: Array<{ root: string; child: ChildProcess; url: string; samples: number[]; rps: number; sequentialCpuMs: number; loadCpuMs: number; loadRequests: number; blockCpuUs: number[]; ttfb: number[] }> = [];
try {
  for (const root of roots) {
    const gateway = await startBenchGateway({ root });
    builds.push({ root, child: gateway.child, url: `${gateway.url}/v1/chat/completions`, samples: [], rps: 0, sequentialCpuMs: 0, loadCpuMs: 0, loadRequests: 0, blockCpuUs: [], ttfb: [] });
    await registerUpstream(gateway.url, upstreamUrl);
  }
  for (let round = 0; round < rounds; round++) {
    // The first 500 rounds warm each build; CPU is counted from there on.
    if (round === 500) for (const build of builds) build.sequentialCpuMs = -cpuMsOf(build.child);
    for (const build of builds) {
      const { ms } = await timedPost(build.url, body, headers, false);
      if (round >= 500) build.samples.push(ms);
    }
  }
  for (const build of builds) build.sequentialCpuMs += cpuMsOf(build.child);
  // CPU per request one at a time, in blocks of 500 requests to one build (builds in turn, the order
  // reversed every round): request by request, every build's caches are cold and its CPU per request
  // doubles; in blocks, it reads like a build serving alone. The median block is reported.
  for (let block = 0; block < blocks; block++) {
    for (const build of block % 2 === 0 ? builds : [...builds].reverse()) {
      const before = cpuMsOf(build.child);
      for (let index = 0; index < 500; index++) await timedPost(build.url, body, headers, false);
      build.blockCpuUs.push(((cpuMsOf(build.child) - before) * 1000) / 500);
    }
  }
  for (let round = 0; round < streamRounds; round++) {
    for (const build of round % 2 === 0 ? builds : [...builds].reverse()) {
      const { ms } = await timedPost(build.url, streamBody, headers, true);
      if (round >= 100) build.ttfb.push(ms);
    }
  }
  for (const order of [builds, [...builds].reverse()]) {
    for (const build of order) {
      const before = cpuMsOf(build.child);
      const result = await autocannon({ url: build.url, method: 'POST', body, headers, connections: 50, duration: seconds });
      build.loadCpuMs += cpuMsOf(build.child) - before;
      build.loadRequests += result.requests.total;
      build.rps += result.requests.average / 2;
    }
  }
  const lines = ['| build | one at a time p50 | p99 | CPU per request (interleaved) | CPU per request (blocks: median, range) | streaming TTFB p50 | p99 | under load, requests/s | CPU per request |', '|---|---|---|---|---|---|---|---|---|'];
  for (const build of builds) {
    const { p50, p99 } = percentiles(build.samples);
    const sequentialCpu = (1000 * build.sequentialCpuMs) / (rounds - 500);
    const loadCpu = (1000 * build.loadCpuMs) / build.loadRequests;
    const sorted = [...build.blockCpuUs].sort((a, b) => a - b);
    const blockCpu = `${(sorted[Math.floor(sorted.length / 2)] ?? Number.NaN).toFixed(0)} µs (${(sorted[0] ?? Number.NaN).toFixed(0)}-${(sorted[sorted.length - 1] ?? Number.NaN).toFixed(0)})`;
    const ttfb = percentiles(build.ttfb);
    lines.push(`| ${build.root} | ${p50.toFixed(3)} ms | ${p99.toFixed(3)} ms | ${sequentialCpu.toFixed(0)} µs | ${blockCpu} | ${ttfb.p50.toFixed(3)} ms | ${ttfb.p99.toFixed(3)} ms | ${build.rps.toFixed(0)} | ${loadCpu.toFixed(0)} µs |`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  for (const build of builds) build.child.kill('SIGTERM');
  upstream.child.kill('SIGTERM');
}

/**
 * A process's CPU time so far, in ms: the scheduler's run time of each of its threads (Linux:
 * /proc/<pid>/task/<tid>/schedstat, in ns). Exact, unlike utime/stime in /proc/<pid>/stat, which
 * are sampled at the 10 ms clock tick.
 */
function cpuMsOf(child: ChildProcess): number {
  let ns = 0;
  for (const thread of readdirSync(`/proc/${child.pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${child.pid}/task/${thread}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // A thread that ended between the listing and the read: its time is gone from the sum either way.
    }
  }
  return ns / 1e6;
}
