// `npm run bench`: the gateway's overhead against a direct call on loopback and
// against a bare pass-through proxy (bare-proxy.ts), all in the same run.
// Starts a fast upstream, the bare proxy and the real gateway (each its own
// process), then measures with autocannon: throughput under load, one-at-a-time
// latency, and streaming time to first byte. Prints a table for docs/benchmarks.md.
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { startProcess as start } from './bench-process.ts';
import { benchAuth, registerUpstream, startBenchGateway } from './bench-gateway.ts';
import { percentiles, timedPost } from './bench-timing.ts';

const seconds = Number(process.env['BENCH_SECONDS'] ?? 8);
const body = JSON.stringify({ model: 'bench-model', messages: [{ role: 'user', content: 'hi' }] });
const streamBody = JSON.stringify({ model: 'bench-model', messages: [{ role: 'user', content: 'hi' }], stream: true });

async function load(url: string, connections: number, headers: Record<string, string>) {
  const result = await autocannon({ url, method: 'POST', body, headers: { 'content-type': 'application/json', ...headers }, connections, duration: seconds, pipelining: 1 });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99 };
}

async function sequentialLatency(url: string, headers: Record<string, string>, count: number, payload: string) {
  const samples: number[] = [];
  for (let index = 0; index < count; index++) samples.push((await timedPost(url, payload, { 'content-type': 'application/json', ...headers }, payload === streamBody)).ms);
  return percentiles(samples);
}

const root = fileURLToPath(new URL('..', import.meta.url));
const upstream = await start([join(root, 'bench/bench-upstream.ts')], {}, /(http:\/\/127\.0\.0\.1:\d+)/);
const upstreamUrl = upstream.match[1] as string;
const bare = await start([join(root, 'bench/bare-proxy.ts'), upstreamUrl], {}, /(http:\/\/127\.0\.0\.1:\d+)/);
const bareUrl = bare.match[1] as string;
// BENCH_LOG_LEVEL=info measures the cost of per-request log lines too.
const gateway = await startBenchGateway({ env: { SWITCHYARD_LOG_LEVEL: process.env['BENCH_LOG_LEVEL'] ?? 'warn' } });
const gatewayUrl = gateway.url;
const auth = benchAuth;

try {
  await registerUpstream(gatewayUrl, upstreamUrl);

  const direct = `${upstreamUrl}/v1/chat/completions`;
  const proxied = `${bareUrl}/v1/chat/completions`;
  const via = `${gatewayUrl}/v1/chat/completions`;
  // Warm every path (JIT, pools) before measuring.
  await sequentialLatency(direct, {}, 300, body);
  await sequentialLatency(proxied, {}, 300, body);
  await sequentialLatency(via, auth, 300, body);

  const one = { direct: await sequentialLatency(direct, {}, 2_000, body), bare: await sequentialLatency(proxied, {}, 2_000, body), via: await sequentialLatency(via, auth, 2_000, body) };
  const stream = { direct: await sequentialLatency(direct, {}, 300, streamBody), bare: await sequentialLatency(proxied, {}, 300, streamBody), via: await sequentialLatency(via, auth, 300, streamBody) };
  const loaded = { direct: await load(direct, 50, {}), bare: await load(proxied, 50, {}), via: await load(via, 50, auth) };

  // Every client API's stream against /v1/chat/completions', interleaved request by request so drift hits all alike.
  const streams: Array<{ api: string; url: string; payload: string }> = [
    { api: 'OpenAI Chat Completions (/v1/chat/completions)', url: via, payload: streamBody },
    { api: 'Ollama (/api/chat, translated)', url: `${gatewayUrl}/api/chat`, payload: JSON.stringify({ model: 'bench-model', messages: [{ role: 'user', content: 'hi' }] }) },
    { api: 'Anthropic Messages (/v1/messages)', url: `${gatewayUrl}/v1/messages`, payload: JSON.stringify({ model: 'bench-model', max_tokens: 64, stream: true, messages: [{ role: 'user', content: 'hi' }] }) },
    { api: 'OpenAI Responses (/v1/responses)', url: `${gatewayUrl}/v1/responses`, payload: JSON.stringify({ model: 'bench-model', input: 'hi', stream: true, store: false }) },
  ];
  const served = [];
  for (const entry of streams) if ((await timedPost(entry.url, entry.payload, { 'content-type': 'application/json', ...auth }, true)).status === 200) served.push(entry);
  const samples = new Map(served.map((entry) => [entry.api, [] as number[]]));
  // Each stream is read to its end (about 25 ms from the fast upstream), so fewer rounds than before.
  for (let round = 0; round < 600; round++) {
    for (const entry of served) {
      const { ms } = await timedPost(entry.url, entry.payload, { 'content-type': 'application/json', ...auth }, true);
      // The first 100 rounds warm each path.
      if (round >= 100) samples.get(entry.api)?.push(ms);
    }
  }
  const apiTtfb = served.map((entry) => ({ api: entry.api, ...percentiles(samples.get(entry.api) ?? []) }));
  const baseline = apiTtfb[0]?.p50 ?? 0;

  const ms = (value: number) => `${value.toFixed(3)} ms`;
  const ratio = (value: number, base: number) => `${(value / base).toFixed(2)}×`;
  const row = (measure: string, values: { direct: number; bare: number; via: number }, show: (value: number) => string) =>
    `| ${measure} | ${show(values.direct)} | ${show(values.bare)} | ${show(values.via)} | ${show(values.via - values.direct)} | ${ratio(values.via, values.direct)} | ${ratio(values.via, values.bare)} |`;
  const lines = [
    `Switchyard benchmark: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.versions.node}, ${seconds} s per load run, 50 connections`,
    '',
    '| measure | direct | bare proxy | through Switchyard | Switchyard − direct | ÷ direct | ÷ bare proxy |',
    '|---|---|---|---|---|---|---|',
    row('one at a time, p50', { direct: one.direct.p50, bare: one.bare.p50, via: one.via.p50 }, ms),
    row('one at a time, p99', { direct: one.direct.p99, bare: one.bare.p99, via: one.via.p99 }, ms),
    row('streaming time to first byte, p50', { direct: stream.direct.p50, bare: stream.bare.p50, via: stream.via.p50 }, ms),
    row('under load, requests/s', { direct: loaded.direct.rps, bare: loaded.bare.rps, via: loaded.via.rps }, (value) => value.toFixed(0)),
    row('under load, p50', { direct: loaded.direct.p50, bare: loaded.bare.p50, via: loaded.via.p50 }, (value) => `${value} ms`),
    row('under load, p99', { direct: loaded.direct.p99, bare: loaded.bare.p99, via: loaded.via.p99 }, (value) => `${value} ms`),
  ];
  lines.push('', '| client API, streaming | time to first byte p50 | p99 | p50 − /v1/chat/completions |', '|---|---|---|---|');
  for (const entry of apiTtfb) lines.push(`| ${entry.api} | ${ms(entry.p50)} | ${ms(entry.p99)} | ${ms(entry.p50 - baseline)} |`);
  for (const entry of streams) if (!served.includes(entry)) lines.push(`| ${entry.api} | not served by this build | | |`);
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  gateway.child.kill('SIGTERM');
  bare.child.kill('SIGTERM');
  upstream.child.kill('SIGTERM');
}
