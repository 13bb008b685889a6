// `npm run bench` (overload part): the real gateway (its own process) in front
// of capacity-limited vLLM fakes (their own process), with each server's
// max_concurrency set to its slots so the gateway's admission queue decides.
// Measures the capacity (closed loop at exactly the slots' concurrency), then
// offers BENCH_OVERLOAD times that rate (open loop) for BENCH_SECONDS, BENCH_ROUNDS times, and
// reports goodput, share shed (429), latency of accepted requests, the
// gateway's event-loop delay and memory before, at peak and after, and what
// the fakes saw (never more than their slots). Memory "before" and "after" is read after a
// full garbage collection (bench/gc-on-signal.ts), "right after" without. Prints tables for docs/benchmarks.md.
import { cpus, loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { benchAuth, registerServers, startBenchGateway } from './bench-gateway.ts';
import { percentiles } from './bench-timing.ts';
import { startCapacityFleet } from './capacity-fleet.ts';
import { metricByLabel, metricValue, processCpuMs, processMemory, scrapeMetrics } from './gateway-readings.ts';
import { closedLoop, openLoop, type LoadResult } from './load-drivers.ts';

const setting = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const fakeCount = setting('BENCH_FAKES', 2);
const slots = setting('BENCH_SLOTS', 4);
const holdMs = setting('BENCH_HOLD_MS', 40);
const overload = setting('BENCH_OVERLOAD', 10);
const seconds = setting('BENCH_SECONDS', 8);
const rounds = setting('BENCH_ROUNDS', 3);
// One connection per outstanding request, all from 127.0.0.1: below the gateway's 512 per address (SWITCHYARD_MAX_CONNECTIONS_PER_ADDRESS).
const maxOutstanding = setting('BENCH_MAX_OUTSTANDING', 480);
const capacitySeconds = setting('BENCH_CAPACITY_SECONDS', 5);
const settleSeconds = setting('BENCH_SETTLE_SECONDS', 5);
const queueLength = setting('BENCH_QUEUE_MAX_LENGTH', 100);
const queueWaitMs = setting('BENCH_QUEUE_MAX_WAIT_MS', 30_000);
const model = 'overload-model';
const concurrency = fakeCount * slots;

// A prompt under one 64-character block: with no prefix cache, each request holds its slot for exactly holdMs of prompt processing.
const fleet = await startCapacityFleet({ count: fakeCount, model, capacity: { slots, prefillMsPerBlock: holdMs, prefixCacheBlocks: 0 }, tokenIntervalMs: 1, replyWords: 0 });
const collector = fileURLToPath(new URL('gc-on-signal.ts', import.meta.url));
const gateway = await startBenchGateway({
  env: { SWITCHYARD_QUEUE_MAX_LENGTH: String(queueLength), SWITCHYARD_QUEUE_MAX_WAIT_MS: String(queueWaitMs), NODE_OPTIONS: `--expose-gc --import=${collector}` },
});
const pid = gateway.child.pid as number;
const target = {
  url: `${gateway.url}/v1/chat/completions`,
  body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
  headers: { 'content-type': 'application/json', ...benchAuth },
};
const mib = (bytes: number) => `${(bytes / 1_048_576).toFixed(1)} MiB`;
const percent = (share: number) => `${(100 * share).toFixed(0)} %`;
const ms = (value: number) => `${value.toFixed(1)} ms`;

/**
 * The gateway's memory now: resident (from /proc) and its JavaScript heap in use (from /metrics).
 * `collected`: after a full garbage collection (see gc-on-signal.ts), so what is counted is still held.
 */
async function memory(collected = false) {
  if (collected) {
    gateway.child.kill('SIGUSR2');
    await sleep(500);
  }
  const samples = await scrapeMetrics(gateway.url);
  return { rss: processMemory(pid).rss, heap: metricValue(samples, 'nodejs_heap_size_used_bytes'), samples };
}

/** prom-client's event-loop histogram since the previous scrape (it samples every 10 ms; the figures include that interval). */
function loopDelay(samples: Awaited<ReturnType<typeof scrapeMetrics>>) {
  const at = (name: string) => metricValue(samples, name) * 1_000;
  return { p50: at('nodejs_eventloop_lag_p50_seconds'), p99: at('nodejs_eventloop_lag_p99_seconds'), max: at('nodejs_eventloop_lag_max_seconds') };
}

function others(result: LoadResult): string {
  const statuses = result.otherStatuses.size === 0 ? 'none' : [...result.otherStatuses].map(([status, count]) => `${count} × ${status}`).join(', ');
  const errors = result.errors === 0 ? 'none' : [...result.errorCodes].map(([code, count]) => `${count} × ${code}`).join(', ');
  return `${statuses}; ${errors}`;
}

interface Flood {
  result: LoadResult;
  offered: number;
  shedByReason: Map<string, number>;
  loop: ReturnType<typeof loopDelay>;
  before: Memory;
  peakRss: number;
  after: Memory;
  settled: Memory;
  /** CPU while it was flooded, as a share of one core: the gateway, the load generator (this process), the fakes. */
  cpu: CpuShares;
}

interface CpuShares {
  gateway: number;
  client: number;
  fakes: number;
}

/** Measures the CPU each process uses while `run` runs, as a share of one core. */
async function withCpu<T extends { elapsedMs: number }>(run: () => Promise<T>): Promise<{ result: T; cpu: CpuShares }> {
  const fakesPid = fleet.child.pid as number;
  const gatewayBefore = processCpuMs(pid);
  const fakesBefore = processCpuMs(fakesPid);
  const clientBefore = process.cpuUsage();
  const result = await run();
  const clientUsed = process.cpuUsage(clientBefore);
  const share = (used: number) => used / result.elapsedMs;
  return { result, cpu: { gateway: share(processCpuMs(pid) - gatewayBefore), client: share((clientUsed.user + clientUsed.system) / 1_000), fakes: share(processCpuMs(fakesPid) - fakesBefore) } };
}

type Memory = Awaited<ReturnType<typeof memory>>;

/** One round of overload at `offered` req/s, then BENCH_SETTLE_SECONDS idle; memory sampled every ~250 ms. */
async function flood(offered: number, maxOutstanding: number): Promise<Flood> {
  const before = await memory(true);
  let peakRss = before.rss;
  const sampleRss = () => {
    peakRss = Math.max(peakRss, processMemory(pid).rss);
  };
  const { result, cpu } = await withCpu(() => openLoop(target, offered, seconds, maxOutstanding, sampleRss));
  sampleRss();
  const after = await memory();
  await sleep(settleSeconds * 1_000);
  const settled = await memory(true);
  const shedBefore = metricByLabel(before.samples, 'llm_requests_shed_total', 'reason');
  const shedByReason = new Map([...metricByLabel(after.samples, 'llm_requests_shed_total', 'reason')].map(([reason, count]) => [reason, count - (shedBefore.get(reason) ?? 0)]));
  return { result, offered, shedByReason, loop: loopDelay(after.samples), before, peakRss, after, settled, cpu };
}

const rate = (result: LoadResult) => result.okMs.length / (result.elapsedMs / 1_000);

try {
  await registerServers(
    gateway.url,
    fleet.urls.map((url, index) => ({ name: `gpu-${index}`, server_type: 'vllm', base_url: url, max_concurrency: slots })),
  );
  const stated = metricValue(await scrapeMetrics(gateway.url), 'llm_deployment_capacity', { model });
  if (stated !== concurrency) throw new Error(`the gateway reports a capacity of ${stated} for ${model}, not ${concurrency}`);

  // Warm the paths (JIT, pools), then measure the capacity at exactly the slots' concurrency.
  await closedLoop(target, concurrency, 2);
  const idle = await memory(true);
  const { result: capacity, cpu: capacityCpu } = await withCpu(() => closedLoop(target, concurrency, capacitySeconds));
  const afterCapacity = await memory();
  const capacityRps = rate(capacity);
  if (capacity.shed > 0 || capacity.errors > 0 || capacity.otherStatuses.size > 0) throw new Error(`at capacity: ${capacity.shed} shed, ${others(capacity)}`);

  // Overload rounds: memory that is bounded comes back to the same level after each; a leak climbs.
  const floods: Flood[] = [];
  for (let round = 0; round < rounds; round++) floods.push(await flood(overload * capacityRps, maxOutstanding));
  // Served again at capacity once the floods are over: nothing stuck, nothing left in the queue.
  const recovery = await closedLoop(target, concurrency, Math.min(3, capacitySeconds));
  const fakes = await fleet.readings();

  const atCapacity = percentiles([...capacity.okMs]);
  const loopAtCapacity = loopDelay(afterCapacity.samples);
  const perFlood = (show: (entry: Flood) => string) => floods.map(show).join(' | ');
  const lines = [
    `Switchyard overload bench: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.versions.node}, load average ${loadavg().map((value) => value.toFixed(1)).join(' ')} at the end;` +
      ` ${fakeCount} vLLM fakes × ${slots} slots, ${holdMs} ms per request, max_concurrency ${slots}; queue ${queueLength} waiting, ${queueWaitMs} ms wait;` +
      ` ${rounds} × ${seconds} s of ${overload}× overload (open loop, at most ${maxOutstanding} outstanding), ${settleSeconds} s idle after each`,
    '',
    `| measure | at capacity (closed loop, ${concurrency} callers) | ${floods.map((_, index) => `overload, round ${index + 1}`).join(' | ')} |`,
    `|---|---|${floods.map(() => '---|').join('')}`,
    `| offered | ${concurrency} callers | ${perFlood((entry) => `${entry.offered.toFixed(0)} req/s (${entry.result.sent} sent${entry.result.skipped > 0 ? `, ${entry.result.skipped} not sent: client at its limit` : ''})`)} |`,
    `| goodput (2xx per second) | ${capacityRps.toFixed(1)} req/s | ${perFlood((entry) => `${rate(entry.result).toFixed(1)} req/s (${(rate(entry.result) / capacityRps).toFixed(2)}× capacity)`)} |`,
    `| shed (429) | ${capacity.shed} | ${perFlood((entry) => shedCell(entry))} |`,
    `| other answers; transport errors | ${others(capacity)} | ${perFlood((entry) => others(entry.result))} |`,
    `| latency of accepted requests p50 / p99 | ${ms(atCapacity.p50)} / ${ms(atCapacity.p99)} | ${perFlood((entry) => pair(entry.result.okMs))} |`,
    `| latency of a shed request p50 / p99 | — | ${perFlood((entry) => pair(entry.result.shedMs))} |`,
    `| CPU, share of one core: gateway / load generator / fakes | ${cpuCell(capacityCpu)} | ${perFlood((entry) => cpuCell(entry.cpu))} |`,
    `| gateway event-loop delay p50 / p99 / max (prom-client; includes its 10 ms sampling interval) | ${ms(loopAtCapacity.p50)} / ${ms(loopAtCapacity.p99)} / ${ms(loopAtCapacity.max)} | ${perFlood((entry) => `${ms(entry.loop.p50)} / ${ms(entry.loop.p99)} / ${ms(entry.loop.max)}`)} |`,
    `| gateway resident memory: before → peak → right after → after ${settleSeconds} s idle and a full GC | ${mib(idle.rss)} → ${mib(afterCapacity.rss)} | ${perFlood((entry) => `${mib(entry.before.rss)} → ${mib(entry.peakRss)} → ${mib(entry.after.rss)} → ${mib(entry.settled.rss)}`)} |`,
    `| gateway JavaScript heap in use: before → right after → after ${settleSeconds} s idle and a full GC | ${mib(idle.heap)} → ${mib(afterCapacity.heap)} | ${perFlood((entry) => `${mib(entry.before.heap)} → ${mib(entry.after.heap)} → ${mib(entry.settled.heap)}`)} |`,
    '',
    `After the floods, at capacity again: ${rate(recovery).toFixed(1)} req/s (${(rate(recovery) / capacityRps).toFixed(2)}× the first measure), ${recovery.shed} shed, ${others(recovery)}. Peak resident memory over the whole run (VmHWM): ${mib(processMemory(pid).peak)}.`,
    '',
    '| fake | slots | most running at once | most waiting inside the fake (0: the gateway never sent it more than its slots) |',
    '|---|---|---|---|',
    ...fakes.map((fake, index) => `| gpu-${index} | ${slots} | ${fake.readings.maxRunning} | ${fake.readings.maxWaiting} |`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  gateway.child.kill('SIGTERM');
  fleet.child.kill('SIGTERM');
}

function cpuCell(cpu: CpuShares): string {
  return `${percent(cpu.gateway)} / ${percent(cpu.client)} / ${percent(cpu.fakes)}`;
}

function pair(samples: number[]): string {
  const { p50, p99 } = percentiles([...samples]);
  return `${ms(p50)} / ${ms(p99)}`;
}

function shedCell(entry: Flood): string {
  const { result } = entry;
  const answered = result.okMs.length + result.shed + result.errors + [...result.otherStatuses.values()].reduce((sum, count) => sum + count, 0);
  const reasons = [...entry.shedByReason].filter(([, count]) => count > 0).map(([reason, count]) => `${reason} ${count}`).join(', ');
  return `${result.shed} of ${answered} (${((100 * result.shed) / Math.max(1, answered)).toFixed(1)} %); ${result.shedSaturatedWithRetryAfter} SY_MODEL_SATURATED with Retry-After; ${reasons}`;
}
