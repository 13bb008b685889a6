// Analytics at volume (issue 16, decision 0029): writes BENCH_RECORDS usage
// records (default 10 million) spread over 30 days into a scratch PostgreSQL
// database through the real usage recorder (raw rows and rollups in one
// transaction), then times the 30-day analytics a console and an API client
// ask for, through a real gateway process, from the rollups and, for
// comparison, from raw records (capped at 500k rows, as before the rollups).
//
//   node bench/analytics-bench.ts          (DATABASE_URL, else the local test database)
//   BENCH_RECORDS=1000000 node bench/analytics-bench.ts
//   BENCH_KEEP=1 keeps the database; BENCH_DATABASE=<name> times the queries on a kept one without writing.
//
// Not part of `npm run bench`: writing ten million records takes minutes.
import pg from 'pg';
import pino from 'pino';
import { request } from 'undici';
import { newOutcome, type RequestOutcome } from '../src/data/proxy/request-outcome.ts';
import { UsageRecorder } from '../src/observability/usage-recorder.ts';
import { UsageMaintenance } from '../src/observability/usage-maintenance.ts';
import { openDatabase } from '../src/storage/open-database.ts';
import { benchAuth, startBenchGateway } from './bench-gateway.ts';

const records = Number(process.env['BENCH_RECORDS'] ?? 10_000_000);
const baseUrl = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const reuse = process.env['BENCH_DATABASE'];
const databaseName = reuse ?? `sy_analytics_bench_${process.pid}`;
const dayMs = 86_400_000;
// Both gateways open the same database: one secret key (a replica with another is refused).
const secretKey = 'analytics-bench-secret-key-0123456789abcdef';
const now = Date.now();
const start = now - 30 * dayMs;

const admin = new pg.Client({ connectionString: baseUrl });
await admin.connect();
if (reuse === undefined) await admin.query(`create database ${databaseName}`);
const url = new URL(baseUrl);
url.pathname = `/${databaseName}`;
const databaseUrl = url.toString();

const models = ['llama3:70b', 'llama3:8b', 'qwen2.5:32b', 'mixtral:8x7b', 'phi3', 'nomic-embed-text', 'bge-reranker', 'deepseek-r1:14b'];
const servers = ['00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000003', '00000000-0000-4000-8000-000000000004'];
const apis = ['openai', 'openai', 'openai', 'anthropic', 'ollama', 'responses'] as const;
let seed = 42;
const random = () => {
  // xorshift: the same records every run.
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 4_294_967_296;
};
const skewed = <T>(list: readonly T[]) => list[Math.min(list.length - 1, Math.floor(list.length * random() * random()))] as T;

function outcome(index: number): RequestOutcome {
  const model = skewed(models);
  const result = newOutcome(`bench-${index}`, 'chat', model, `key-${String(Math.floor(100 * random() * random())).padStart(3, '0')}`, random() < 0.6, skewed(apis));
  result.startedAt = start + Math.floor((index / records) * 30 * dayMs);
  const failed = random() < 0.02;
  result.status = failed ? (random() < 0.5 ? 502 : 429) : 200;
  result.errorType = (failed ? (result.status === 502 ? 'SY_UPSTREAM_ERROR' : 'SY_RATE_LIMITED') : null) as RequestOutcome['errorType'];
  result.servedModel = result.status === 429 ? null : model;
  result.serverId = result.status === 429 ? null : (servers[Math.floor(random() * servers.length)] as string);
  result.route = random() < 0.2 ? 'chat' : null;
  result.promptTokens = 20 + Math.floor(random() * 2_000);
  result.completionTokens = failed ? 0 : 5 + Math.floor(random() * 500);
  result.latencyMs = 50 + Math.exp(random() * 9);
  result.ttftMs = failed ? null : result.latencyMs * (0.05 + random() * 0.3);
  result.queueWaitMs = random() < 0.05 ? random() * 2_000 : 0;
  return result;
}

const log = pino({ level: 'warn' });
const writeStarted = performance.now();
if (reuse === undefined) {
  const database = await openDatabase({ dataDir: '/nonexistent', databaseUrl });
  const recorder = new UsageRecorder({ db: database.db, sqlite: null, log, flushMs: 3_600_000, maxQueued: 1_000_000 });
  // Retention as a running gateway applies it (hourly), at the records' own time: per-key minute rows go after 48 h.
  let recordsNow = start;
  const maintenance = new UsageMaintenance({ db: database.db, dialect: 'postgres', log, retentionDays: 30, rollupRetentionDays: 400, now: () => recordsNow });
  const batch = 20_000;
  for (let index = 0; index < records; index++) {
    recorder.record(outcome(index));
    if ((index + 1) % batch === 0) {
      await recorder.flush({ force: true });
      const reached = start + Math.floor(((index + 1) / records) * 30 * dayMs);
      if (reached - recordsNow >= 3_600_000) {
        recordsNow = reached;
        await maintenance.applyRetention();
      }
      if ((index + 1) % 1_000_000 === 0) console.log(`  ${(index + 1) / 1_000_000} M records written (${Math.round((index + 1) / ((performance.now() - writeStarted) / 1000))} records/s)`);
    }
  }
  await recorder.flush({ force: true });
  await database.close();
}
const writeSeconds = (performance.now() - writeStarted) / 1000;
const counts = new pg.Client({ connectionString: databaseUrl });
await counts.connect();
const rawRows = Number((await counts.query('select count(*) as n from usage_records')).rows[0].n);
const rollupRows = Number((await counts.query('select count(*) as n from usage_rollups')).rows[0].n);
const tableBytes = (await counts.query("select pg_total_relation_size('usage_records') as raw, pg_total_relation_size('usage_rollups') as rollups")).rows[0] as { raw: string; rollups: string };
await counts.query('vacuum analyze usage_rollups');
await counts.end();
console.log(`wrote ${rawRows} records in ${writeSeconds.toFixed(0)} s (${Math.round(rawRows / writeSeconds)} records/s through the recorder); ${rollupRows} rollup rows; usage_records ${(Number(tableBytes.raw) / 2 ** 20).toFixed(0)} MiB, usage_rollups ${(Number(tableBytes.rollups) / 2 ** 20).toFixed(0)} MiB`);

async function timed(gatewayUrl: string, path: string, runs: number): Promise<{ medianMs: number; body: any }> {
  const times: number[] = [];
  let body: any = null;
  for (let run = 0; run < runs; run++) {
    const started = performance.now();
    const response = await request(`${gatewayUrl}${path}`, { headers: benchAuth });
    body = await response.body.json();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return { medianMs: Math.round((times[Math.floor(times.length / 2)] as number) * 10) / 10, body };
}

const from = new Date(now - 30 * dayMs).toISOString();
const to = new Date(now + 60_000).toISOString();
const queries = [
  ['usage by model, 30 days', `/api/v1/analytics/usage?group_by=model&from=${from}&to=${to}`],
  ['usage by server, 30 days', `/api/v1/analytics/usage?group_by=server&from=${from}&to=${to}`],
  ['usage by key, 30 days', `/api/v1/analytics/usage?group_by=key&from=${from}&to=${to}`],
  ['usage by hour, 30 days', `/api/v1/analytics/usage?group_by=hour&from=${from}&to=${to}`],
  ['usage by API, 30 days', `/api/v1/analytics/usage?group_by=api&from=${from}&to=${to}`],
  ['performance report, 720 h', '/api/v1/models/performance?hours=720'],
] as const;

const rows: string[] = [];
const rollupGateway = await startBenchGateway({ env: { DATABASE_URL: databaseUrl, SWITCHYARD_SECRET_KEY: secretKey } });
// The gateway checks at start that no record lacks its rollup; until then it reads raw records.
for (;;) {
  const probe = await timed(rollupGateway.url, queries[0][1], 1);
  if (probe.body.source === 'rollups') break;
  await new Promise((resolve) => setTimeout(resolve, 200));
}
for (const [name, path] of queries) {
  const result = await timed(rollupGateway.url, path, 7);
  const requests = result.body.total?.requests ?? result.body.data?.reduce?.((sum: number, entry: any) => sum + (entry.statistics?.requests ?? entry.performance?.requests ?? 0), 0);
  rows.push(`| ${name} | rollups | ${result.medianMs} ms | ${requests} |`);
}
rollupGateway.child.kill('SIGTERM');

console.log(`\n${rawRows.toLocaleString('en')} records over 30 days; medians of 7 runs through a gateway process:\n`);
console.log('| query | read from | median | requests counted |');
console.log('|---|---|---|---|');
for (const row of rows) console.log(row);

if (process.env['BENCH_KEEP'] !== '1' && reuse === undefined) await admin.query(`drop database ${databaseName} with (force)`);
await admin.end();
