// Part of `npm run bench`: what gRPC on the gateway's own port costs HTTP/1.1.
// Two gateways on one fast upstream, the same build: one recognising HTTP/2
// prefaces on its port (the default), one with SWITCHYARD_GRPC_SHARED_PORT=false.
// Interleaved request by request so drift hits both alike: keep-alive requests,
// a new connection per request (where detection runs), and throughput under load.
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { startProcess as start } from './bench-process.ts';
import { benchAuth, registerUpstream, startBenchGateway } from './bench-gateway.ts';
import { percentiles, timedPost } from './bench-timing.ts';

const seconds = Number(process.env['BENCH_SECONDS'] ?? 8);
const body = JSON.stringify({ model: 'bench-model', messages: [{ role: 'user', content: 'hi' }] });
const headers = { 'content-type': 'application/json', ...benchAuth };
const root = fileURLToPath(new URL('..', import.meta.url));

/** One POST on a connection of its own (no keep-alive), timed to the whole body. */
function freshConnectionPost(url: string): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(url, { method: 'POST', agent: false, headers: { ...headers, connection: 'close', 'content-length': Buffer.byteLength(body) } }, (response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk.toString()));
      response.on('end', () => (response.statusCode === 200 ? resolve(performance.now() - started) : reject(new Error(`HTTP ${response.statusCode}: ${text.slice(0, 300)}`))));
    });
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

async function startGateway(upstreamUrl: string, sharedPort: boolean) {
  const gateway = await startBenchGateway({ env: { SWITCHYARD_GRPC_SHARED_PORT: String(sharedPort) } });
  await registerUpstream(gateway.url, upstreamUrl);
  return { child: gateway.child, url: `${gateway.url}/v1/chat/completions` };
}

const upstream = await start([join(root, 'bench/bench-upstream.ts')], {}, /(http:\/\/127\.0\.0\.1:\d+)/);
const upstreamUrl = upstream.match[1] as string;
const shared = await startGateway(upstreamUrl, true);
const plain = await startGateway(upstreamUrl, false);

try {
  const keptAlive = { shared: [] as number[], plain: [] as number[] };
  const fresh = { shared: [] as number[], plain: [] as number[] };
  // Which gateway goes first alternates, so neither always meets a warmer (or busier) machine.
  const pair = async <T>(round: number, measure: (url: string) => Promise<T>): Promise<[T, T]> => {
    if (round % 2 === 0) {
      const first = await measure(shared.url);
      return [first, await measure(plain.url)];
    }
    const second = await measure(plain.url);
    return [await measure(shared.url), second];
  };
  for (let round = 0; round < 2_300; round++) {
    const measured = round >= 300;
    const [a, b] = await pair(round, async (url) => (await timedPost(url, body, headers, false)).ms);
    if (measured) {
      keptAlive.shared.push(a);
      keptAlive.plain.push(b);
    }
    if (round % 2 === 0) {
      const [c, d] = await pair(round / 2, freshConnectionPost);
      if (measured) {
        fresh.shared.push(c);
        fresh.plain.push(d);
      }
    }
  }
  const load = async (url: string) => {
    const result = await autocannon({ url, method: 'POST', body, headers, connections: 50, duration: seconds, pipelining: 1 });
    if (result.non2xx > 0 || result.errors > 0) throw new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors`);
    return result.requests.average;
  };
  // Alternated halves, so neither gateway always runs while the machine is warmer.
  const rps = { shared: 0, plain: 0 };
  rps.plain += (await load(plain.url)) / 2;
  rps.shared += (await load(shared.url)) / 2;
  rps.shared += (await load(shared.url)) / 2;
  rps.plain += (await load(plain.url)) / 2;

  const ms = (value: number) => `${value.toFixed(3)} ms`;
  const row = (measure: string, on: number, off: number, show: (value: number) => string) => `| ${measure} | ${show(on)} | ${show(off)} | ${(on / off).toFixed(3)}× |`;
  const kept = { shared: percentiles(keptAlive.shared), plain: percentiles(keptAlive.plain) };
  const once = { shared: percentiles(fresh.shared), plain: percentiles(fresh.plain) };
  const lines = [
    '',
    'HTTP/1.1 on the gateway\'s port, with gRPC recognised on it (default) and without (SWITCHYARD_GRPC_SHARED_PORT=false), same run:',
    '',
    '| measure | gRPC on the port | HTTP only | ratio |',
    '|---|---|---|---|',
    row('keep-alive, one at a time, p50', kept.shared.p50, kept.plain.p50, ms),
    row('keep-alive, one at a time, p99', kept.shared.p99, kept.plain.p99, ms),
    row('new connection per request, p50', once.shared.p50, once.plain.p50, ms),
    row('new connection per request, p99', once.shared.p99, once.plain.p99, ms),
    row('under load (50 connections), requests/s', rps.shared, rps.plain, (value) => value.toFixed(0)),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  shared.child.kill('SIGTERM');
  plain.child.kill('SIGTERM');
  upstream.child.kill('SIGTERM');
}
