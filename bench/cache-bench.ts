// `npm run bench` (part): what a response cache hit costs. Starts the fast
// upstream and the real gateway (each its own process), then measures one
// request at a time: the upstream direct, the gateway with caching off for
// the model (its own overhead), a miss that stores, and a hit, non-streamed
// and streamed. Once with the cache in memory, once in Redis when one
// answers (BENCH_REDIS_URL, default the local one). Prints tables for
// docs/benchmarks.md.
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { request } from 'undici';
import { startProcess } from './bench-process.ts';
import { percentiles, timedPost } from './bench-timing.ts';

const key = 'sk-sy-benchmark-admin-key-000000000';
const count = Number(process.env['BENCH_REQUESTS'] ?? 2_000);
const redisUrl = process.env['BENCH_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const root = fileURLToPath(new URL('..', import.meta.url));
const auth = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
const chat = (model: string, content: string, stream = false) => JSON.stringify({ model, messages: [{ role: 'user', content }], ...(stream ? { stream: true } : {}) });

/** p50 and p99 of `count` requests one at a time, in ms (to the whole body, or the first streamed bytes). */
async function latency(url: string, headers: Record<string, string>, bodies: () => string, expected: string | null, stream = false): Promise<{ p50: number; p99: number }> {
  const samples: number[] = [];
  for (let index = 0; index < count; index++) {
    const answer = await timedPost(url, bodies(), headers, stream);
    samples.push(answer.ms);
    const status = answer.headers['x-switchyard-cache'];
    if (answer.status !== 200 || (expected !== null && status !== expected)) throw new Error(`${url}: HTTP ${answer.status}, x-switchyard-cache ${String(status)} (expected ${expected})`);
  }
  return percentiles(samples);
}

async function redisAnswers(): Promise<boolean> {
  const client = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 1_000, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
    return true;
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

async function measure(backend: 'memory' | 'redis', upstreamUrl: string): Promise<string[]> {
  const gateway = await startProcess([join(root, 'bin/switchyard.js'), 'serve'], {
    SWITCHYARD_PORT: '0',
    SWITCHYARD_HOST: '127.0.0.1',
    SWITCHYARD_DATA_DIR: mkdtempSync(join(tmpdir(), 'switchyard-cache-bench-')),
    SWITCHYARD_ADMIN_KEY: key,
    SWITCHYARD_DISCOVER_LOCAL_OLLAMA: 'false',
    SWITCHYARD_LOG_LEVEL: 'warn',
    ...(backend === 'redis' ? { REDIS_URL: redisUrl } : {}),
  }, /listening on [^\s:]+:(\d+)/);
  const gatewayUrl = `http://127.0.0.1:${gateway.match[1]}`;
  try {
    // A content-type without a body is refused (400): health-check-all would not run, and bench-model would be unknown.
    const admin = async (method: string, path: string, body?: unknown) => {
      const response = await request(`${gatewayUrl}${path}`, { method, headers: body === undefined ? { authorization: auth.authorization } : auth, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
      await response.body.dump();
      if (response.statusCode >= 300) throw new Error(`${method} ${path}: HTTP ${response.statusCode}`);
    };
    await admin('POST', '/api/v1/model-servers', { name: 'bench', server_type: 'openai', base_url: upstreamUrl });
    await admin('POST', '/api/v1/model-servers/health-check-all');
    // A route of this run's own (the Redis is shared and outlives the run), cached; bench-model itself is not.
    const cached = `cached-${randomUUID().slice(0, 8)}`;
    await admin('POST', '/api/v1/routes', { name: cached, targets: ['bench-model'] });
    await admin('PUT', `/api/v1/cache-policies/${cached}`, { mode: 'exact', ttl_s: 300, scope: 'global' });
    const direct = `${upstreamUrl}/v1/chat/completions`;
    const via = `${gatewayUrl}/v1/chat/completions`;
    let unique = 0;
    // Warm every path (JIT, pools), and store the answers the hits read.
    await latency(direct, {}, () => chat('bench-model', 'hi'), null);
    await latency(via, auth, () => chat('bench-model', 'hi'), 'bypass');
    await latency(via, auth, () => chat(cached, `warm ${unique++}`), 'miss');
    await latency(via, auth, () => chat(cached, 'hi'), null);
    await latency(via, auth, () => chat(cached, 'hi', true), 'hit', true);

    const oneDirect = await latency(direct, {}, () => chat('bench-model', 'hi'), null);
    const off = await latency(via, auth, () => chat('bench-model', 'hi'), 'bypass');
    const miss = await latency(via, auth, () => chat(cached, `miss ${unique++}`), 'miss');
    const hit = await latency(via, auth, () => chat(cached, 'hi'), 'hit');
    const streamOff = await latency(via, auth, () => chat('bench-model', 'hi', true), 'bypass', true);
    const streamHit = await latency(via, auth, () => chat(cached, 'hi', true), 'hit', true);
    const ms = (value: number) => `${value.toFixed(3)} ms`;
    const overhead = { p50: off.p50 - oneDirect.p50, p99: off.p99 - oneDirect.p99 };
    return [
      `### cache in ${backend}`,
      '',
      '| request (one at a time) | p50 | p99 |',
      '|---|---|---|',
      `| upstream direct | ${ms(oneDirect.p50)} | ${ms(oneDirect.p99)} |`,
      `| gateway, caching off (bypass) | ${ms(off.p50)} | ${ms(off.p99)} |`,
      `| gateway's own overhead (bypass − direct) | ${ms(overhead.p50)} | ${ms(overhead.p99)} |`,
      `| miss (upstream, then stored) | ${ms(miss.p50)} | ${ms(miss.p99)} |`,
      `| hit | ${ms(hit.p50)} | ${ms(hit.p99)} |`,
      `| **hit's added latency over the gateway's own overhead** (hit − overhead) | **${ms(hit.p50 - overhead.p50)}** | ${ms(hit.p99 - overhead.p99)} |`,
      `| streamed first byte, caching off | ${ms(streamOff.p50)} | ${ms(streamOff.p99)} |`,
      `| streamed first byte, hit | ${ms(streamHit.p50)} | ${ms(streamHit.p99)} |`,
      '',
    ];
  } finally {
    gateway.child.kill('SIGTERM');
  }
}

const upstream = await startProcess([join(root, 'bench/bench-upstream.ts')], {}, /(http:\/\/127\.0\.0\.1:\d+)/);
try {
  const lines = [`Response cache benchmark: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.versions.node}, ${count} requests per measure`, ''];
  lines.push(...(await measure('memory', upstream.match[1] as string)));
  if (await redisAnswers()) lines.push(...(await measure('redis', upstream.match[1] as string)));
  else lines.push(`(no Redis answered at ${redisUrl}: the Redis table is left out)`, '');
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  upstream.child.kill('SIGTERM');
}
