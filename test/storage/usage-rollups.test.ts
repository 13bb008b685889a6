import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketBoundsMs, bucketOf } from '../../src/control/analytics/histogram-buckets.ts';
import { errorBreakdown, groupBy, statisticsOf, summarize, type UsageStatistics } from '../../src/control/analytics/usage-statistics.ts';
import { newOutcome, type RequestOutcome } from '../../src/data/proxy/request-outcome.ts';
import { UsageMaintenance } from '../../src/observability/usage-maintenance.ts';
import { UsageRecorder } from '../../src/observability/usage-recorder.ts';
import { UsageSpool } from '../../src/observability/usage-spool.ts';
import { openDatabase, type Database } from '../../src/storage/open-database.ts';
import { UsageStore } from '../../src/storage/usage-store.ts';
import { dropSchema, postgresAvailable, postgresUrl, uniqueSchema } from '../support/postgres.ts';

// Rollups (decision 0029) against the raw records they summarise, on both
// dialects: counts and sums equal, quantiles within the bucket of the exact
// one; a replayed batch is not counted twice; records stored without rollups
// (before the migration, or by an older release) are backfilled once; and
// retention deletes in chunks.
const silent = pino({ level: 'silent' });
const onPostgres = await postgresAvailable();
if (!onPostgres && process.env['CI'] === 'true') throw new Error('PostgreSQL must be reachable in CI');

const models = ['yi34b', 'llama3:8b', 'nomic-embed'];
const servers = ['server-a', 'server-b'];
const keys = ['key-1', 'key-2', null];

/** A deterministic spread of requests over the last two hours: successes, 5xx, refusals, cache hits, queue waits, costs. */
function outcomes(count: number, now: number): RequestOutcome[] {
  const list: RequestOutcome[] = [];
  for (let index = 0; index < count; index++) {
    const outcome = newOutcome(`request-${index}`, 'chat', models[index % 3] as string, keys[index % 3] ?? null, index % 4 === 0, index % 5 === 0 ? 'anthropic' : 'openai');
    outcome.startedAt = now - 7_000_000 + index * 11_000;
    const refused = index % 17 === 0;
    outcome.status = refused ? 429 : index % 13 === 0 ? 502 : 200;
    outcome.errorType = (refused ? 'SY_RATE_LIMITED' : outcome.status === 502 ? 'SY_UPSTREAM_ERROR' : null) as RequestOutcome['errorType'];
    outcome.servedModel = refused ? null : outcome.requestedModel;
    outcome.serverId = refused ? null : (servers[index % 2] as string);
    outcome.route = index % 6 === 0 ? 'chat' : null;
    outcome.promptTokens = 10 + (index % 50);
    outcome.completionTokens = refused ? 0 : 5 + (index % 40);
    outcome.latencyMs = 3 + ((index * 37) % 4_000) + (index % 7) / 10;
    outcome.ttftMs = refused ? null : outcome.latencyMs / 3;
    outcome.cacheHit = index % 11 === 0;
    outcome.queueWaitMs = index % 9 === 0 ? (index * 13) % 700 : 0;
    list.push(outcome);
  }
  return list;
}

/** A quantile from buckets lies in the bucket of the exact one (or at its bound). */
function expectSameBucket(fromRollups: number | null, exact: number | null): void {
  if (exact === null) return expect(fromRollups).toBeNull();
  const bucket = bucketOf(exact);
  const lower = bucket === 0 ? 0 : (bucketBoundsMs[bucket - 1] as number);
  const upper = bucketBoundsMs[bucket] ?? Number.POSITIVE_INFINITY;
  expect(fromRollups).toBeGreaterThanOrEqual(lower);
  expect(fromRollups).toBeLessThanOrEqual(upper);
}

function expectMatches(fromRollups: UsageStatistics, exact: UsageStatistics): void {
  const { p50_latency_ms, p95_latency_ms, p50_ttft_ms, p95_queue_wait_ms, cost, ...counts } = fromRollups;
  const { p50_latency_ms: exactP50, p95_latency_ms: exactP95, p50_ttft_ms: exactTtft, p95_queue_wait_ms: exactWait, cost: exactCost, ...exactCounts } = exact;
  expect(counts).toEqual(exactCounts);
  expect(cost === null ? null : Math.round(cost * 1e6)).toEqual(exactCost === null ? null : Math.round(exactCost * 1e6));
  expectSameBucket(p50_latency_ms, exactP50);
  expectSameBucket(p95_latency_ms, exactP95);
  expectSameBucket(p50_ttft_ms, exactTtft);
  expectSameBucket(p95_queue_wait_ms, exactWait);
}

const dialects = [
  { name: 'SQLite', open: () => openDatabase({ dataDir: mkdtempSync(join(tmpdir(), 'sy-rollups-')) }), schema: null as string | null },
  ...(onPostgres ? [{ name: 'PostgreSQL', open: () => openDatabase({ dataDir: '/nonexistent', databaseUrl: postgresUrl, postgresSchema: schemaName }), schema: '' as string | null }] : []),
];
const schemaName = uniqueSchema('sy_rollups');

describe.each(dialects)('usage rollups on $name', ({ name, open }) => {
  let database: Database;
  const now = Date.now();
  const recorded = outcomes(600, now);
  const from = new Date(now - 7_200_000).toISOString();
  const to = new Date(now + 60_000).toISOString();

  beforeAll(async () => {
    database = await open();
    const recorder = new UsageRecorder({ db: database.db, sqlite: database.sqlite, log: silent, flushMs: 60_000, costOf: (outcome) => (outcome.servedModel === 'yi34b' ? outcome.completionTokens * 0.000002 : null) });
    for (const outcome of recorded) recorder.record(outcome);
    await recorder.flush();
  });

  afterAll(async () => {
    await database?.close();
    if (name === 'PostgreSQL') await dropSchema(schemaName);
  });

  it('sum to what the raw records say, per model, server, key and API, errors included', async () => {
    const store = new UsageStore(database.db);
    const rows = await store.between(from, to);
    expect(rows).toHaveLength(600);
    const [all] = await store.rollupSums({ dimension: 'all', from, to });
    expectMatches(statisticsOf(all?.measures as never), summarize(rows));
    const byModel = groupBy(rows, (row) => row.served_model ?? `unserved: ${row.requested_model ?? 'unknown'}`);
    const modelSums = await store.rollupSums({ dimension: 'model', from, to });
    expect(modelSums.map((sum) => sum.value).sort()).toEqual([...byModel.keys()].sort());
    for (const sum of modelSums) expectMatches(statisticsOf(sum.measures), summarize(byModel.get(sum.value) ?? []));
    const byKey = groupBy(rows, (row) => row.key_id ?? 'none');
    for (const sum of await store.rollupSums({ dimension: 'key', from, to })) expect(sum.measures.requests).toBe(byKey.get(sum.value)?.length);
    // Edges inside hours: keys have minute rows too, so a key's window counts to the minute, not to whole hours.
    const minuteOf = (time: number) => `${new Date(time).toISOString().slice(0, 16)}:00.000Z`;
    const [edgeFrom, edgeTo] = [minuteOf(now - 6_800_000), minuteOf(now - 400_000)];
    const inWindow = groupBy(rows.filter((row) => row.occurred_at >= edgeFrom && row.occurred_at < edgeTo), (row) => row.key_id ?? 'none');
    const keySums = await store.rollupSums({ dimension: 'key', from: edgeFrom, to: edgeTo });
    expect(Object.fromEntries(keySums.map((sum) => [sum.value, sum.measures.requests]))).toEqual(Object.fromEntries([...inWindow].map(([key, keyRows]) => [key, keyRows.length])));
    const byServer = groupBy(rows, (row) => row.server_id ?? 'none');
    for (const sum of await store.rollupSums({ dimension: 'server', from, to })) expectMatches(statisticsOf(sum.measures), summarize(byServer.get(sum.value) ?? []));
    const errors = await store.rollupErrors('model', from, to);
    for (const [model, modelRows] of byModel) expect(errors.get(model) ?? {}).toEqual(errorBreakdown(modelRows));
    // By hour: the same requests, split where the records' hours split them.
    const hours = await store.rollupSums({ dimension: 'all', from, to, by: 'hour' });
    const byHour = groupBy(rows, (row) => `${row.occurred_at.slice(0, 13)}:00:00Z`);
    expect(Object.fromEntries(hours.map((sum) => [sum.bucket, sum.measures.requests]))).toEqual(Object.fromEntries([...byHour].map(([hour, hourRows]) => [hour, hourRows.length])));
  });

  it('are not counted twice when a batch is written again (a spool replayed after a crash)', async () => {
    const store = new UsageStore(database.db);
    const [before] = await store.rollupSums({ dimension: 'all', from, to });
    // The same records (same ids) again, as the spool replays them when a crash came between the commit and the spool's removal.
    const stored = (await database.db.selectFrom('usage_records').selectAll().orderBy('id').limit(100).execute()).map(({ rolled_up: _rolled, ...row }) => row);
    const spool = new UsageSpool({ directory: mkdtempSync(join(tmpdir(), 'sy-rollups-spool-')), log: silent, maxBytes: 1024 * 1024 });
    expect(await spool.append(stored)).toBe(true);
    const again = new UsageRecorder({ db: database.db, sqlite: database.sqlite, log: silent, flushMs: 60_000, spool });
    await again.flush();
    expect(again.spooled).toBe(0);
    const [after] = await store.rollupSums({ dimension: 'all', from, to });
    expect(after?.measures).toEqual(before?.measures);
  });

  it('backfill records stored without rollups once, and know when none is left', async () => {
    const store = new UsageStore(database.db);
    const maintenance = new UsageMaintenance({ db: database.db, dialect: database.dialect, sqlite: database.sqlite, log: silent, retentionDays: 30, rollupRetentionDays: 400 });
    expect(await maintenance.backfill()).toBe(0);
    expect(maintenance.rollupsComplete).toBe(true);
    // As a release before the rollups wrote them: rolled_up stays 0. 12,000 rows: three chunks.
    const older = Date.now() - 5 * 86_400_000;
    const rows = Array.from({ length: 12_000 }, (_, index) => ({
      id: `old-${String(index).padStart(6, '0')}`,
      occurred_at: new Date(older + index * 1_000).toISOString(),
      request_id: `old-${index}`,
      key_id: null,
      requested_model: 'legacy',
      served_model: 'legacy',
      server_id: 'server-a',
      route: null,
      strategy: null,
      attempts: 1,
      status: index % 10 === 0 ? 500 : 200,
      error_type: index % 10 === 0 ? 'SY_UPSTREAM_ERROR' : null,
      prompt_tokens: 7,
      completion_tokens: 3,
      latency_ms: 100 + (index % 400),
      ttft_ms: 20,
      streamed: 0,
      cache_hit: 0,
      cost: null,
      api: 'openai',
      queue_wait_ms: 0,
    }));
    for (let index = 0; index < rows.length; index += 1_000) await database.db.insertInto('usage_records').values(rows.slice(index, index + 1_000)).execute();
    await maintenance.backfill();
    expect(maintenance.rollupsComplete).toBe(true);
    const window = { from: new Date(older - 60_000).toISOString(), to: new Date(older + 13_000_000).toISOString() };
    const [legacy] = await store.rollupSums({ dimension: 'model', ...window });
    expectMatches(statisticsOf(legacy?.measures as never), summarize(await store.between(window.from, window.to)));
    expect(legacy?.measures.server_errors).toBe(1_200);
    expect(await maintenance.backfill()).toBe(0);
    const [still] = await store.rollupSums({ dimension: 'model', ...window });
    expect(still?.measures.requests).toBe(12_000);

    // By key, five days back: per-key minute rows are kept 48 h, so an edge inside an hour counts that whole hour.
    const hour = 3_600_000;
    const inner = { from: older + 1_800_000, to: older + 9_000_000 };
    const [byKey] = await store.rollupSums({ dimension: 'key', from: new Date(inner.from).toISOString(), to: new Date(inner.to).toISOString() });
    const wholeHours = await store.between(new Date(Math.floor(inner.from / hour) * hour).toISOString(), new Date(Math.ceil(inner.to / hour) * hour).toISOString());
    expect(byKey?.measures.requests).toBe(wholeHours.length);
    // Retention removes those per-key minute rows (and keeps every other dimension's for the raw records' 30 days).
    const minuteRows = async (dimension: string) =>
      Number((await sql<{ n: number }>`select count(*) as n from usage_rollups where dimension = ${dimension} and period = 'm' and bucket < ${new Date(Date.now() - 2 * 86_400_000).toISOString()}`.execute(database.db)).rows[0]?.n);
    expect(await minuteRows('key')).toBeGreaterThan(0);
    await maintenance.applyRetention();
    expect(await minuteRows('key')).toBe(0);
    expect(await minuteRows('model')).toBeGreaterThan(0);
    const [afterRetention] = await store.rollupSums({ dimension: 'key', from: new Date(inner.from).toISOString(), to: new Date(inner.to).toISOString() });
    expect(afterRetention?.measures.requests).toBe(wholeHours.length);
  });

  it('delete raw records and minute rollups past retention in chunks, hour rollups past theirs', async () => {
    const store = new UsageStore(database.db);
    // Retention of 2 days: the 12,000 backfilled records (5 days old) go; the 600 recent ones stay.
    const maintenance = new UsageMaintenance({ db: database.db, dialect: database.dialect, sqlite: database.sqlite, log: silent, retentionDays: 2, rollupRetentionDays: 4 });
    const deleted = await maintenance.applyRetention();
    expect(deleted).toBeGreaterThan(12_000);
    expect(await store.between(new Date(now - 10 * 86_400_000).toISOString(), to)).toHaveLength(600);
    const oldWindow = { from: new Date(now - 6 * 86_400_000).toISOString(), to: new Date(now - 3 * 86_400_000).toISOString() };
    expect(await store.rollupSums({ dimension: 'model', ...oldWindow })).toEqual([]);
    const [recent] = await store.rollupSums({ dimension: 'all', from, to });
    expect(recent?.measures.requests).toBe(600);
  });

  it('keep the rollup rows of the minute and hour the retention cut falls in, so a window starting at the cut counts what is kept', async () => {
    const store = new UsageStore(database.db);
    // The cut falls 10 s into a minute; a record 20 s later is kept, and so must its minute's rollups be.
    const cut = Math.floor((now - 3 * 86_400_000) / 60_000) * 60_000 + 10_000;
    const outcome = newOutcome('at-the-cut', 'chat', 'edge-model', null, false, 'openai');
    outcome.startedAt = cut + 20_000;
    outcome.status = 200;
    outcome.servedModel = 'edge-model';
    const recorder = new UsageRecorder({ db: database.db, sqlite: database.sqlite, log: silent, flushMs: 60_000 });
    recorder.record(outcome);
    await recorder.flush();
    const maintenance = new UsageMaintenance({ db: database.db, dialect: database.dialect, sqlite: database.sqlite, log: silent, retentionDays: 3, rollupRetentionDays: 3, now: () => cut + 3 * 86_400_000 });
    await maintenance.applyRetention();
    const window = { from: new Date(cut).toISOString(), to: new Date(cut + 3_600_000).toISOString() };
    expect(await store.between(window.from, window.to)).toHaveLength(1);
    const [edge] = await store.rollupSums({ dimension: 'model', ...window });
    expect(edge).toMatchObject({ value: 'edge-model', measures: expect.objectContaining({ requests: 1 }) });
  });
});
