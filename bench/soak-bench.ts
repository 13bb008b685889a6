// Soak (issue 16, "memory is bounded everywhere"): the real gateway (its own
// process, on its embedded SQLite) in front of two capacity-limited vLLM fakes,
// under a steady mixed load for BENCH_SOAK_SECONDS (default 600) that feeds
// every map a caller can grow: a new prompt every request (the prefix-affinity
// table), many keys of every priority (the fair queue's key tags, quotas),
// model names never seen (the name suggester), bearer tokens that are not keys,
// malformed bodies, streams the client drops after the first chunk, and more
// than the fleet's capacity at times (the admission queue, shedding). Every
// BENCH_SOAK_SAMPLE_SECONDS it reads the gateway's resident memory and, after
// a full garbage collection, its JavaScript heap: flat means what it holds does
// not grow with what it has seen. Prints a table for docs/benchmarks.md. Run
// with `node bench/soak-bench.ts` (not part of `npm run bench`: it takes ten minutes).
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { benchAuth, registerServers, startBenchGateway } from './bench-gateway.ts';
import { startCapacityFleet } from './capacity-fleet.ts';
import { metricValue, processMemory, scrapeMetrics } from './gateway-readings.ts';

const setting = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const seconds = setting('BENCH_SOAK_SECONDS', 600);
const sampleSeconds = setting('BENCH_SOAK_SAMPLE_SECONDS', 30);
// Callers at once: above the fleet's 2 × 4 slots, so some wait in the admission queue and some are shed.
const callers = setting('BENCH_SOAK_CALLERS', 24);
const keyCount = setting('BENCH_SOAK_KEYS', 40);
const model = 'soak-model';

const fleet = await startCapacityFleet({ count: 2, model, capacity: { slots: 4, prefillMsPerBlock: 1, prefixCacheBlocks: 256 }, tokenIntervalMs: 2, replyWords: 12 });
const collector = fileURLToPath(new URL('gc-on-signal.ts', import.meta.url));
const gateway = await startBenchGateway({ env: { SWITCHYARD_QUEUE_MAX_LENGTH: '12', SWITCHYARD_QUEUE_MAX_WAIT_MS: '5000', NODE_OPTIONS: `--expose-gc --import=${collector}` } });
const pid = gateway.child.pid as number;
const pool = new Pool(gateway.url, { connections: callers + 4 });

async function post(path: string, body: string, headers: Record<string, string>): Promise<{ status: number; text: string }> {
  const response = await pool.request({ path, method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
  return { status: response.statusCode, text: await response.body.text() };
}

const kinds = ['plain', 'plain', 'plain', 'plain', 'stream', 'stream', 'dropped', 'unknown-model', 'not-a-key', 'malformed'] as const;
type Kind = (typeof kinds)[number];
const counts = new Map<string, number>();
const count = (what: string) => counts.set(what, (counts.get(what) ?? 0) + 1);
let sequence = 0;

async function one(kind: Kind, keys: readonly string[]): Promise<void> {
  const n = sequence++;
  const auth = { authorization: `Bearer ${keys[n % keys.length]}` };
  // A conversation of its own every time: the affinity table and the fakes' prefix caches see only new prefixes.
  const chat = (extra: Record<string, unknown> = {}) => JSON.stringify({ model, max_tokens: 16, messages: [{ role: 'system', content: `You are assistant number ${n}.` }, { role: 'user', content: `Question ${n}: ${'why '.repeat(n % 40)}?` }], ...extra });
  switch (kind) {
    case 'plain':
    case 'stream': {
      const answer = await post('/v1/chat/completions', chat(kind === 'stream' ? { stream: true } : {}), auth);
      count(`${kind} ${answer.status}`);
      return;
    }
    case 'dropped': {
      // The client hangs up after the first chunk: the gateway must free the stream, the slot and its buffers.
      const controller = new AbortController();
      try {
        const response = await pool.request({ path: '/v1/chat/completions', method: 'POST', body: chat({ stream: true }), headers: { 'content-type': 'application/json', ...auth }, signal: controller.signal });
        count(`dropped ${response.statusCode}`);
        for await (const _chunk of response.body) {
          controller.abort();
          break;
        }
      } catch {
        // The abort itself.
      }
      return;
    }
    case 'unknown-model': {
      const answer = await post('/v1/chat/completions', JSON.stringify({ model: `no-such-model-${n}`, messages: [{ role: 'user', content: 'hi' }] }), auth);
      count(`unknown-model ${answer.status}`);
      return;
    }
    case 'not-a-key': {
      const answer = await post('/v1/chat/completions', chat(), { authorization: `Bearer sk-sy-not-a-key-${n}-${'x'.repeat(24)}` });
      count(`not-a-key ${answer.status}`);
      return;
    }
    case 'malformed': {
      const answer = await post('/v1/chat/completions', `{"model": "${model}", "messages": [${n}`, auth);
      count(`malformed ${answer.status}`);
      return;
    }
  }
}

interface Sample {
  at: number;
  requests: number;
  rss: number;
  heap: number;
  affinityEntries: number;
}

async function sample(at: number): Promise<Sample> {
  gateway.child.kill('SIGUSR2');
  await sleep(500);
  const metrics = await scrapeMetrics(gateway.url);
  return { at, requests: sequence, rss: processMemory(pid).rss, heap: metricValue(metrics, 'nodejs_heap_size_used_bytes'), affinityEntries: metricValue(metrics, 'llm_prefix_affinity_blocks') };
}

const mib = (bytes: number) => (bytes / 1_048_576).toFixed(1);

try {
  await registerServers(gateway.url, fleet.urls.map((url, index) => ({ name: `gpu-${index}`, server_type: 'vllm', base_url: url, max_concurrency: 4 })));
  const priorities = ['interactive', 'standard', 'batch'];
  const keys: string[] = [];
  for (let index = 0; index < keyCount; index++) {
    const created = await post('/api/v1/keys', JSON.stringify({ name: `soak-${index}`, scopes: ['inference'], priority: priorities[index % 3] }), benchAuth);
    if (created.status !== 201) throw new Error(`creating a key: ${created.status} ${created.text}`);
    keys.push((JSON.parse(created.text) as { key: string }).key);
  }
  const started = Date.now();
  const endAt = started + seconds * 1_000;
  const workers = Array.from({ length: callers }, async (_, worker) => {
    for (let turn = worker; Date.now() < endAt; turn++) await one(kinds[turn % kinds.length] as Kind, keys).catch(() => count('transport error'));
  });
  const samples: Sample[] = [await sample(0)];
  while (Date.now() < endAt) {
    await sleep(Math.min(sampleSeconds * 1_000, Math.max(0, endAt - Date.now())));
    samples.push(await sample(Math.round((Date.now() - started) / 1_000)));
    const last = samples.at(-1) as Sample;
    console.error(`${last.at} s: ${last.requests} requests, RSS ${mib(last.rss)} MiB, heap after GC ${mib(last.heap)} MiB`);
  }
  await Promise.all(workers);
  const settled = await sample(Math.round((Date.now() - started) / 1_000));

  // Growth over the second half, when caches and pools have long been warm: a leak grows steadily there.
  const half = samples.filter((entry) => entry.at >= seconds / 2);
  const slope = (pick: (entry: Sample) => number) => {
    if (half.length < 2) return 0;
    const first = half[0] as Sample;
    const last = half.at(-1) as Sample;
    return (pick(last) - pick(first)) / ((last.at - first.at) / 60) / 1_048_576;
  };
  console.log(`\nSoak: ${seconds} s, ${callers} callers, ${keyCount} keys, ${sequence} requests (${Math.round(sequence / seconds)}/s), on ${fleet.urls.length} fakes with 4 slots each\n`);
  console.log('| time | requests | RSS | heap after GC | prefix-affinity entries |');
  console.log('|---|---|---|---|---|');
  for (const entry of [...samples, settled]) console.log(`| ${entry.at} s | ${entry.requests} | ${mib(entry.rss)} MiB | ${mib(entry.heap)} MiB | ${entry.affinityEntries} |`);
  console.log(`\nSecond half: RSS ${slope((entry) => entry.rss).toFixed(2)} MiB/min, heap after GC ${slope((entry) => entry.heap).toFixed(2)} MiB/min`);
  console.log(`Answers: ${[...counts].sort().map(([what, times]) => `${what} × ${times}`).join(', ')}`);
} finally {
  await pool.close();
  gateway.child.kill('SIGTERM');
  fleet.child.kill('SIGTERM');
}
