// `npm run bench` (embeddings): 10,000 texts in batches of 100 through the
// gateway against a fake TEI on loopback (32 inputs a request, as TEI's
// default max_client_batch_size), first with the embedding cache cold, then
// warm. The gateway runs in its own process; the fake runs here. Prints a
// table for docs/benchmarks.md.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { startTeiFake } from '../test/fakes/tei-fake.ts';
import { startProcess } from './bench-process.ts';

const key = 'sk-sy-benchmark-admin-key-000000000';
const totalTexts = 10_000;
const batchSize = 100;
const concurrency = Number(process.env['BENCH_EMBEDDING_CONCURRENCY'] ?? 4);

async function startGateway(env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const { child, match } = await startProcess([join(root, 'bin/switchyard.js'), 'serve'], env, /listening on [^\s:]+:(\d+)/);
  return { child, url: `http://127.0.0.1:${match[1]}` };
}

const tei = await startTeiFake({ modelId: 'general', dimension: 384 });
const gateway = await startGateway({
  SWITCHYARD_PORT: '0',
  SWITCHYARD_HOST: '127.0.0.1',
  SWITCHYARD_DATA_DIR: mkdtempSync(join(tmpdir(), 'switchyard-bench-')),
  SWITCHYARD_ADMIN_KEY: key,
  SWITCHYARD_DISCOVER_LOCAL_OLLAMA: 'false',
  SWITCHYARD_LOG_LEVEL: 'warn',
});
const auth = { authorization: `Bearer ${key}` };

async function pass(texts: readonly string[]): Promise<{ seconds: number; p50: number; p99: number; cache: Set<string> }> {
  const batches: string[][] = [];
  for (let start = 0; start < texts.length; start += batchSize) batches.push(texts.slice(start, start + batchSize));
  const samples: number[] = [];
  const cache = new Set<string>();
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < batches.length) {
        const input = batches[next++] as string[];
        const sent = performance.now();
        const response = await request(`${gateway.url}/v1/embeddings`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'general', input }) });
        const answer = (await response.body.json()) as { data?: unknown[] };
        samples.push(performance.now() - sent);
        if (response.statusCode !== 200 || answer.data?.length !== input.length) throw new Error(`HTTP ${response.statusCode}: ${JSON.stringify(answer).slice(0, 300)}`);
        cache.add(String(response.headers['x-switchyard-cache']));
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  samples.sort((a, b) => a - b);
  const at = (quantile: number) => samples[Math.min(samples.length - 1, Math.floor(quantile * samples.length))] as number;
  return { seconds, p50: at(0.5), p99: at(0.99), cache };
}

try {
  await request(`${gateway.url}/api/v1/model-servers`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'tei', base_url: tei.url }) }).then((response) => response.body.dump());
  await request(`${gateway.url}/api/v1/model-servers/health-check-all`, { method: 'POST', headers: auth }).then((response) => response.body.dump());
  // Warm-up on other texts: connections, JIT.
  await pass(Array.from({ length: 1_000 }, (_, index) => `warm-up text number ${index}`));
  const texts = Array.from({ length: totalTexts }, (_, index) => `benchmark text number ${index}: the quick brown fox jumps over the lazy dog`);
  tei.resetRequests();
  const cold = await pass(texts);
  const coldUpstream = { requests: tei.embeddingBatches().length, inputs: tei.inputsReceived() };
  tei.resetRequests();
  const warm = await pass(texts);
  const warmUpstream = { requests: tei.embeddingBatches().length, inputs: tei.inputsReceived() };
  const row = (name: string, result: Awaited<ReturnType<typeof pass>>, upstream: { requests: number; inputs: number }) =>
    `| ${name} | ${Math.round(totalTexts / result.seconds).toLocaleString('en')} | ${result.p50.toFixed(1)} | ${result.p99.toFixed(1)} | ${upstream.requests} (${upstream.inputs} texts) | ${[...result.cache].join(', ')} |`;
  process.stdout.write(`\nEmbeddings: ${totalTexts} texts in batches of ${batchSize}, ${concurrency} requests in flight, fake TEI (max_client_batch_size 32, 384 dimensions)\n\n`);
  process.stdout.write('| pass | texts/s | p50 ms / request | p99 ms / request | upstream requests | x-switchyard-cache |\n|---|---|---|---|---|---|\n');
  process.stdout.write(`${row('cold cache', cold, coldUpstream)}\n${row('warm cache', warm, warmUpstream)}\n`);
} finally {
  gateway.child.kill('SIGTERM');
  await tei.stop();
}
