// `npm run bench:scale` (also the second half of `npm run bench`): the
// control plane and routing at fleet size. 1,000 OpenAI-style servers × 10
// models (one fake process answering for all of them) are registered in a
// real registry on SQLite and health-checked through the real checker, then
// it measures: CPU per health cycle (as a share of one core at a 30 s
// interval) and the index's part of it, route decisions (p50/p99), `auto`,
// the 404 path's suggestions (in the fleet and at 20,000 names), and a
// Prometheus scrape. Prints a table for docs/benchmarks.md.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import type { HealthSettings } from '../src/config/config-schema.ts';
import { HealthScheduler } from '../src/control/health/health-scheduler.ts';
import { ServerChecker } from '../src/control/health/server-checker.ts';
import { ServerRegistry } from '../src/control/servers/server-registry.ts';
import { selectAutoModel } from '../src/data/routing/auto-select.ts';
import { pickDeployment } from '../src/data/routing/deployment-picker.ts';
import { ModelIndex } from '../src/data/routing/model-index.ts';
import { NameSuggester } from '../src/data/routing/name-suggester.ts';
import { resolveCandidates } from '../src/data/routing/resolve-candidates.ts';
import { UpstreamHttp } from '../src/data/upstream/upstream-http.ts';
import { GatewayMetrics } from '../src/observability/gateway-metrics.ts';
import { createLogger } from '../src/observability/logger.ts';
import { SecretBox } from '../src/security/secret-box.ts';
import { HistoryStore } from '../src/storage/history-store.ts';
import { openDatabase } from '../src/storage/open-database.ts';
import { ServerStore } from '../src/storage/server-store.ts';
import { modelsOfNode } from './scale-upstream.ts';

const serverCount = Number(process.env['BENCH_SERVERS'] ?? 1_000);
const cycles = Number(process.env['BENCH_CYCLES'] ?? 3);
const intervalS = 30;
const settings: HealthSettings = { interval_s: intervalS, timeout_ms: 5_000, failures_to_offline: 3, concurrency: 16, history_retention_hours: 48 };

const root = fileURLToPath(new URL('..', import.meta.url));
const upstream = spawn(process.execPath, [join(root, 'bench/scale-upstream.ts'), String(serverCount)], { stdio: ['ignore', 'pipe', 'inherit'] });
const upstreamUrl = await new Promise<string>((resolve, reject) => {
  upstream.stdout.once('data', (data: Buffer) => resolve(data.toString().trim()));
  upstream.once('exit', (code) => reject(new Error(`fake fleet exited (${code})`)));
});

const quiet = new Writable({ write: (_chunk, _encoding, done) => done() });
const log = createLogger({ level: 'error', format: 'json' }, quiet);
const database = await openDatabase({ dataDir: mkdtempSync(join(tmpdir(), 'switchyard-scale-')) });
const http = new UpstreamHttp();

try {
  const registry = new ServerRegistry({
    store: new ServerStore(database.db),
    secretBox: new SecretBox(randomBytes(32)),
    detectKind: async () => {
      throw new Error('the bench names each kind');
    },
    defaultIntervalS: intervalS,
  });
  await registry.load();
  const index = new ModelIndex(registry, { threshold: 5, cooldownMs: 30_000 });
  for (let node = 0; node < serverCount; node++) {
    await registry.create({ name: `node-${node}`, server_type: 'openai', base_url: `${upstreamUrl}/node-${node}` });
  }
  const checker = new ServerChecker({ registry, http, settings, log });
  const scheduler = new HealthScheduler({ registry, checker, history: new HistoryStore(database.db), settings, log });

  // Time spent applying fleet events to the index (a flush that patched something).
  let indexMs = 0;
  const flush = index.flush.bind(index);
  index.flush = () => {
    const patches = index.stats.serverPatches;
    const started = performance.now();
    flush();
    if (index.stats.serverPatches !== patches) indexMs += performance.now() - started;
  };
  const cycle = async () => {
    indexMs = 0;
    const loopDelay = monitorEventLoopDelay({ resolution: 1 });
    loopDelay.enable();
    const started = process.cpuUsage();
    const wall = performance.now();
    const reports = await scheduler.checkAll();
    const used = process.cpuUsage(started);
    loopDelay.disable();
    const offline = reports.filter((report) => report.health_status !== 'online').length;
    if (offline > 0) throw new Error(`${offline} servers not online after a check`);
    return { cpuMs: (used.user + used.system) / 1_000, wallMs: performance.now() - wall, indexMs, loopDelayP99Ms: loopDelay.percentile(99) / 1e6, loopDelayMaxMs: loopDelay.max / 1e6 };
  };

  const discovery = await cycle();
  const steady: Array<Awaited<ReturnType<typeof cycle>>> = [];
  for (let round = 0; round < cycles; round++) steady.push(await cycle());
  index.flush = flush;
  const deployments = index.allDeployments().length;
  const names = index.names().length;

  // Start-up cost: every server patched at once (before, every fleet event cost a full rebuild).
  const frozen = { list: () => registry.list(), get: (id: string) => registry.get(id), modelsOf: (id: string) => registry.modelsOf(id), loadOf: (id: string) => registry.loadOf(id), onEvent: () => undefined };
  const builds: number[] = [];
  for (let round = 0; round < 5; round++) {
    const started = performance.now();
    new ModelIndex(frozen, { threshold: 5, cooldownMs: 30_000 }).names();
    builds.push(performance.now() - started);
  }

  const now = Date.now();
  const none = new Set<string>();
  const sharedNames = Array.from({ length: 10 }, (_, slot) => `shared-${slot}-70b-instruct`);
  const ownNames = Array.from({ length: 1_000 }, (_, slot) => (modelsOfNode((slot * 7919) % serverCount)[2 + (slot % 8)] as string).replace(':latest', slot % 2 === 0 ? ':latest' : ''));
  const decide = (name: string) => {
    const resolution = resolveCandidates(name, index, null, 'least-inflight');
    const group = resolution?.groups[0];
    if (group === undefined) throw new Error(`no deployments for ${name}`);
    return pickDeployment(group.deployments, { strategy: 'least-inflight', now, exclude: none });
  };
  const sharedDecisions = sample(50_000, (round) => decide(sharedNames[round % sharedNames.length] as string));
  const ownDecisions = sample(50_000, (round) => decide(ownNames[round % ownNames.length] as string));

  // Decisions while a health cycle runs: each read may first apply pending patches.
  const underChurn: Timings = { wall: [], cpu: [] };
  let checking = true;
  const checks = scheduler.checkAll().finally(() => {
    checking = false;
  });
  let round = 0;
  while (checking) {
    for (let batch = 0; batch < 50; batch++, round++) {
      const name = round % 2 === 0 ? (sharedNames[round % 10] as string) : (ownNames[round % ownNames.length] as string);
      timeOnce(underChurn, () => decide(name));
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  await checks;

  const chat = { messages: [{ role: 'user', content: 'Say hello.' }] };
  const autoChat = sample(500, () => selectAutoModel('chat', chat, 'balanced', index, now));
  const autoEmbed = sample(2_000, () => selectAutoModel('embeddings', { input: 'hello' }, 'balanced', index, now));

  const typos = ownNames.map((name, slot) => mistype(name, slot));
  const fleet404 = sample(20_000, (slot) => index.suggest(typos[slot % typos.length] as string));
  const twenty = new NameSuggester(syntheticNames(20_000));
  const twentyTypos = syntheticNames(20_000).filter((_, slot) => slot % 20 === 0).map(mistype);
  const twenty404 = sample(20_000, (slot) => twenty.suggest(twentyTypos[slot % twentyTypos.length] as string));
  const worst404 = sample(5_000, () => twenty.suggest('instruct-q4_k_m:latest'));

  const metricsRegistry = new Registry();
  new GatewayMetrics(metricsRegistry, { deployments: () => index.allDeployments() });
  const scrapes: number[] = [];
  for (let scrape = 0; scrape < 6; scrape++) {
    const started = performance.now();
    await metricsRegistry.metrics();
    scrapes.push(performance.now() - started);
  }

  const average = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
  const cpuShare = (milliseconds: number) => `${((100 * milliseconds) / (intervalS * 1_000)).toFixed(2)} %`;
  const cpu = average(steady.map((entry) => entry.cpuMs));
  const indexing = average(steady.map((entry) => entry.indexMs));
  const build = median(builds);
  const lines = [
    `Switchyard scale bench: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.versions.node}, load average ${loadavg().map((value) => value.toFixed(1)).join(' ')} at the end; ${serverCount} servers × 10 models = ${deployments} deployments, ${names} names; health every ${intervalS} s, concurrency ${settings.concurrency}, SQLite`,
    '',
    '| measure | value |',
    '|---|---|',
    `| first health cycle (discovers ${deployments} models): CPU, wall | ${discovery.cpuMs.toFixed(0)} ms, ${discovery.wallMs.toFixed(0)} ms |`,
    `| steady health cycle: CPU (mean of ${cycles}), wall | ${cpu.toFixed(0)} ms, ${average(steady.map((entry) => entry.wallMs)).toFixed(0)} ms |`,
    `| health + indexing, share of one core at a ${intervalS} s interval | ${cpuShare(cpu)} |`,
    `| event-loop delay during a steady cycle, p99 / max (what a request waits behind) | ${average(steady.map((entry) => entry.loopDelayP99Ms)).toFixed(1)} ms / ${Math.max(...steady.map((entry) => entry.loopDelayMaxMs)).toFixed(1)} ms |`,
    `| of which applying fleet events to the index, per cycle | ${indexing.toFixed(1)} ms (${cpuShare(indexing)}) |`,
    `| a full index build with the name index (start-up only now) | ${build.toFixed(1)} ms |`,
    `| Prometheus scrape (${deployments} deployments): first, then median | ${scrapes[0]?.toFixed(1)} ms, ${median(scrapes.slice(1)).toFixed(1)} ms |`,
    '',
    '| per call (wall time includes waiting for a core; CPU time does not) | wall p50 | wall p99 | CPU p50 | CPU p99 |',
    '|---|---|---|---|---|',
    row('route decision, model on 200 servers', sharedDecisions),
    row('route decision, model on 1 server', ownDecisions),
    row(`route decision during a health cycle (${underChurn.wall.length} decisions)`, underChurn),
    row('auto, chat (every chat model qualifies)', autoChat),
    row('auto, embeddings', autoEmbed),
    row(`404 suggestions, mistyped name in this fleet (${names} names)`, fleet404),
    row('404 suggestions at 20,000 names', twenty404),
    row('404 suggestions at 20,000 names, a name sharing letters with all', worst404),
    row('(measuring nothing: the cost of the timers)', sample(20_000, () => undefined)),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  await http.close();
  await database.close();
  upstream.kill('SIGTERM');
}

interface Timings {
  wall: number[];
  /** Process CPU time (µs resolution): not inflated when the machine is busy and we wait for a core. */
  cpu: number[];
}

function timeOnce(into: Timings, run: () => unknown): void {
  const cpu = process.cpuUsage();
  const started = performance.now();
  run();
  into.wall.push(performance.now() - started);
  const used = process.cpuUsage(cpu);
  into.cpu.push((used.user + used.system) / 1_000);
}

function sample(count: number, run: (round: number) => unknown): Timings {
  for (let round = 0; round < Math.min(count, 1_000); round++) run(round);
  const timings: Timings = { wall: [], cpu: [] };
  for (let round = 0; round < count; round++) timeOnce(timings, () => run(round));
  return timings;
}

function row(label: string, timings: Timings): string {
  const µs = (milliseconds: number) => `${(milliseconds * 1_000).toFixed(1)} µs`;
  return `| ${label} | ${µs(quantile(timings.wall, 0.5))} | ${µs(quantile(timings.wall, 0.99))} | ${µs(quantile(timings.cpu, 0.5))} | ${µs(quantile(timings.cpu, 0.99))} |`;
}

function quantile(values: number[], at: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(at * sorted.length))] as number;
}

function median(values: number[]): number {
  return quantile(values, 0.5);
}

/** One letter changed, dropped or doubled, as a person mistypes. */
function mistype(name: string, slot: number): string {
  const at = 1 + (slot % Math.max(1, name.length - 2));
  if (slot % 3 === 0) return name.slice(0, at) + name.slice(at + 1);
  if (slot % 3 === 1) return name.slice(0, at) + name[at] + name.slice(at);
  return `${name.slice(0, at)}x${name.slice(at + 1)}`;
}

function syntheticNames(count: number): string[] {
  const families = ['llama3.1', 'qwen2.5', 'mistral', 'gemma2', 'phi3', 'deepseek-coder', 'codellama', 'nomic-embed-text'];
  return Array.from({ length: count }, (_, slot) => `${families[slot % families.length]}-${slot}b-instruct-q${slot % 8}_k_m:latest`);
}
