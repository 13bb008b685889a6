// Compares two checkouts of the gateway in one run, request by request, so
// the machine's drift (noisy neighbours, thermal) hits both alike:
//   COMPARE_ROOTS=/path/to/base,/path/to/change node bench/compare-builds.ts
// One-at-a-time latency (interleaved) and throughput under load (alternated halves).
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { startProcess as start } from './bench-process.ts';
import { benchAuth, registerUpstream, startBenchGateway } from './bench-gateway.ts';
import { percentiles, timedPost } from './bench-timing.ts';

const body = JSON.stringify({ model: 'bench-model', messages: [{ role: 'user', content: 'hi' }] });
const headers = { 'content-type': 'application/json', ...benchAuth };
const roots = (process.env['COMPARE_ROOTS'] ?? '').split(',').filter((root) => root !== '');
if (roots.length < 2) throw new Error('Set COMPARE_ROOTS to two or more checkouts, comma-separated.');
const seconds = Number(process.env['BENCH_SECONDS'] ?? 6);

const upstream = await start([join(roots[0] as string, 'bench/bench-upstream.ts')], {}, /(http:\/\/127\.0\.0\.1:\d+)/);
const upstreamUrl = upstream.match[1] as string;
const builds: Array<{ root: string; child: ChildProcess; url: string; samples: number[]; rps: number }> = [];
try {
  for (const root of roots) {
    const gateway = await startBenchGateway({ root });
    builds.push({ root, child: gateway.child, url: `${gateway.url}/v1/chat/completions`, samples: [], rps: 0 });
    await registerUpstream(gateway.url, upstreamUrl);
  }
  for (let round = 0; round < 4_000; round++) {
    for (const build of builds) {
      const { ms } = await timedPost(build.url, body, headers, false);
      // The first 500 rounds warm each build.
      if (round >= 500) build.samples.push(ms);
    }
  }
  for (const order of [builds, [...builds].reverse()]) {
    for (const build of order) build.rps += (await autocannon({ url: build.url, method: 'POST', body, headers, connections: 50, duration: seconds })).requests.average / 2;
  }
  const lines = ['| build | one at a time p50 | p99 | under load, requests/s |', '|---|---|---|---|'];
  for (const build of builds) {
    const { p50, p99 } = percentiles(build.samples);
    lines.push(`| ${build.root} | ${p50.toFixed(3)} ms | ${p99.toFixed(3)} ms | ${build.rps.toFixed(0)} |`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  for (const build of builds) build.child.kill('SIGTERM');
  upstream.child.kill('SIGTERM');
}
